import fc from 'fast-check';
import { asStore, planEntries } from '../lib/kvs';
import {
  COUNTRIES,
  type Decision,
  type Facts,
  type HealthDoc,
  needsKeys,
  pick,
  place,
  plan,
  type RegionHealth,
  type Router,
  type RouteTable,
} from '../shared';
import { bake } from '../shared/bake';
import { type Baked, tablesOf, withNetworks } from '../shared/baked';
import { readParts, walkKey } from '../shared/kvs-layout';
import type { Walk } from '../shared/walk';
import { COUNTRY_CODES, docArb, factsArb, healthArb } from './helpers/arbitraries';
import { affinity, NOW, TEST_RING, token } from './helpers/keys';
import { BOTH_CONFIGS, routerOf } from './helpers/load';

const CONFIGS = BOTH_CONFIGS;

/** The baked tables as the build writes them into the function: JSON (esbuild.config.mjs), then tablesOf. */
function bakedTable(router: Router): RouteTable {
  return tablesOf(JSON.parse(JSON.stringify(bake(router))) as Baked);
}

/** One address inside each network of the config (its first), IPv4 or IPv6: network routes and allowCidrs. */
function insideAddresses(router: Router): string[] {
  const c = router.config;
  const cidrs = [...(c.networkRoutes ?? []).flatMap((r) => r.cidrs), ...(c.override?.allowCidrs ?? [])];
  return cidrs.map((cidr) => {
    const [net] = cidr.split('/');
    return net.includes(':') ? `${net}1` : net.replace(/\.0$/, '.7');
  });
}

/** What the CloudFront Functions handler decides, without the event plumbing: functions/viewer-request/handler.ts. */
async function asTheFunction(
  table: RouteTable,
  store: Record<string, string>,
  facts: Facts,
): Promise<Decision> {
  const get = async (k: string) => {
    if (!Object.hasOwn(store, k)) throw new Error(`key not found: ${k}`);
    return store[k];
  };
  const at = place(table, facts);
  const walks: Walk[] = [];
  // the walk of the viewer's ranking, `<serial>.<fingerprint>` (the fingerprint is the function's: planEntries')
  const got = await readParts(get, walkKey(at.ranking));
  const tag = got.tag.split('.');
  walks[at.ranking] = JSON.parse(got.text);
  const serial = Number(tag[0]);
  withNetworks(table, walks[at.ranking] && walks[at.ranking].w);
  const keys = needsKeys(facts, table) ? TEST_RING : undefined;
  return pick({ table, serial, walks }, facts, { keys, at });
}

