import { compileRouter, type Facts, type HealthDoc, route } from '../shared';
import { originOf } from '../shared/router';
import { CASES, docFor, outcome } from './contract/cases';
import { TEST_RING } from './helpers/keys';
import { docWith, exampleConfig, exampleRouter } from './helpers/load';

const router = exampleRouter();

describe('contract table: core route()', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const d = route(c.facts, docFor(c), router, { keys: TEST_RING });
    expect(outcome(d.target.id, d.reason, d.setAffinity)).toEqual(c.expect);
  });
});

describe('decision', () => {
  test('carries the origin of its target, the doc serial, and the plan and pick steps in words', () => {
    const d = route({ country: 'KR' }, docWith({ 'ap-northeast-2': { status: 'down' } }, 42), router, {
      trace: true,
    });
    expect(d.target).toEqual({ kind: 'region', id: 'us-east-1' });
    expect(originOf(router, d)).toEqual({
      domainName: 'api.us-east-1.example.com',
      port: 443,
      protocol: 'https',
      path: '',
    });
    expect(d.serial).toBe(42);
    expect(d.plan).toEqual([
      'rank: ap-northeast-2 > us-east-1 > eu-central-1 > sa-east-1',
      'ap-northeast-2: down',
      'walk: us-east-1 (failover)',
      'retry: us-east-1, else eu-central-1',
      'affinity: not to ap-northeast-2 (down)',
    ]);
    expect(d.trace).toEqual(['geo: country KR near ap-northeast-2', 'chose us-east-1 (failover)']);
  });

  test('without trace, no words: the request path builds none', () => {
    const d = route({ country: 'KR' }, docWith({ 'ap-northeast-2': { status: 'down' } }, 42), router);
    expect(d.target.id).toBe('us-east-1');
    expect(d.trace).toEqual([]);
    expect(d.plan).toBeUndefined();
  });

  test('serial is null without a document', () => {
    expect(route({ country: 'KR' }, null, router).serial).toBeNull();
  });

  test('origin defaults: http means port 80; port and path pass through', () => {
    const r = exampleRouter((c) => {
      c.regions['us-east-1'].origin = { domainName: 'a.example.com', protocol: 'http' };
      c.regions['eu-central-1'].origin = { domainName: 'b.example.com', port: 8443, path: '/api' };
    });
    expect(originOf(r, route({ country: 'US' }, null, r))).toEqual({
      domainName: 'a.example.com',
      port: 80,
      protocol: 'http',
      path: '',
    });
    expect(originOf(r, route({ country: 'DE' }, null, r))).toEqual({
      domainName: 'b.example.com',
      port: 8443,
      protocol: 'https',
      path: '/api',
    });
  });

  test('an internal failure yields the fallback region with reason error, never a throw', () => {
    const facts = new Proxy({} as Facts, {
      get() {
        throw new Error('boom');
      },
    });
    const d = route(facts, null, router);
    expect(d.reason).toBe('error');
    expect(d.target.id).toBe('us-east-1');
    if (d.reason === 'error') expect(d.error).toBe('boom');
  });

  test('a document that was never validated is read defensively', () => {
    const junk = [
      { regions: 'x' },
      { regions: { 'ap-northeast-2': null } },
      { regions: { 'ap-northeast-2': 7 } },
      5,
      'doc',
    ];
    for (const doc of junk) {
      const d = route({ country: 'KR' }, doc as unknown as HealthDoc, router);
      expect(d.target.id).toBe('ap-northeast-2');
      expect(d.reason).toBe('nearest');
    }
  });
});

describe('dial', () => {
  const keys = Array.from({ length: 10000 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);
  const share = (dial: number) => {
    const doc = docWith({ 'ap-northeast-2': { dial } });
    return (
      keys.filter((ip) => route({ country: 'KR', ip }, doc, router).target.id === 'ap-northeast-2').length /
      100
    );
  };

  test.each([0, 5, 30, 50, 90, 100])('dial %d keeps about that share of the viewers', (dial) => {
    expect(Math.abs(share(dial) - dial)).toBeLessThan(1.5);
  });

  test('spilled viewers go to the next candidate, with the bucket in the trace', () => {
    const doc = docWith({ 'ap-northeast-2': { dial: 30 } });
    const spilled = keys
      .map((ip) => route({ country: 'KR', ip }, doc, router, { trace: true }))
      .find((d) => d.reason === 'dial-spill');
    expect(spilled?.target.id).toBe('us-east-1');
    expect(spilled?.trace[1]).toMatch(/^ap-northeast-2: dial 30, bucket \d+, spill$/);
    expect(spilled?.plan).toContain('walk: ap-northeast-2 (nearest, dial 30) → us-east-1 (dial-spill)');
  });

  test('the same viewer gets the same answer every time', () => {
    const doc = docWith({ 'ap-northeast-2': { dial: 50 } });
    for (const ip of keys.slice(0, 200)) {
      expect(route({ country: 'KR', ip }, doc, router)).toEqual(route({ country: 'KR', ip }, doc, router));
    }
  });

  test("buckets are per region: spilling from one dialled region does not predict the next one's", () => {
    const doc = docWith({ 'ap-northeast-2': { dial: 50 }, 'us-east-1': { dial: 50 } });
    const counts: Record<string, number> = {};
    for (const ip of keys) {
      const id = route({ country: 'KR', ip }, doc, router).target.id;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    // independent halves: 50 % Seoul, 25 % Virginia, 25 % onward (Frankfurt)
    expect(counts['ap-northeast-2'] / 100).toBeCloseTo(50, -1);
    expect(counts['us-east-1'] / 100).toBeCloseTo(25, -1);
    expect(counts['eu-central-1'] / 100).toBeCloseTo(25, -1);
  });
});

describe('ranking', () => {
  test('by p50 latency from the viewer’s AWS region, not by raw distance', () => {
    // From Seoul, Virginia (179 ms p50) beats Frankfurt (232 ms), though Frankfurt is nearer on the globe.
    const d = route({ country: 'KR' }, docWith({ 'ap-northeast-2': { status: 'down' } }), router);
    expect(d.target.id).toBe('us-east-1');
  });

  test('a non-AWS site with a location is ranked through its nearest AWS region', () => {
    const r = compileRouter(
      exampleConfig((c) => {
        // Busan: ~330 km from Seoul's AWS region, so 3.8 ms intra-region p50 + ~7 ms of fibre
        c.regions['onprem-busan'] = {
          origin: { domainName: 'dc.example.kr' },
          location: { lat: 35.18, lon: 129.08 },
        };
      }),
    );
    const order = r.orders[r.byCountry.get('KR') as number].text;
    expect(order).toBe('rank: ap-northeast-2 > onprem-busan > us-east-1 > eu-central-1 > sa-east-1');
    expect(route({ country: 'JP' }, docWith({ 'ap-northeast-2': { status: 'down' } }), r).target.id).toBe(
      'onprem-busan',
    );
  });

  test('environments are never picked by geography', () => {
    const targets = new Set(
      [...router.byCountry.keys()].map((cc) => route({ country: cc }, null, router).target.kind),
    );
    expect([...targets]).toEqual(['region']);
  });

  test('rankings are precomputed per country: a request does a lookup', () => {
    expect(router.byCountry.size).toBe(250);
    expect(router.countries.get('KR')).toMatchObject({ anchor: 'ap-northeast-2', group: -1 });
    const de = router.orders[router.byCountry.get('DE') as number];
    expect(de.order.map((i) => router.regions[i])).toEqual(['eu-central-1']);
  });
});
