// Both built bundles, Lambda@Edge origin-request and CloudFront Functions viewer-request, on the same 10,000 random
// requests (countries, coordinates, IPs, override headers and cookies, tokens, health documents with random
// statuses, roles, dials and canaries): they must agree on every decision.

import { join } from 'node:path';
import type { CloudFrontRequestEvent } from 'aws-lambda';
import fc from 'fast-check';
import { keyRing } from '../../lib/keyring';
import { asStore, keysEntries, planEntries } from '../../lib/kvs';
import { type HealthDoc, mintToken, type RegionHealth, type RouterConfig } from '../../shared';
import { distributionOrigins } from '../../shared/router';
import { COUNTRY_CODES } from '../helpers/arbitraries';
import { buildBundles, bundledRouter, coldStart } from '../helpers/bundle';
import { CffHarness } from '../helpers/cff';
import { originRequest, setClientIp, viewerRequest } from '../helpers/fixtures';
import { affinity, affinityRetired, NOW, TEST_KEYS, token } from '../helpers/keys';
import { docWith, ROOT, readJson, TWELVE_CONFIG } from '../helpers/load';

/** The retired test key, as if it still signed: its tokens must be refused by both. */
const RETIRED = keyRing({ version: 1, keys: [{ ...TEST_KEYS.keys[2], retired: false }] });

/** What the random requests and documents are made of, for one config. */
interface Case {
  readonly name: string;
  readonly config: RouterConfig;
  /** the built bundles (dist/ for the example config) */
  readonly dist: string;
  /** a document's base: every region of the config up */
  readonly base: () => HealthDoc;
  /** addresses inside the config's networks (routes and allowCidrs), beside random ones */
  readonly vpn: readonly string[];
  readonly sticky: string;
}

