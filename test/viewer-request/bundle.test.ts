// The built CloudFront Functions file (dist/viewer-request/index.js) in the harness that behaves like the runtime:
// the contract table, the AWS fixtures, the key value store and the origin helpers.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { asStore, keysEntries, planEntries } from '../../lib/kvs';
import { fingerprint, type HealthDoc } from '../../shared';
import { originId, PER_TRY } from '../../shared/ids';
import { walkKey } from '../../shared/kvs-layout';
import { distributionOrigins } from '../../shared/router';
import { CASES, docFor, outcome } from '../contract/cases';
import { buildBundles } from '../helpers/bundle';
import { CffHarness } from '../helpers/cff';
import { FIXTURES, loadEvent, viewerRequest } from '../helpers/fixtures';
import { NOW, TEST_KEYS } from '../helpers/keys';
import { docWith, exampleConfig, exampleRouter, ROOT } from '../helpers/load';

const DIST_VIEWER_REQUEST = join(ROOT, 'dist', 'viewer-request', 'index.js');
const config = exampleConfig();
const router = exampleRouter();
/** the distribution's origins, by id, as the infra app makes them */
const ORIGINS = distributionOrigins(config);
const origins = [...ORIGINS.keys()];

/** The store as `edge-router kvs export` fills it: the plan of the document (if any) and the signing keys. */
function store(doc: HealthDoc | null): Record<string, string> {
  return asStore([...(doc ? planEntries(router, doc) : []), ...keysEntries(TEST_KEYS)]);
}

/** The origin a decision for `target` (and reason) must go to, from the config. */
function originOf(target: string, reason: string): string | undefined {
  const region = config.regions[target];
  return reason === 'canary'
    ? region?.canaryOrigin?.domainName
    : (region ?? config.environments?.[target])?.origin.domainName;
}

/** The domain of the origin a harness run selected. */
function selected(r: { calls: { helper: string; args: unknown[] }[] }): string | undefined {
  expect(r.calls).toHaveLength(1);
  expect(r.calls[0].helper).toBe('selectRequestOriginById');
  return ORIGINS.get(r.calls[0].args[0] as string)?.domainName;
}

describe('the contract table, through the built file in the harness', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const headers: Record<string, string> = { ...c.facts.headers };
    if (c.facts.country !== undefined) headers['cloudfront-viewer-country'] = c.facts.country;
    if (c.facts.lat !== undefined) headers['cloudfront-viewer-latitude'] = String(c.facts.lat);
    if (c.facts.lon !== undefined) headers['cloudfront-viewer-longitude'] = String(c.facts.lon);
    const harness = new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docFor(c)), origins });
    const event = viewerRequest(headers, c.facts.cookies ?? {}, c.facts.ip ?? '203.0.113.9');
    if (c.facts.method !== undefined) event.request.method = c.facts.method;
    const r = await harness.run(event, c.facts.now);
    expect(
      outcome(
        r.returned.headers['x-route-region'].value,
        r.returned.headers['x-route-reason'].value,
        r.returned.headers['x-route-affinity']?.value,
      ),
    ).toEqual(c.expect);
    expect(selected(r)).toBe(originOf(c.expect.target, c.expect.reason));
  });
});

describe('acceptance', () => {
  test("a KR viewer goes to ap-northeast-2: the distribution's origin of that id (example config, everything up)", async () => {
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(
      viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }),
      NOW,
    );
    expect(r.calls).toEqual([{ helper: 'selectRequestOriginById', args: ['ap-northeast-2'] }]);
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=ap-northeast-2; reason=nearest; doc=7; stale=0',
    );
  });

  test('and elsewhere when the document in the store marks it down', async () => {
    const r = await new CffHarness(DIST_VIEWER_REQUEST, {
      kvs: store(docWith({ 'ap-northeast-2': { status: 'down' } }, 8)),
      origins,
    }).run(viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }), NOW);
    expect(r.returned.headers['x-route-region'].value).toBe('us-east-1');
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=us-east-1; reason=failover; doc=8; stale=0',
    );
    expect(selected(r)).toBe('api.us-east-1.example.com');
  });
});

