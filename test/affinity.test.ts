// Region affinity in the core: the precedence table, what becomes of each cookie (for metrics), what is issued, and
// the property that no value without a current signature can steer a request.
import fc from 'fast-check';
import {
  AFFINITY_KIND,
  checkSigned,
  compileRouter,
  type Decision,
  type Facts,
  type HealthDoc,
  mintAffinity,
  mintToken,
  needsKeys,
  parseRouterConfig,
  type RouterConfig,
  route,
} from '../shared';
import { originOf } from '../shared/router';
import { docArb, factsArb } from './helpers/arbitraries';
import { affinity, affinityRetired, NOW, TEST_RING, token } from './helpers/keys';
import { docWith, exampleRouter } from './helpers/load';

const router = exampleRouter();

describe('precedence: authorised override > network route > affinity > canary > geo', () => {
  // A Korean viewer (geo: ap-northeast-2, which has a canary). Override: sa-east-1 by token. Network: the staging
  // VPN. Affinity: a cookie for eu-central-1 (which has a canary too). Canary: 100 %.
  const row = (o: boolean, n: boolean, a: boolean, c: boolean) => {
    const headers: Record<string, string> = {};
    if (o) Object.assign(headers, { 'x-route-to': 'sa-east-1', 'x-route-token': token('sa-east-1') });
    const facts: Facts = {
      country: 'KR',
      ip: n ? '10.9.0.9' : '203.0.113.9',
      headers,
      cookies: a ? { route_affinity: affinity('eu-central-1') } : {},
      now: NOW,
    };
    const doc: HealthDoc = c ? { ...docWith(), canary: { percent: 100 } } : docWith();
    const d = route(facts, doc, router, { keys: TEST_RING });
    return `${d.reason} ${originOf(router, d).domainName}`;
  };
  // [override, network, affinity, canary] → reason and origin
  const TABLE: [boolean, boolean, boolean, boolean, string][] = [
    [false, false, false, false, 'nearest api.ap-northeast-2.example.com'],
    [false, false, false, true, 'canary canary.ap-northeast-2.example.com'],
    [false, false, true, false, 'affinity api.eu-central-1.example.com'],
    [false, false, true, true, 'canary canary.eu-central-1.example.com'],
    [false, true, false, false, 'network api.staging.example.com'],
    [false, true, false, true, 'network api.staging.example.com'],
    [false, true, true, false, 'network api.staging.example.com'],
    [false, true, true, true, 'network api.staging.example.com'],
    [true, false, false, false, 'override api.sa-east-1.example.com'],
    [true, false, false, true, 'override api.sa-east-1.example.com'],
    [true, false, true, false, 'override api.sa-east-1.example.com'],
    [true, false, true, true, 'override api.sa-east-1.example.com'],
    [true, true, false, false, 'override api.sa-east-1.example.com'],
    [true, true, false, true, 'override api.sa-east-1.example.com'],
    [true, true, true, false, 'override api.sa-east-1.example.com'],
    [true, true, true, true, 'override api.sa-east-1.example.com'],
  ];
  test.each(TABLE)('override %s, network %s, affinity %s, canary %s → %s', (o, n, a, c, expected) => {
    expect(row(o, n, a, c)).toBe(expected);
  });
});

