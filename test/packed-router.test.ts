// The CloudFront Functions bundle routes with unpackRouter(packRouter(router)): it must route exactly as the
// compiled router does, trace included, for every country, every anchor and arbitrary requests.
import fc from 'fast-check';
import { COUNTRIES, compileRouter, type Decision, type Facts, type Router, route } from '../shared';
import { type PackedRouter, unpackRouter } from '../shared/packed-router';
import type { RouteTable } from '../shared/router';
import { packRouter } from '../shared/router';
import { configArb, docArb, factsArb } from './helpers/arbitraries';
import { docWith, exampleRouter } from './helpers/load';

/** A decision with its `next` as a Destination only (the compiled one is the whole region entry). */
const view = (d: Decision) => ({ ...d, next: d.next && { target: d.next.target, origin: d.next.origin } });

/** Through JSON, as the build bakes it. */
const roundTrip = (r: Router): RouteTable =>
  unpackRouter(JSON.parse(JSON.stringify(packRouter(r))) as PackedRouter);

const routers: [string, Router][] = [
  ['the example config (residency, networks, canaries, staging)', exampleRouter()],
  [
    'a site that is not an AWS region, and sticky keys',
    exampleRouter((c) => {
      c.regions['on-prem-paris'] = {
        origin: { domainName: 'api.paris.example.net', port: 8443, path: '/v2' },
        location: { lat: 48.86, lon: 2.35 },
      };
      c.sticky = { cookie: 'uid', header: 'x-user' };
    }),
  ],
];

describe.each(routers)('%s', (_name, router) => {
  const table = roundTrip(router);

  test('every country unpacks to the same row; nothing else is a country', () => {
    for (const cc of COUNTRIES.keys()) expect(table.byCountry.get(cc)).toEqual(router.byCountry.get(cc));
    for (const key of ['', 'K', 'kr', 'KRX', 'RK', 'constructor', '__proto__', 'toString', 'DA', 'EA']) {
      expect({ key, row: table.byCountry.get(key) }).toEqual({ key, row: router.byCountry.get(key) });
    }
  });

  test('regions, targets, anchors, rankings and networks unpack equal', () => {
    // the unpacked regions leave out where they are: only compiling ranks by place
    expect(table.regions).toEqual(router.regions.map(({ place: _, ...r }) => r));
    expect(table.fallback).toBe(router.fallback);
    for (const id of [...router.targets.keys(), 'constructor', 'nowhere']) {
      const t = table.targets.get(id);
      const r = router.targets.get(id);
      expect(t && { target: t.target, origin: t.origin }).toEqual(
        r && { target: r.target, origin: r.origin },
      );
    }
    expect(table.anchors).toEqual(router.anchors);
    expect(table.byAnchor).toEqual(router.byAnchor);
    expect(table.anchorGeo).toEqual(router.anchorGeo);
    expect(table.noGeo).toEqual(router.noGeo);
    expect(table.networks).toEqual(router.networks);
    expect(table.networkRoutes).toEqual(router.networkRoutes);
    expect(table.allow).toEqual(router.allow);
    expect([table.needsIp, table.maxTokenTtlSeconds, table.sticky]).toEqual([
      router.needsIp,
      router.maxTokenTtlSeconds,
      router.sticky,
    ]);
  });

  test('the same decisions, trace included, for arbitrary requests', () => {
    const config = router.config;
    fc.assert(
      fc.property(docArb(config), factsArb, (doc, facts) => {
        expect(view(route(facts, doc, table))).toEqual(view(route(facts, doc, router)));
      }),
      { numRuns: 500 },
    );
  });
});

test('the same decisions for arbitrary configs', () => {
  fc.assert(
    fc.property(
      configArb.chain((config) => fc.tuple(fc.constant(config), docArb(config), factsArb)),
      ([config, doc, facts]) => {
        const router = compileRouter(config);
        expect(view(route(facts, doc, roundTrip(router)))).toEqual(view(route(facts, doc, router)));
      },
    ),
    { numRuns: 200 },
  );
});

test('without names (the CloudFront Functions pack) the decisions are the same but for the trace', () => {
  const router = exampleRouter();
  const slim = unpackRouter(JSON.parse(JSON.stringify(packRouter(router, { names: false }))) as PackedRouter);
  fc.assert(
    fc.property(docArb(router.config), factsArb, (doc, facts) => {
      const { trace: _t, ...d } = view(route(facts, doc, slim));
      const { trace: _u, ...e } = view(route(facts, doc, router));
      expect(d).toEqual(e);
    }),
    { numRuns: 300 },
  );
});

test('packed size of the example router (the CloudFront Functions budget is 10 KB for everything)', () => {
  const bytes = JSON.stringify(packRouter(exampleRouter(), { names: false })).length;
  expect(bytes).toBeLessThan(2.5 * 1024);
  const facts: Facts = { country: 'KR' };
  expect(route(facts, docWith(), roundTrip(exampleRouter())).target.id).toBe('ap-northeast-2');
});