describe('hostile and odd events', () => {
  test('5,000 cookies: only the ones routing reads are looked up, the last value of each', async () => {
    const cookies: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) cookies[`c${i}`] = String(i);
    const event = viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }, cookies, '10.8.0.5');
    event.request.cookies.route_to = {
      value: 'qa',
      multiValue: [{ value: 'qa' }, { value: 'staging' }],
    } as never;
    // a viewer on the VPN: the route_to cookie's last value is honoured, among 5,000 others
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(event, NOW);
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=staging; reason=override; doc=7; stale=0',
    );
    // the other cookies go to the origin untouched, ours does not
    expect(Object.keys(r.returned.cookies ?? {})).toHaveLength(5000);
    expect(r.returned.cookies?.route_to).toBeUndefined();
  });

  test("the harness runs a clone of the event, or with `given` the caller's own (the bench's precloned rows)", async () => {
    const harness = new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins });
    const event = viewerRequest({ 'CloudFront-Viewer-Country': 'KR' });
    const cloned = await harness.run(event, NOW);
    expect(cloned.returned).not.toBe(event.request);
    expect(event.request.headers['x-route-region']).toBeUndefined();
    const given = await harness.run(event, NOW, undefined, true);
    expect(given.returned).toBe(event.request);
    expect(event.request.headers['x-route-region']).toEqual({ value: 'ap-northeast-2' });
    expect(given.calls).toEqual(cloned.calls);
  });

  test.each([[{}], [{ version: '1.0', context: {}, viewer: { ip: '203.0.113.9' } }]])(
    'an event without a request (%j) returns without throwing',
    async (event) => {
      const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(event, NOW);
      expect(r.returned).toBeUndefined();
      expect(r.calls).toEqual([]);
    },
  );
});

describe('the key value store', () => {
  const kr = viewerRequest({ 'CloudFront-Viewer-Country': 'KR' });
  const down = docWith({ 'ap-northeast-2': { status: 'down' } }, 9);

  test('no store associated with the function: the baked-in defaults (every region up), and no log noise', async () => {
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { origins }).run(kr, NOW);
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=ap-northeast-2; reason=nearest; doc=none; stale=0',
    );
    expect(r.logs).toEqual([]);
  });

  const KR = walkKey(router.byCountry.get('KR') as number);

  test('the network tables travel with the plan: without one, a VPN viewer is routed by geography', async () => {
    const vpn = viewerRequest({ 'CloudFront-Viewer-Country': 'KR', 'x-route-to': 'staging' }, {}, '10.9.0.1');
    const planned = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(
      vpn,
      NOW,
    );
    expect(planned.returned.headers['x-route-decision'].value).toBe(
      'target=staging; reason=override; doc=7; stale=0',
    );
    const none = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(null), origins }).run(vpn, NOW);
    expect(none.returned.headers['x-route-decision'].value).toBe(
      'target=ap-northeast-2; reason=nearest; doc=none; stale=0',
    );
    expect(none.returned.headers['x-route-authorised']).toBeUndefined();
  });

  test('a store without the plan: the defaults, and the function says why', async () => {
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(null), origins }).run(kr, NOW);
    expect(r.returned.headers['x-route-region'].value).toBe('ap-northeast-2');
    expect(r.logs.map((l) => JSON.parse(l))).toEqual([
      { edgeRouter: 'plan-unusable', detail: `Error: key not found: ${KR}` },
    ]);
  });

  test("one get for the plan: the walk of the viewer's ranking, nothing else", async () => {
    const gets: string[] = [];
    const kvs = new Proxy(store(down), {
      getOwnPropertyDescriptor: (t, k) => {
        gets.push(String(k));
        return Reflect.getOwnPropertyDescriptor(t, k);
      },
    });
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs, origins }).run(kr, NOW);
    expect(r.returned.headers['x-route-region'].value).toBe('us-east-1');
    expect(gets).toEqual([KR]);
  });

  test('a walk in several parts is read whole; parts of two versions are refused, not glued', async () => {
    // a long canary schedule does not fit one 1 KB value
    const big: HealthDoc = {
      ...down,
      canary: {
        percent: 0,
        schedule: Array.from({ length: 80 }, (_, i) => ({
          at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
          percent: i,
        })),
      },
    };
    const parts = planEntries(router, big);
    expect(parts.map((p) => p.key)).toContain(`${KR}/1`);
    for (const p of parts) expect(Buffer.byteLength(p.value)).toBeLessThanOrEqual(1024);
    const whole = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(big), origins }).run(kr, NOW);
    expect(whole.returned.headers['x-route-decision'].value).toBe(
      'target=us-east-1; reason=failover; doc=9; stale=0',
    );

    // part 0 of serial 10 beside part 1 of serial 9: as the store may hold while it propagates
    const newer = asStore(planEntries(router, { ...big, serial: 10 }));
    const torn = { ...store(big), [KR]: newer[KR] };
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: torn, origins }).run(kr, NOW);
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=ap-northeast-2; reason=nearest; doc=none; stale=0',
    );
    expect(r.logs.join('\n')).toContain('another version');
  });

  test('a plan for another config is not read: the defaults, and the function says why', async () => {
    const foreign = store(down);
    foreign[KR] = foreign[KR].replace(`.${fingerprint(router)}/`, '.other/');
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: foreign, origins }).run(kr, NOW);
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=ap-northeast-2; reason=nearest; doc=none; stale=0',
    );
    expect(r.logs.map((l) => JSON.parse(l))).toEqual([
      {
        edgeRouter: 'plan-unusable',
        detail: `Error: planned for config other, not ${fingerprint(router)}`,
      },
    ]);
  });

  test('a value that is not a walk: the defaults', async () => {
    const tag = `7.${fingerprint(router)}`;
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: { [KR]: `${tag}/1|{not json` }, origins }).run(
      kr,
      NOW,
    );
    expect(r.returned.headers['x-route-region'].value).toBe('ap-northeast-2');
    expect(r.logs).toHaveLength(1);
  });
});