describe('what becomes of an affinity cookie (decision.affinity: the metrics by cause)', () => {
  const us = (cookie: string, doc = docWith()): Decision =>
    route({ country: 'US', cookies: { route_affinity: cookie }, now: NOW }, doc, router, {
      keys: TEST_RING,
      trace: true,
    });
  test.each([
    ['a valid cookie', affinity('ap-northeast-2'), { honoured: true, region: 'ap-northeast-2' }],
    [
      'expired',
      affinity('ap-northeast-2', -1),
      { honoured: false, region: 'ap-northeast-2', cause: 'expired' },
    ],
    [
      'too long-lived',
      affinity('ap-northeast-2', 3600),
      { honoured: false, region: 'ap-northeast-2', cause: 'too-long-lived' },
    ],
    ['a retired key', affinityRetired('ap-northeast-2'), { honoured: false, cause: 'unknown-key' }],
    [
      'a forged region',
      affinity('eu-central-1').replace('eu-central-1', 'ap-northeast-2'),
      { honoured: false, cause: 'bad-signature' },
    ],
    ['garbage', 'seoul please', { honoured: false, cause: 'malformed' }],
    ['an override token', token('ap-northeast-2'), { honoured: false, cause: 'malformed' }],
    [
      'an unknown region',
      affinity('ap-south-1'),
      { honoured: false, region: 'ap-south-1', cause: 'unknown-region' },
    ],
    ['an environment', affinity('staging'), { honoured: false, region: 'staging', cause: 'unknown-region' }],
  ])('%s', (_name, cookie, expected) => {
    expect(us(cookie).affinity).toEqual({ from: 'cookie', ...expected });
  });

  test('a down region, a pilot, and a region outside the residency group', () => {
    const c = affinity('ap-northeast-2');
    expect(us(c, docWith({ 'ap-northeast-2': { status: 'down' } })).affinity).toEqual({
      from: 'cookie',
      region: 'ap-northeast-2',
      honoured: false,
      cause: 'region-down',
    });
    expect(us(c, docWith({ 'ap-northeast-2': { role: 'pilot' } })).affinity?.cause).toBe('region-pilot');
    const de = route({ country: 'DE', cookies: { route_affinity: c }, now: NOW }, docWith(), router, {
      keys: TEST_RING,
      trace: true,
    });
    expect(de.affinity?.cause).toBe('residency');
    expect(de.trace).toContain('affinity: cookie for ap-northeast-2 ignored (residency)');
  });

  test('without signing keys nothing is honoured, and nothing is issued', () => {
    const d = route(
      { country: 'US', method: 'POST', cookies: { route_affinity: affinity('ap-northeast-2') }, now: NOW },
      docWith(),
      router,
    );
    expect(d.reason).toBe('nearest');
    expect(d.affinity).toEqual({ from: 'cookie', honoured: false, cause: 'no-keys' });
    expect(d.setAffinity).toBeUndefined();
  });

  test('the trace shows the step, and an affinity decision retries on the next region', () => {
    const d = us(affinity('ap-northeast-2'));
    expect(d.trace).toContain('affinity: cookie → ap-northeast-2 (key k2)');
    expect(d.next?.id).toBe('us-east-1');
  });

  test('no cookie, no outcome; affinity off, the cookie is not read', () => {
    expect(
      route({ country: 'US', now: NOW }, docWith(), router, { keys: TEST_RING }).affinity,
    ).toBeUndefined();
    const off = exampleRouter((c) => {
      delete c.affinity;
    });
    const d = route(
      { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2') }, now: NOW },
      null,
      off,
      {
        keys: TEST_RING,
      },
    );
    expect(d.reason).toBe('nearest');
    expect(d.affinity).toBeUndefined();
  });
});

describe('issuing', () => {
  const issue = (method: string, after: 'writes' | 'always') => {
    const r = exampleRouter((c) => {
      c.affinity = { cookie: 'route_affinity', ttlSeconds: 120, after, homeMaxTtlSeconds: 86400 };
    });
    return route({ country: 'KR', method, now: NOW + 999 }, docWith(), r, { keys: TEST_RING }).setAffinity;
  };

  test('after writes: POST, PUT, PATCH and DELETE; after always: every method', () => {
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(issue(m, 'writes')).toBeDefined();
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'post']) expect(issue(m, 'writes')).toBeUndefined();
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'POST']) expect(issue(m, 'always')).toBeDefined();
  });

  test('signed with the newest key, for the served region, ttlSeconds from the request time', () => {
    const v = issue('POST', 'writes') as string;
    const c = checkSigned(AFFINITY_KIND, v, NOW, TEST_RING, 121);
    expect(c).toEqual({
      ok: true,
      keyId: 'k2',
      subject: 'ap-northeast-2',
      expires: (Math.floor((NOW + 999) / 1000) + 120) * 1000,
    });
  });

  test('needsKeys: a token, an affinity value to check, or a cookie to issue', () => {
    expect(needsKeys({ country: 'KR', method: 'GET' }, router)).toBe(false);
    expect(needsKeys({ method: 'POST' }, router)).toBe(true);
    expect(needsKeys({ cookies: { route_affinity: 'x' } }, router)).toBe(true);
    expect(needsKeys({ headers: { 'x-home-region': 'x' } }, router)).toBe(true);
    expect(needsKeys({ headers: { 'x-route-token': 'x' } }, router)).toBe(true);
  });
});