describe.each(CONFIGS)('tablesOf(bake(router)) for %s', (_name, file) => {
  const router = routerOf(file);
  const table = bakedTable(router);
  const regions = router.regions;
  const targets = [...regions, ...router.environments];

  test('the plain tables are the router’s own; every country and anchor looks up the same', () => {
    for (const k of [
      'regions',
      'canaries',
      'environments',
      'fallback',
      'rankings',
      'byAnchor',
      'noGeo',
      'residency',
      'needsIp',
      'maxTokenTtlSeconds',
      'sticky',
      'affinity',
    ] as const)
      expect({ k, v: table[k] }).toEqual({ k, v: router[k] });
    for (const cc of COUNTRIES.keys())
      expect({ cc, r: table.byCountry.get(cc) }).toEqual({ cc, r: router.byCountry.get(cc) });
    // odd positions of the baked country strings never match: "ER" from "DE" + "RU", say
    for (let a = 65; a <= 90; a++)
      for (let b = 65; b <= 90; b++) {
        const cc = String.fromCharCode(a, b);
        expect({ cc, r: table.byCountry.get(cc) }).toEqual({ cc, r: router.byCountry.get(cc) });
      }
    expect(table.byCountry.get('')).toBeUndefined();
    expect(table.anchors()).toEqual(router.anchors());
  });

  // requests that reach every step of a pick: geography (countries, coordinates, junk), network routes and
  // allowCidrs (addresses inside the config's networks), overrides (header, cookie; tokens good and expired),
  // affinity values (good, expired, for any region) and sticky keys
  const addresses = insideAddresses(router);
  const stickyCookie = router.sticky.cookie ?? 'session';
  const requestArb: fc.Arbitrary<Facts> = fc
    .record(
      {
        country: fc.oneof(
          fc.constantFrom(...COUNTRY_CODES),
          fc.constantFrom('kr', 'de', 'XX', ''),
          fc.string({ maxLength: 3 }),
        ),
        coords: fc.tuple(fc.integer({ min: -9000, max: 9000 }), fc.integer({ min: -18000, max: 18000 })),
        ip: fc.oneof(fc.constantFrom(...addresses), fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 8 })),
        to: fc.record(
          {
            target: fc.oneof(fc.constantFrom(...targets), fc.string({ maxLength: 6 })),
            cookie: fc.boolean(),
            token: fc.oneof(
              fc.constantFrom(...targets, '*').map((t) => token(t)),
              fc.constantFrom(...targets).map((t) => token(t, -10)),
            ),
          },
          { requiredKeys: ['target', 'cookie'] },
        ),
        affinityCookie: fc.oneof(
          fc.constantFrom(...regions).map((r) => affinity(r)),
          fc.constantFrom(...regions).map((r) => affinity(r, -10)),
          fc.string({ maxLength: 10 }),
        ),
        home: fc.constantFrom(...regions).map((r) => affinity(r, 3600)),
        sticky: fc.string({ maxLength: 12 }),
        method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD'),
        minutes: fc.integer({ min: -90, max: 90 }),
      },
      { requiredKeys: ['ip', 'minutes'] },
    )
    .map((q) => {
      const headers: Record<string, string> = {};
      const cookies: Record<string, string> = {};
      if (q.to) {
        if (q.to.cookie) cookies.route_to = q.to.target;
        else headers['x-route-to'] = q.to.target;
        if (q.to.token !== undefined) headers['x-route-token'] = q.to.token;
      }
      if (q.affinityCookie !== undefined) cookies.route_affinity = q.affinityCookie;
      if (q.home !== undefined) headers['x-home-region'] = q.home;
      if (q.sticky !== undefined) cookies[stickyCookie] = q.sticky;
      return {
        country: q.country,
        lat: q.coords && q.coords[0] / 100,
        lon: q.coords && q.coords[1] / 100,
        ip: q.ip,
        headers,
        cookies,
        method: q.method,
        now: NOW + q.minutes * 60_000,
      };
    });

  const canaryArb = fc.record(
    {
      percent: fc.integer({ min: 0, max: 10000 }).map((n) => n / 100),
      seed: fc.string({ maxLength: 8 }),
      regions: fc.subarray([...regions]),
      schedule: fc.constant<{ at: string; percent: number }[]>([
        { at: '2027-01-15T07:30:00Z', percent: 5 },
        { at: '2027-01-15T08:30:00Z', percent: 60 },
      ]),
    },
    { requiredKeys: ['percent'] },
  );
  // documents of the shared arbitrary (any region, staging, an unknown id), and some with a canary and canary health
  const docsArb: fc.Arbitrary<HealthDoc> = fc.oneof(
    docArb(router.config),
    fc
      .record({
        regions: fc.dictionary(
          fc.constantFrom(...regions),
          fc
            .tuple(healthArb, fc.constantFrom('up', 'down') as fc.Arbitrary<'up' | 'down'>)
            .map(([h, canaryStatus]): RegionHealth => ({ ...h, canaryStatus })),
        ),
        canary: canaryArb,
        serial: fc.nat({ max: 10_000 }),
      })
      .map(({ regions: rs, canary, serial }) => ({
        version: 1 as const,
        serial,
        updatedAt: '2026-11-25T08:00:00Z',
        regions: rs,
        canary,
      })),
  );

  test('property: the baked tables and the stored walk decide as pick(plan(router, doc), facts)', async () => {
    const reasons = new Set<string>();
    let withNetworkTables = 0;
    await fc.assert(
      fc.asyncProperty(docsArb, fc.oneof(requestArb, factsArb), async (doc, facts) => {
        const store = asStore(planEntries(router, doc));
        const d = await asTheFunction(table, store, facts);
        const expected = pick(plan(router, doc), facts, { keys: TEST_RING });
        expect(d).toStrictEqual(expected);
        reasons.add(d.reason);
        if (table.networks.size) withNetworkTables++;
      }),
      { numRuns: 300 },
    );
    // the random requests reach the steps the baked tables serve: networks, overrides, affinity, geography
    for (const r of ['network', 'override', 'affinity', 'nearest', 'no-geo', 'canary'])
      expect(reasons).toContain(r);
    // the walks carry the network tables, and withNetworks set them
    expect(withNetworkTables).toBe(300);
  });

  test('without a walk (withNetworks(table, undefined)) no network route or allowCidrs applies: geography decides', () => {
    withNetworks(table, undefined);
    const noNetworks = {
      ...router,
      networks: table.networks,
      allow: table.allow,
      networkRoutes: [],
    } as Router;
    expect(table.networks.size).toBe(0);
    expect(table.allow.size).toBe(0);
    for (const ip of addresses) {
      const facts: Facts = { country: 'BR', ip, headers: { 'x-route-to': 'staging' } };
      const p = plan(router, null);
      const d = pick({ table, serial: null, walks: [] }, facts);
      expect(d).toStrictEqual(pick({ ...p, table: noNetworks }, facts));
      expect(d.reason).not.toBe('network');
      expect(d.reason).not.toBe('override');
      // while the router's own tables do route it by its network (or honour its override)
      expect(['network', 'override']).toContain(pick(p, facts).reason);
    }
  });
});