describe('applying the decision', () => {
  test("the viewer's x-route-* headers and route_to cookie are removed, other cookies kept; ours are set", async () => {
    const event = viewerRequest(
      { 'CloudFront-Viewer-Country': 'DE', 'X-Route-Region': 'forged', 'x-route-authorised': '1' },
      { route_to: 'staging', session: 'abc' },
    );
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(event, NOW);
    const h = r.returned.headers;
    expect(h['x-route-region'].value).toBe('eu-central-1');
    expect(h['x-route-authorised']).toBeUndefined();
    expect(
      Object.keys(h)
        .filter((n) => n.startsWith('x-route-'))
        .sort(),
    ).toEqual(['x-route-decision', 'x-route-reason', 'x-route-region']);
    expect(r.returned.cookies).toEqual({ session: { value: 'abc' } });
    // why it was ignored is for explain: this runtime logs only what failed
    expect(r.logs).toEqual([]);
  });

  test("the viewer's IP is event.viewer.ip: a forged CloudFront-Viewer-Address claims no VPN", async () => {
    const forged = viewerRequest(
      {
        'CloudFront-Viewer-Country': 'KR',
        'CloudFront-Viewer-Address': '10.8.1.1:443',
        'x-route-to': 'staging',
      },
      {},
      '203.0.113.178',
    );
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(forged, NOW);
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=ap-northeast-2; reason=nearest; doc=7; stale=0',
    );
    expect(r.returned.headers['x-route-authorised']).toBeUndefined();
  });

  test('Date is frozen at the request start; the function reads it (token expiry)', async () => {
    const harness = new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins });
    const { token } = await import('../helpers/keys');
    const event = viewerRequest({ 'x-route-to': 'staging', 'x-route-token': token('staging', 60) });
    expect((await harness.run(event, NOW)).returned.headers['x-route-region'].value).toBe('staging');
    expect((await harness.run(event, NOW + 61_000)).returned.headers['x-route-region'].value).not.toBe(
      'staging',
    );
  });
});