describe('properties', () => {
  const withAffinity = (config: RouterConfig): RouterConfig => {
    const parsed = parseRouterConfig({
      ...config,
      affinity: { cookie: 'route_affinity', ttlSeconds: 300, after: 'writes', homeHeader: 'x-home-region' },
    });
    if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
    return parsed.data;
  };
  const world = fc
    .uniqueArray(fc.constantFrom('us-east-1', 'eu-central-1', 'ap-northeast-2', 'sa-east-1', 'ap-south-1'), {
      minLength: 1,
      maxLength: 5,
    })
    .chain((ids) => {
      const config = withAffinity({
        regions: Object.fromEntries(
          ids.map((id) => [id, { origin: { domainName: `api.${id}.example.com` } }]),
        ),
        fallbackRegion: ids[0],
        residency: [{ name: 'eu', countries: ['DE', 'FR'], regions: [ids[0]] }],
      } as RouterConfig);
      return fc.record({
        config: fc.constant(config),
        doc: docArb(config),
        facts: factsArb,
        ids: fc.constant(ids),
      });
    });
  const retired = {
    sign: (id: string, p: string) => (id === 'old' ? TEST_RING.sign('k1', `${p}x`) : undefined),
    ids: ['old'],
  };
  /** Values an attacker can make without a current key: near misses of real cookies, tokens, and noise. */
  const hostile = (now: number) =>
    fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom('us-east-1', 'ap-northeast-2', 'eu-central-1', '*'),
      fc
        .record({
          region: fc.constantFrom('us-east-1', 'ap-northeast-2', 'eu-central-1', 'staging', '*'),
          ttl: fc.integer({ min: -10_000, max: 10 * 86400 }),
          at: fc.nat(),
          to: fc.constantFrom(...'AZaz09-_.'),
        })
        .map(({ region, ttl, at, to }) => {
          const v = mintAffinity(TEST_RING, region, Math.floor(now / 1000) + ttl);
          const i = at % v.length;
          return `${v.slice(0, i)}${to}${v.slice(i + 1)}`; // one character changed (or not: then it is valid)
        }),
      fc
        .constantFrom('us-east-1', 'ap-northeast-2')
        .map((r) => mintToken(TEST_RING, r, Math.floor(now / 1000) + 60)),
      fc
        .constantFrom('us-east-1', 'ap-northeast-2')
        .map((r) => mintAffinity(retired, r, Math.floor(now / 1000) + 60)),
      fc
        .constantFrom('us-east-1', 'ap-northeast-2')
        .map((r) => `${mintAffinity(TEST_RING, r, Math.floor(now / 1000) + 60)}x`),
    );
  const steering = (d: Decision) => ({
    target: d.target.id,
    reason: d.reason,
    origin: originOf(router, d),
    next: d.next?.id,
  });

  test('no value without a current signature changes any decision, as a cookie or as the home-region header', () => {
    fc.assert(
      fc.property(
        world.chain((w) =>
          fc.record({ w: fc.constant(w), value: hostile(w.facts.now ?? 0), asHeader: fc.boolean() }),
        ),
        ({ w, value, asHeader }) => {
          const now = w.facts.now ?? 0;
          fc.pre(!checkSigned(AFFINITY_KIND, value, now, TEST_RING, 86400).ok);
          const router = compileRouter(w.config);
          const base: Facts = { ...w.facts, cookies: {}, headers: {} };
          const steered: Facts = asHeader
            ? { ...base, headers: { 'x-home-region': value } }
            : { ...base, cookies: { route_affinity: value } };
          const before = route(base, w.doc, router, { keys: TEST_RING });
          const after = route(steered, w.doc, router, { keys: TEST_RING });
          expect(steering(after)).toEqual(steering(before));
          expect(after.affinity?.honoured ?? false).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("a valid cookie for a region among the viewer's candidates, up and not a pilot, is followed", () => {
    fc.assert(
      fc.property(
        world.chain((w) => fc.record({ w: fc.constant(w), region: fc.constantFrom(...w.ids) })),
        ({ w, region }) => {
          const now = w.facts.now ?? 0;
          const router = compileRouter(w.config);
          const facts: Facts = {
            ...w.facts,
            headers: {},
            cookies: { route_affinity: mintAffinity(TEST_RING, region, Math.floor(now / 1000) + 300) },
          };
          const d = route(facts, w.doc, router, { keys: TEST_RING });
          const h = w.doc.regions[region];
          const cc = typeof facts.country === 'string' ? facts.country.toUpperCase() : '';
          const allowed = !['DE', 'FR'].includes(cc) || region === w.ids[0];
          // the cookie is for a whole second; `now` may sit anywhere within it
          const exp = Math.floor(now / 1000) + 300;
          const live = exp >= 0 && exp * 1000 > now;
          const followed = live && allowed && h?.status !== 'down' && h?.role !== 'pilot';
          expect(d.affinity?.honoured).toBe(followed);
          if (followed) expect(d.target.id).toBe(region);
          if (followed) expect(d.reason).toBe('affinity');
        },
      ),
      { numRuns: 800 },
    );
  });
});
