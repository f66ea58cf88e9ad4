// The ranking the build bakes into the Lambda@Edge bundle (shared/router.ts serializeRanked, reviveRouter):
// revived, it is the router compileRouter makes, and it routes as that one does, whatever the config and request.
import fc from 'fast-check';
import { compileRouter, type Router, route } from '../shared';
import { rankRouter, reviveRouter, serializeRanked } from '../shared/router';
import { worldArb } from './helpers/arbitraries';
import { buildOriginRequest, coldStart } from './helpers/bundle';
import { originRequest, setClientIp } from './helpers/fixtures';
import { BOTH_CONFIGS, ROOT, readJson, routerOf } from './helpers/load';

function from(ip: string, event: ReturnType<typeof originRequest>) {
  setClientIp(event, ip);
  return event;
}

const revived = (r: Router) => reviveRouter(serializeRanked(rankRouter(r.config)), r.config);

/** Everything but the anchors, a function: compared by what it returns. */
function expectSame(a: Router, b: Router) {
  const { anchors: aa, ...ra } = a;
  const { anchors: ba, ...rb } = b;
  expect(ra).toEqual(rb);
  expect(aa()).toEqual(ba());
  // the CIDR tables stay Int32Arrays (matchCidr's int32 arithmetic), the lookups Maps
  expect(b.networks.nets).toBeInstanceOf(Int32Array);
  expect(b.allow.masks).toBeInstanceOf(Int32Array);
  expect(b.byCountry).toBeInstanceOf(Map);
  expect(b.origins).toBeInstanceOf(Map);
  expect(b.words.countries).toBeInstanceOf(Map);
}

test.each([...BOTH_CONFIGS, ['examples/local.config.json', `${ROOT}/examples/local.config.json`]])(
  '%s: revived, the router is the compiled one, field for field',
  (_name, file) => {
    const r = routerOf(file);
    const back = revived(r);
    expectSame(r, back);
    expect(back.config).toBe(r.config);
    // a router with network routes and allowCidrs: the tables that would be lost as plain JSON
    if (file.endsWith('router.config.json')) expect(back.networks.size).toBeGreaterThan(0);
  },
);

test('whatever the config, document and request, the revived router decides as the compiled one', () => {
  fc.assert(
    fc.property(worldArb, ({ config, doc, facts }) => {
      const r = compileRouter(config);
      expect(route(facts, doc, revived(r))).toEqual(route(facts, doc, r));
    }),
    { numRuns: 300 },
  );
});

test("the built bundle's handler routes on the baked router as a handler on a router compiled from the config", async () => {
  // no healthDoc: both route on "every region up", with nothing to fetch
  const { healthDoc: _, ...config } = readJson<Record<string, unknown>>(`${ROOT}/router.config.json`);
  const mod = coldStart(buildOriginRequest(config));
  // the router compiled from the config by the source (the bundle compiles none)
  const router = routerOf(`${ROOT}/router.config.json`);
  const compiled = mod.createEdge({
    config: router.config,
    router,
    docs: { current: async () => ({ doc: null, stale: false, ageMs: null }) },
    telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
  });
  const requests = [
    originRequest({ 'CloudFront-Viewer-Country': 'KR' }),
    originRequest({ 'CloudFront-Viewer-Country': 'DE' }),
    originRequest({ 'CloudFront-Viewer-Latitude': '-33.9', 'CloudFront-Viewer-Longitude': '151.2' }),
    from('10.9.1.1', originRequest({ 'x-route-to': 'staging' })),
    from('10.8.1.1', originRequest()),
    originRequest({}),
  ];
  for (const event of requests) {
    const baked = await mod.handler(structuredClone(event));
    expect(baked.headers['x-route-decision']?.[0]?.value).toMatch(/reason=/);
    expect(baked).toEqual(await compiled.handler(structuredClone(event)));
  }
});