describe('origin groups (config originGroups)', () => {
  let file: string;
  const grouped = exampleConfig((cfg) => {
    cfg.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
  });
  // the distribution's origins for it, the per-try copies (try.<id>) among them
  const GROUPED = distributionOrigins(grouped);
  const origins = [...GROUPED.keys()];
  beforeAll(() => {
    file = join(buildBundles(grouped), 'viewer-request', 'index.js');
  });
  test("a GET: the chosen region's per-try copy first, the next candidate second; a POST: the region itself, no group", async () => {
    const r = await new CffHarness(file, { kvs: store(docWith()), origins }).run(
      viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }),
      NOW,
    );
    expect(r.calls).toEqual([
      {
        helper: 'createRequestOriginGroup',
        args: [
          {
            originIds: [{ originId: `${PER_TRY}ap-northeast-2` }, { originId: 'us-east-1' }],
            failoverCriteria: { statusCodes: [500, 502, 503, 504] },
          },
        ],
      },
    ]);
    // the copy is the same origin, waiting the per-try timeout for its answer (the infra app sets it so)
    expect(GROUPED.get(`${PER_TRY}ap-northeast-2`)).toEqual({
      ...GROUPED.get('ap-northeast-2'),
      perTry: true,
    });
    for (const method of ['HEAD', 'OPTIONS']) {
      const e = viewerRequest({ 'CloudFront-Viewer-Country': 'KR' });
      e.request.method = method;
      const got = await new CffHarness(file, { kvs: store(docWith()), origins }).run(e, NOW);
      expect(got.calls[0].helper).toBe('createRequestOriginGroup');
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const e = viewerRequest({ 'CloudFront-Viewer-Country': 'KR' });
      e.request.method = method;
      const got = await new CffHarness(file, { kvs: store(docWith()), origins }).run(e, NOW);
      expect(got.calls).toEqual([{ helper: 'selectRequestOriginById', args: ['ap-northeast-2'] }]);
    }
  });

  test('the next candidate skips down regions', async () => {
    const r = await new CffHarness(file, {
      kvs: store(docWith({ 'us-east-1': { status: 'down' } })),
      origins,
    }).run(viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }), NOW);
    expect((r.calls[0].args[0] as { originIds: unknown }).originIds).toEqual([
      { originId: `${PER_TRY}ap-northeast-2` },
      { originId: 'eu-central-1' },
    ]);
  });

  test("a network route to an environment selects its origin; a canary is retried on its region's stable origin", async () => {
    const staging = await new CffHarness(file, { kvs: store(docWith()), origins }).run(
      viewerRequest({}, {}, '10.9.0.1'),
      NOW,
    );
    expect(staging.calls).toEqual([{ helper: 'selectRequestOriginById', args: ['staging'] }]);
    const canary = await new CffHarness(file, {
      kvs: store({ ...docWith(), canary: { percent: 100 } }),
      origins,
    }).run(viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }), NOW);
    expect(canary.calls).toEqual([
      {
        helper: 'createRequestOriginGroup',
        args: [
          {
            originIds: [
              { originId: PER_TRY + originId('ap-northeast-2', true) },
              { originId: 'ap-northeast-2' },
            ],
            failoverCriteria: { statusCodes: [500, 502, 503, 504] },
          },
        ],
      },
    ]);
    expect(ORIGINS.get(originId('ap-northeast-2', true))?.domainName).toBe(
      'canary.ap-northeast-2.example.com',
    );
  });

  test('an override to a region selects it, with no group: a chosen target is not retried elsewhere', async () => {
    const r = await new CffHarness(file, { kvs: store(docWith()), origins }).run(
      viewerRequest({ 'x-route-to': 'sa-east-1' }, {}, '10.8.0.1'),
      NOW,
    );
    expect(r.calls).toEqual([{ helper: 'selectRequestOriginById', args: ['sa-east-1'] }]);
  });
});

describe("AWS's CloudFront Functions test events", () => {
  const dir = join(FIXTURES, 'cloudfront-functions');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const requests = files.filter(
    (f) =>
      loadEvent<{ context: { eventType: string } }>(`cloudfront-functions/${f}`).context.eventType ===
      'viewer-request',
  );

  test('both spellings of multi-value fields are among them', () => {
    const text = files.map((f) => JSON.stringify(loadEvent(`cloudfront-functions/${f}`))).join('');
    expect(text).toContain('"multiValue"');
    expect(text).toContain('"multivalue"');
  });

  test.each(requests)('%s: routed, one origin selected, our headers set, nothing else touched', async (f) => {
    const event = loadEvent<any>(`cloudfront-functions/${f}`);
    const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(event, NOW);
    expect(r.calls).toHaveLength(1);
    const h = r.returned.headers;
    expect(Object.keys(config.regions)).toContain(h['x-route-region'].value);
    const before = Object.fromEntries(
      Object.entries(event.request.headers ?? {}).filter(([n]) => !n.startsWith('x-route-')),
    );
    const after = Object.fromEntries(Object.entries(h).filter(([n]) => !n.startsWith('x-route-')));
    expect(after).toEqual(before);
    expect(r.returned.uri).toBe(event.request.uri);
    expect(r.returned.querystring).toEqual(event.request.querystring);
  });

  test('a multi-value x-route-to is one malformed value, in either spelling', async () => {
    for (const spelling of ['multiValue', 'multivalue']) {
      const event: any = viewerRequest({}, {}, '10.8.0.1');
      event.request.headers['x-route-to'] = {
        value: 'staging',
        [spelling]: [{ value: 'staging' }, { value: 'eu-central-1' }],
      };
      const r = await new CffHarness(DIST_VIEWER_REQUEST, { kvs: store(docWith()), origins }).run(event, NOW);
      expect(r.returned.headers['x-route-reason'].value).toBe('network');
    }
  });
});