function arbitraries(c: Case) {
  const TARGETS = [...Object.keys(c.config.regions), ...Object.keys(c.config.environments ?? {})];
  const REGIONS = Object.keys(c.config.regions);

  const healthArb: fc.Arbitrary<RegionHealth> = fc.record(
    {
      status: fc.constantFrom('up', 'up', 'down'),
      role: fc.constantFrom('active', 'active', 'standby', 'pilot'),
      dial: fc.oneof(
        fc.constant(100),
        fc.integer({ min: 0, max: 10000 }).map((n) => n / 100),
      ),
      canaryStatus: fc.constantFrom('up', 'down'),
    },
    { requiredKeys: ['status'] },
  );

  // Always a document: a function with no plan in its store has no network tables either (they travel with the plan,
  // README), so it routes network-route viewers by geography where Lambda@Edge, which bakes them, does not. That case
  // is tested on its own (test/viewer-request/bundle.test.ts).
  const docArb: fc.Arbitrary<HealthDoc> = fc
    .record({
      regions: fc.dictionary(fc.constantFrom(...TARGETS), healthArb),
      canary: fc.option(
        fc.record(
          {
            percent: fc.integer({ min: 0, max: 10000 }).map((n) => n / 100),
            seed: fc.string({ maxLength: 8 }),
            regions: fc.subarray(REGIONS),
            schedule: fc.constant<{ at: string; percent: number }[]>([
              { at: '2027-01-15T07:00:00Z', percent: 5 },
              { at: '2027-01-15T08:30:00Z', percent: 50 },
            ]),
          },
          { requiredKeys: ['percent'] },
        ),
        { nil: undefined },
      ),
      serial: fc.nat({ max: 1000 }),
    })
    .map(({ regions, canary, serial }) => {
      const doc = c.base();
      for (const [id, h] of Object.entries(regions)) doc.regions[id] = { ...h };
      return { ...doc, serial, ...(canary ? { canary } : {}) };
    });

  const ipArb = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom(...c.vpn));

  const overrideArb = fc.record(
    {
      to: fc.oneof(fc.constantFrom(...TARGETS), fc.string({ maxLength: 12 })),
      via: fc.constantFrom('header', 'cookie'),
      token: fc.oneof(
        fc.constantFrom(...TARGETS, '*').map((t) => token(t)),
        fc.constantFrom(...TARGETS).map((t) => token(t, -10)),
        fc.constantFrom(...TARGETS).map((t) => mintToken(RETIRED, t, Math.floor(NOW / 1000) + 3600, 'old')),
        fc.string({ maxLength: 20 }),
      ),
    },
    { requiredKeys: ['to', 'via'] },
  );

  /** Affinity values: valid, expired, too long-lived, retired-key, forged, for unknown regions, and noise. */
  const affinityArb = fc.oneof(
    fc.constantFrom(...REGIONS).map((r) => affinity(r)),
    fc.constantFrom(...REGIONS).map((r) => affinity(r, 600, 'k1')),
    fc.constantFrom(...REGIONS).map((r) => affinity(r, -10)),
    fc.constantFrom(...REGIONS).map((r) => affinity(r, 3600)),
    fc.constantFrom(...REGIONS).map((r) => affinityRetired(r)),
    fc.constantFrom(...REGIONS).map((r) => affinity(r).replace(r, 'us-east-1')),
    fc.constantFrom(...TARGETS.filter((t) => !REGIONS.includes(t)), 'mars-1').map((r) => affinity(r)),
    fc.constantFrom(...REGIONS).map((r) => token(r)),
    fc.string({ maxLength: 20 }),
  );

  const requestArb = fc.record(
    {
      method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      affinityCookie: affinityArb,
      home: affinityArb,
      country: fc.oneof(fc.constantFrom(...COUNTRY_CODES), fc.constantFrom('kr', 'XX', 'EU', '')),
      coords: fc.tuple(fc.integer({ min: -9000, max: 9000 }), fc.integer({ min: -18000, max: 18000 })),
      ip: ipArb,
      override: overrideArb,
      // values as a Cookie header carries them (RFC 6265 cookie-octets: no spaces, quotes, commas, semicolons or
      // backslashes), so that both runtimes read the same value, the sticky cookie's included
      cookies: fc.dictionary(
        fc.constantFrom('session', c.sticky, 'route_to'),
        fc.stringMatching(/^[!#-+\--:<-[\]-~]{0,10}$/),
      ),
      minutes: fc.integer({ min: -120, max: 120 }),
    },
    { requiredKeys: ['ip', 'minutes'] },
  );
  return { requestArb, docArb };
}

function agree(c: Case, seed: number): void {
  const { requestArb, docArb } = arbitraries(c);
  const mod = coldStart(join(c.dist, 'origin-request', 'index.js'));
  const config = c.config;
  const ORIGINS = distributionOrigins(config);
  const cff = new CffHarness(join(c.dist, 'viewer-request', 'index.js'), {
    origins: [...ORIGINS.keys()],
  });
  const router = bundledRouter(mod, config);
  const keysStore = asStore(keysEntries(TEST_KEYS));

  test(`${c.name}: on 10,000 of 10,000 random requests`, async () => {
    let compared = 0;
    let authorised = 0;
    let issued = 0;
    const reasons = new Set<string>();
    await fc.assert(
      fc.asyncProperty(requestArb, docArb, async (req, doc) => {
        const now = NOW + req.minutes * 60_000;
        const headers: Record<string, string> = {};
        const cookies: Record<string, string> = { ...req.cookies };
        if (req.country !== undefined) headers['cloudfront-viewer-country'] = req.country;
        if (req.coords) {
          headers['cloudfront-viewer-latitude'] = String(req.coords[0] / 100);
          headers['cloudfront-viewer-longitude'] = String(req.coords[1] / 100);
        }
        if (req.affinityCookie !== undefined) cookies.route_affinity = req.affinityCookie;
        if (req.home !== undefined) headers[config.affinity?.homeHeader ?? 'x-home-region'] = req.home;
        if (req.override) {
          if (req.override.via === 'header') headers['x-route-to'] = req.override.to;
          else cookies.route_to = req.override.to;
          if (req.override.token !== undefined) headers['x-route-token'] = req.override.token;
        }

        const event: CloudFrontRequestEvent = originRequest(headers);
        const cookieHeader = Object.entries(cookies)
          .map(([k, v]) => `${k}=${v}`)
          .join('; ');
        if (cookieHeader)
          event.Records[0].cf.request.headers.cookie = [{ key: 'Cookie', value: cookieHeader }];
        setClientIp(event, req.ip);
        if (req.method !== undefined) Object.assign(event.Records[0].cf.request, { method: req.method });
        const lambda = await mod.createHandler({
          router,
          telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
          docs: { current: async () => ({ doc, stale: false, ageMs: 0 }) },
          keys: { current: async () => ({ doc: TEST_KEYS, stale: false, ageMs: 0 }) },
          now: () => now,
        })(event);

        const store = { ...keysStore, ...asStore(planEntries(router, doc)) };
        const viewerEvent = viewerRequest(headers, cookies, req.ip);
        if (req.method !== undefined) viewerEvent.request.method = req.method;
        const f = await cff.run(viewerEvent, now, store);

        const fromLambda = {
          decision: lambda.headers['x-route-decision'][0].value,
          authorised: lambda.headers['x-route-authorised']?.[0].value,
          affinity: lambda.headers['x-route-affinity']?.[0].value,
          origin: lambda.origin?.custom?.domainName,
          path: lambda.origin?.custom?.path,
          port: lambda.origin?.custom?.port,
        };
        // the function selects the distribution's origin by id: the infra app makes it from the same config
        // (with originGroups, the group's first origin, a try.<id> per-try copy of the same origin)
        const call = f.calls[0];
        const id =
          call?.helper === 'createRequestOriginGroup'
            ? (call.args[0] as { originIds: { originId: string }[] }).originIds[0].originId
            : (call?.args[0] as string);
        const o = ORIGINS.get(id);
        const fromCff = {
          decision: f.returned.headers['x-route-decision'].value,
          authorised: f.returned.headers['x-route-authorised']?.value,
          affinity: f.returned.headers['x-route-affinity']?.value,
          origin: o?.domainName,
          path: o?.path ?? '',
          port: o?.port ?? 443,
        };
        expect(fromCff).toEqual(fromLambda);
        compared++;
        reasons.add(f.returned.headers['x-route-reason'].value);
        if (fromCff.authorised) authorised++;
        if (fromCff.affinity) issued++;
      }),
      { numRuns: 10_000, seed },
    );
    expect(compared).toBe(10_000);
    // the random requests reach every kind of decision, not only the nearest region
    expect([...reasons].sort()).toEqual(
      [
        'affinity',
        'canary',
        'dial-spill',
        'fail-open',
        'failover',
        'nearest',
        'network',
        'no-geo',
        'override',
        'standby',
      ].sort(),
    );
    expect(authorised).toBeGreaterThan(100);
    expect(issued).toBeGreaterThan(1000);
  });
}

describe('Lambda@Edge and CloudFront Functions bundles agree', () => {
  agree(
    {
      name: 'the example config',
      config: readJson<RouterConfig>(join(ROOT, 'router.config.json')),
      dist: join(ROOT, 'dist'),
      base: () => docWith({}, 1),
      vpn: ['10.8.1.2', '10.9.0.77', '10.10.0.1', '2001:db8:8::1', '2001:db8:9::1', '::ffff:10.8.0.1'],
      sticky: 'uid',
    },
    20261125,
  );
  // 12 regions, 2 environments, 4 residency groups, 50 CIDRs, affinity with a home header, a sticky cookie and
  // originGroups; built here as lambda-edge, since its CloudFront Functions file does not fit yet (README)
  const twelve = readJson<RouterConfig>(TWELVE_CONFIG);
  agree(
    {
      name: 'the 12-region config',
      config: twelve,
      dist: buildBundles({ ...twelve, runtime: 'lambda-edge' }),
      base: () => ({
        version: 1,
        serial: 1,
        updatedAt: '2027-01-15T07:00:00Z',
        regions: Object.fromEntries(Object.keys(twelve.regions).map((id) => [id, { status: 'up' as const }])),
      }),
      vpn: [
        '10.20.1.2',
        '10.25.0.9',
        '192.0.2.17',
        '192.0.2.95',
        '2001:db8:10::1',
        '2001:db8:15::7',
        '2001:db8:ff3::1',
        '::ffff:10.24.0.1',
      ],
      sticky: twelve.sticky?.cookie ?? 'uid',
    },
    20261202,
  );
});
