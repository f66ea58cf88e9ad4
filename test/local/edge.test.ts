// The local edge end to end: demo backends, s3rver and the edge in-process on free ports, the built Lambda@Edge
// bundles routing, real HTTP from outside.
import { join } from 'node:path';
import { asStore, planEntries } from '../../lib/kvs';
import { type Backend, startBackend } from '../../local/backends';
import { CffHarness } from '../../local/cff-runtime';
import { type Edge, type RoutedRequest, startEdge } from '../../local/edge';
import { storeSerials } from '../../local/status';
import { compileRouter, type Router, type RouterConfig } from '../../shared';
import { resolveOriginTimeouts } from '../../shared/origin-timeouts';
import { distributionOrigins } from '../../shared/router';
import { buildBundles, bundledRouter, coldStart } from '../helpers/bundle';
import { docWith, exampleConfig } from '../helpers/load';
import { type LocalS3, startS3 } from '../helpers/s3';

const BUCKET = 'edge-router-local';
const IDS = ['us-east-1', 'eu-central-1', 'ap-northeast-2', 'sa-east-1', 'staging'];
const KOREA = '1.208.0.1';
const GERMANY = '85.214.0.1';

let s3: LocalS3;
let backends: Backend[];
let edge: Edge;
let cffEdge: Edge;
let cityConfig: RouterConfig;
let cityHandler: ReturnType<typeof coldStart>['handler'];
/** what the CloudFront Functions edge's key value store holds (as `edge-router doc` writes keep it) */
let store: Record<string, string> = {};
/** the publisher's compile of the test's config */
let router: Router;
const decisions: RoutedRequest[] = [];

async function get(path: string, headers: Record<string, string> = {}, init: RequestInit = {}) {
  const r = await fetch(`http://127.0.0.1:${edge.port}${path}`, { ...init, headers });
  return { status: r.status, headers: r.headers, text: await r.text() };
}
const region = async (xff: string, headers: Record<string, string> = {}) =>
  JSON.parse((await get('/hello', { 'x-forwarded-for': xff, ...headers })).text).region as string;

// The bundles' own JSON log lines (their default telemetry writes to console.log, as in Lambda): kept here, not on
// the test run's output.
const logged: string[] = [];
beforeAll(() => {
  jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    logged.push(String(line));
  });
});
afterAll(() => jest.restoreAllMocks());

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith()));
  backends = await Promise.all(IDS.map((id) => startBackend(id)));
  const port = (id: string) => backends[IDS.indexOf(id)].port;
  const config: RouterConfig = exampleConfig((c) => {
    for (const id of IDS.slice(0, 4)) {
      c.regions[id] = {
        ...c.regions[id],
        origin: { domainName: 'localhost', port: port(id), protocol: 'http' },
      };
      delete c.regions[id].canaryOrigin;
    }
    c.environments = {
      staging: { origin: { domainName: 'localhost', port: port('staging'), protocol: 'http' } },
    };
    c.healthDoc = {
      bucket: BUCKET,
      key: 'health.json',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      ttlSeconds: 1,
      timeoutMs: 1000,
    } as RouterConfig['healthDoc'];
  });
  const dist = buildBundles(config);
  const originRequest = coldStart(join(dist, 'origin-request', 'index.js')).handler;
  cityConfig = config;
  cityHandler = originRequest;
  const originResponse = require(join(dist, 'origin-response', 'index.js')).handler;
  edge = await startEdge({ config, originRequest, originResponse, onDecision: (d) => decisions.push(d) });
  router = compileRouter(config);
  store = asStore(planEntries(router, docWith()));
  cffEdge = await startEdge({
    config,
    viewerRequest: {
      harness: new CffHarness(join(dist, 'viewer-request', 'index.js'), {
        origins: [...distributionOrigins(config).keys()],
      }),
      store: () => store,
    },
    onDecision: (d) => decisions.push(d),
  });
}, 60_000);

afterAll(async () => {
  await edge?.close();
  await cffEdge?.close();
  await Promise.all((backends ?? []).map((b) => b.close()));
  await s3?.close();
});

test('a Korean viewer is served by ap-northeast-2, a German one by eu-central-1, with our headers at the origin', async () => {
  const kr = JSON.parse((await get('/hello?x=1', { 'x-forwarded-for': KOREA })).text);
  expect(kr).toMatchObject({
    region: 'ap-northeast-2',
    method: 'GET',
    path: '/hello?x=1',
    route: { 'x-route-region': 'ap-northeast-2', 'x-route-reason': 'nearest' },
  });
  expect(kr.route['x-route-decision']).toMatch(/^target=ap-northeast-2; reason=nearest; doc=7; stale=0$/);
  expect(await region(GERMANY)).toBe('eu-central-1');
  expect(decisions.some((d) => d.country === 'KR' && d.target === 'ap-northeast-2')).toBe(true);
});

test('a region marked down in the document: traffic moves within the TTL', async () => {
  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 8)));
  const deadline = Date.now() + 5_000;
  let served = await region(KOREA);
  while (served === 'ap-northeast-2' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    served = await region(KOREA);
  }
  expect(served).toBe('us-east-1');
  // and back when it is up again
  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 9)));
  const back = Date.now() + 5_000;
  while (served !== 'ap-northeast-2' && Date.now() < back) {
    await new Promise((r) => setTimeout(r, 100));
    served = await region(KOREA);
  }
  expect(served).toBe('ap-northeast-2');
});

test('QA: an override from the VPN range is honoured; from outside it is not', async () => {
  expect(await region('10.8.0.5', { 'x-route-to': 'staging' })).toBe('staging');
  expect(await region(GERMANY, { 'x-route-to': 'staging' })).toBe('eu-central-1');
});

test('authorised viewers get the decision trace on the response; others do not', async () => {
  const qa = await get('/hello', { 'x-forwarded-for': '10.8.0.5' });
  expect(qa.headers.get('x-route-decision')).toMatch(
    /^target=ap-northeast-2; reason=network; doc=\d+; stale=0$/,
  );
  const viewer = await get('/hello', { 'x-forwarded-for': GERMANY });
  expect(viewer.headers.get('x-route-decision')).toBeNull();
  expect(JSON.parse(viewer.text).region).toBe('eu-central-1');
});

test('methods and request bodies pass through intact', async () => {
  const body = Buffer.alloc(1024 * 1024 + 7, 'x');
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const r = await get(
      '/items',
      { 'x-forwarded-for': GERMANY, 'content-type': 'application/octet-stream' },
      { method, body },
    );
    const echo = JSON.parse(r.text);
    expect(echo).toMatchObject({ region: 'eu-central-1', method, bodyBytes: body.length });
    expect(echo.bodySha256).toBe(require('node:crypto').createHash('sha256').update(body).digest('hex'));
  }
});

test('a large response is streamed through whole', async () => {
  const r = await fetch(`http://127.0.0.1:${edge.port}/large?bytes=${32 * 1024 * 1024}`, {
    headers: { 'x-forwarded-for': KOREA },
  });
  expect(r.status).toBe(200);
  expect(r.headers.get('x-backend')).toBe('ap-northeast-2');
  const bytes = (await r.arrayBuffer()).byteLength;
  expect(bytes).toBe(32 * 1024 * 1024);
});

test('a backend that resets the connection: a clear 502 from the edge, which stays up', async () => {
  const r = await get('/reset', { 'x-forwarded-for': KOREA });
  expect(r.status).toBe(502);
  expect(JSON.parse(r.text)).toMatchObject({ error: 'the origin failed', target: 'ap-northeast-2' });
  expect(await region(KOREA)).toBe('ap-northeast-2');
});

test('latitude and longitude (geoip city data) reach the function and place the viewer', async () => {
  // a viewer in Vladivostok: its country (RU) ranks Frankfurt first, its coordinates Seoul
  const vladivostok = await startEdge({
    config: cityConfig,
    originRequest: cityHandler,
    locate: () => ({ country: 'RU', lat: 43.1155, lon: 131.8855 }),
  });
  try {
    const r = await fetch(`http://127.0.0.1:${vladivostok.port}/hello`);
    const echo = JSON.parse(await r.text());
    expect(echo.viewer).toMatchObject({
      'cloudfront-viewer-country': 'RU',
      'cloudfront-viewer-latitude': '43.1155',
      'cloudfront-viewer-longitude': '131.8855',
    });
    expect(echo.region).toBe('ap-northeast-2');
    const moscow = await fetch(`http://127.0.0.1:${edge.port}/hello`, {
      headers: { 'x-forwarded-for': '5.255.255.5' },
    });
    expect(JSON.parse(await moscow.text())).toMatchObject({
      viewer: { 'cloudfront-viewer-country': 'RU' },
      region: 'eu-central-1',
    });
  } finally {
    await vladivostok.close();
  }
});

describe('runtime cloudfront-functions: the built viewer-request file in the harness', () => {
  const via = async (xff: string, headers: Record<string, string> = {}, init: RequestInit = {}) => {
    const r = await fetch(`http://127.0.0.1:${cffEdge.port}/hello?q=1`, {
      ...init,
      headers: { 'x-forwarded-for': xff, ...headers },
    });
    return JSON.parse(await r.text());
  };

  test('Korea to ap-northeast-2 and Germany to eu-central-1, with our headers and the query string', async () => {
    expect(await via(KOREA)).toMatchObject({
      region: 'ap-northeast-2',
      path: '/hello?q=1',
      route: { 'x-route-region': 'ap-northeast-2', 'x-route-reason': 'nearest' },
    });
    expect((await via(GERMANY)).region).toBe('eu-central-1');
  });

  test('a region marked down in the store moves the traffic', async () => {
    store = asStore(planEntries(router, docWith({ 'ap-northeast-2': { status: 'down' } }, 8)));
    expect(storeSerials(store)).toEqual([8]);
    expect(await via(KOREA)).toMatchObject({ region: 'us-east-1', route: { 'x-route-reason': 'failover' } });
    // the decision says which document the function routed with (the status page shows it beside S3's)
    expect(decisions.at(-1)).toMatchObject({
      target: 'us-east-1',
      reason: 'failover',
      serial: 8,
      stale: false,
    });
    expect(decisions.at(-1)?.facts).toMatchObject({ country: 'KR', ip: KOREA });
    store = asStore(planEntries(router, docWith({}, 9)));
    expect((await via(KOREA)).region).toBe('ap-northeast-2');
  });

  test('QA override from the VPN honoured, from outside ignored; the route_to cookie goes no further', async () => {
    expect((await via('10.8.0.5', { 'x-route-to': 'staging' })).region).toBe('staging');
    expect((await via(GERMANY, { 'x-route-to': 'staging' })).region).toBe('eu-central-1');
    const r = await via('10.8.0.5', { cookie: 'session=abc; route_to=staging' });
    expect(r.region).toBe('staging');
  });

  test('methods and bodies pass through', async () => {
    const body = Buffer.alloc(300_000, 'y');
    const r = await via(GERMANY, { 'content-type': 'application/octet-stream' }, { method: 'PUT', body });
    expect(r).toMatchObject({ region: 'eu-central-1', method: 'PUT', bodyBytes: body.length });
  });
});

/** The demo backends as the regions, ap-northeast-2 on `closed`, with origin groups. */
const groupedConfig = (closed: number): RouterConfig =>
  exampleConfig((c) => {
    for (const id of IDS.slice(0, 4)) {
      const port = id === 'ap-northeast-2' ? closed : backends[IDS.indexOf(id)].port;
      c.regions[id] = { origin: { domainName: 'localhost', port, protocol: 'http' } };
    }
    c.environments = {
      staging: { origin: { domainName: 'localhost', port: backends[4].port, protocol: 'http' } },
    };
    c.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
  });

/** CloudFront fails over only what it can send again: a POST to the failing region gets the edge's 502. */
async function expectPostNotRetried(port: number): Promise<void> {
  const post = await fetch(`http://127.0.0.1:${port}/hello`, {
    method: 'POST',
    body: 'x',
    headers: { 'x-forwarded-for': KOREA },
  });
  expect(post.status).toBe(502);
}

/** A port nothing listens on: every connection is refused. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = require('node:net')
      .createServer()
      .listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
  });

test('lambda-edge with origin groups: the function is invoked again for the second origin and sends the GET to the retry target; a POST is not retried', async () => {
  const closed = await closedPort();
  // the backends answer 503 on /status/503: a failover status
  const config = groupedConfig(closed);
  const dist = buildBundles(config);
  const mod = coldStart(join(dist, 'origin-request', 'index.js'));
  const invocations: { attempt?: string; region?: string }[] = [];
  const handler = mod.createHandler({
    router: bundledRouter(mod, config),
    telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
    docs: { current: async () => ({ doc: docWith(), stale: false, ageMs: 0 }) },
  });
  const grouped = await startEdge({
    config,
    originRequest: async (event) => {
      const r = event.Records[0].cf.request;
      invocations.push({
        attempt: r.origin?.custom?.customHeaders?.['x-route-attempt']?.[0]?.value,
        region: r.headers['x-route-region']?.[0]?.value,
      });
      return handler(event);
    },
  });
  try {
    const get = await fetch(`http://127.0.0.1:${grouped.port}/hello`, {
      headers: { 'x-forwarded-for': KOREA },
    });
    expect(get.status).toBe(200);
    // Seoul refused the connection; the second invocation sent it to Seoul's retry target, with reason failover
    expect(JSON.parse(await get.text())).toMatchObject({
      region: 'us-east-1',
      route: { 'x-route-region': 'us-east-1', 'x-route-reason': 'failover' },
    });
    expect(invocations).toEqual([
      { attempt: undefined, region: undefined },
      { attempt: '2', region: 'ap-northeast-2' },
    ]);
    // a status the group fails over on (503 from Virginia's backend, for a US viewer): the second attempt goes
    // elsewhere, where the demo API answers 503 too, but from another region
    invocations.length = 0;
    const status = await fetch(`http://127.0.0.1:${grouped.port}/status/503`, {
      headers: { 'x-forwarded-for': '8.8.8.8' },
    });
    const body = JSON.parse(await status.text());
    expect(body.region).not.toBe('us-east-1');
    expect(body.route).toMatchObject({ 'x-route-reason': 'failover' });
    expect(invocations.map((i) => i.attempt)).toEqual([undefined, '2']);
    await expectPostNotRetried(grouped.port);
  } finally {
    await grouped.close();
  }
}, 30_000);

test('cloudfront-functions with origin groups: a GET whose region fails is served by the next one; a POST is not retried', async () => {
  // ap-northeast-2's origin is a closed port: every connection is refused
  const closed = await closedPort();
  const config = groupedConfig(closed);
  const dist = buildBundles(config);
  const grouped = await startEdge({
    config,
    viewerRequest: {
      harness: new CffHarness(join(dist, 'viewer-request', 'index.js'), {
        origins: [...distributionOrigins(config).keys()],
      }),
      store: () => asStore(planEntries(compileRouter(config), docWith())),
    },
  });
  try {
    const get = await fetch(`http://127.0.0.1:${grouped.port}/hello`, {
      headers: { 'x-forwarded-for': KOREA },
    });
    expect(get.status).toBe(200);
    expect(JSON.parse(await get.text())).toMatchObject({
      region: 'us-east-1',
      route: { 'x-route-region': 'ap-northeast-2' },
    });
    await expectPostNotRetried(grouped.port);
  } finally {
    await grouped.close();
  }
}, 30_000);

describe('lambda-edge, one function for both events: passive health and bounded waits', () => {
  /** The grouped config with every region on its demo backend, and the origin timeouts given. */
  const config = (timeouts?: RouterConfig['originTimeouts']) =>
    exampleConfig((c) => {
      for (const id of IDS.slice(0, 4))
        c.regions[id] = {
          origin: { domainName: 'localhost', port: backends[IDS.indexOf(id)].port, protocol: 'http' },
        };
      c.environments = {
        staging: { origin: { domainName: 'localhost', port: backends[4].port, protocol: 'http' } },
      };
      c.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
      if (timeouts) c.originTimeouts = timeouts;
    });
  const seoul = () => backends[IDS.indexOf('ap-northeast-2')];
  afterEach(() => seoul().fault('none'));

  async function edgeFor(c: RouterConfig) {
    const mod = coldStart(join(buildBundles(c), 'origin-request', 'index.js'));
    const logs: string[] = [];
    const fn = mod.createEdge({
      config: c,
      router: bundledRouter(mod, c),
      docs: { current: async () => ({ doc: docWith(), stale: false, ageMs: 0 }) },
      telemetry: new mod.Telemetry({ runtime: 'test', write: (l: string) => logs.push(l) }),
    });
    const e = await startEdge({ config: c, originRequest: fn.handler, originResponse: fn.handler });
    const send = async (method = 'GET') => {
      const r = await fetch(`http://127.0.0.1:${e.port}/hello`, {
        method,
        body: method === 'POST' ? 'x' : undefined,
        headers: { 'x-forwarded-for': KOREA },
      });
      const text = await r.text();
      return { status: r.status, body: r.ok ? JSON.parse(text) : text };
    };
    return { edge: e, fn, logs, send };
  }

  test('a region answering 503: no GET fails, and after five failures in a row the container ejects it (reason failover)', async () => {
    const { edge: e, fn, logs, send } = await edgeFor(config());
    try {
      seoul().fault('503');
      const before = seoul().served();
      for (let i = 0; i < 5; i++) {
        const r = await send();
        // each retried by the group's second origin, elsewhere
        expect(r.status).toBe(200);
        expect(r.body.region).not.toBe('ap-northeast-2');
      }
      expect(seoul().served() - before).toBe(5);
      expect(fn.passive?.ejections(Date.now()).map((x: { target: string }) => x.target)).toEqual([
        'ap-northeast-2',
      ]);
      // ejected: the next requests, a POST too, go elsewhere at once, and Seoul sees none of them
      const get = await send();
      expect(get.body.route).toMatchObject({ 'x-route-reason': 'failover' });
      expect(get.body.route['x-route-attempt']).toBeUndefined();
      expect((await send('POST')).status).toBe(200);
      expect(seoul().served() - before).toBe(5);
      expect(logs.some((l) => JSON.parse(l).event === 'ejected')).toBe(true);
    } finally {
      await e.close();
    }
  }, 30_000);

  test('a region that accepts and never answers: the GET is answered by the next region once the read timeout passes, not after 3 × 30 s', async () => {
    const { edge: e, send } = await edgeFor(config({ readTimeoutSeconds: 1 }));
    try {
      seoul().fault('hang');
      // a POST cannot be sent again: the edge's 504 after the read timeout (the first request: nothing stalled yet)
      expect((await send('POST')).status).toBe(504);
      const t0 = Date.now();
      const r = await send();
      const took = Date.now() - t0;
      expect(r.status).toBe(200);
      expect(r.body.region).not.toBe('ap-northeast-2');
      // the configured read timeout was waited, once (connectionAttempts 1 with origin groups), not CloudFront's 30 s
      expect(took).toBeGreaterThanOrEqual(1000);
      expect(took).toBeLessThan(5000);
    } finally {
      await e.close();
    }
  }, 30_000);

  /**
   * Seoul hung, per-try 1 s, read timeout 3 s: the first POST waits the whole read timeout, then gets the edge's 504;
   * the GET is answered by another region in 1-2 s (within the 2 s connect timeout).
   */
  async function expectHangBounded(
    timed: (method?: string) => Promise<{ status: number; body: any; took: number }>,
  ): Promise<void> {
    seoul().fault('hang');
    const post = await timed('POST');
    expect(post.status).toBe(504);
    expect(post.took).toBeGreaterThanOrEqual(3000);
    const get = await timed();
    expect([get.status, get.body.region === 'ap-northeast-2']).toEqual([200, false]);
    expect(get.took).toBeGreaterThanOrEqual(1000);
    expect(get.took).toBeLessThan(2000);
  }

  test('cloudfront-functions with a per-try timeout: the GET goes first to the try.<id> copy, which waits 1 s; a POST to the origin itself, with the whole read timeout', async () => {
    const c = config({ readTimeoutSeconds: 3 });
    const dist = buildBundles(c);
    const e = await startEdge({
      config: c,
      viewerRequest: {
        harness: new CffHarness(join(dist, 'viewer-request', 'index.js'), {
          origins: [...distributionOrigins(c).keys()],
        }),
        store: () => asStore(planEntries(compileRouter(c), docWith())),
      },
    });
    const timed = async (method = 'GET') => {
      const t0 = Date.now();
      const r = await fetch(`http://127.0.0.1:${e.port}/hello`, {
        method,
        body: method === 'POST' ? 'x' : undefined,
        headers: { 'x-forwarded-for': KOREA },
      });
      const text = await r.text();
      return { status: r.status, body: r.ok ? JSON.parse(text) : text, took: Date.now() - t0 };
    };
    try {
      await expectHangBounded(timed);
    } finally {
      await e.close();
    }
  }, 30_000);

  test('with a per-try timeout (1 s by default), a hung region holds a GET 1 s, within the 2 s connect timeout, while a POST keeps the whole read timeout until the region is stalled; a slow region answers its POSTs until then', async () => {
    const c = config({ readTimeoutSeconds: 3 });
    expect(resolveOriginTimeouts(c)).toMatchObject({ connectionTimeoutSeconds: 2, perTryTimeoutSeconds: 1 });
    const { edge: e, send } = await edgeFor(c);
    const timed = async (method?: string) => {
      const t0 = Date.now();
      const r = await send(method);
      return { ...r, took: Date.now() - t0 };
    };
    try {
      await expectHangBounded(timed);
      // Seoul has answered nothing for 4 s: stalled, so a POST goes to the next region at once, not into the hang
      const post = await timed('POST');
      expect([post.status, post.body.region === 'ap-northeast-2', post.body.route['x-route-reason']]).toEqual(
        [200, false, 'failover'],
      );
      expect(post.took).toBeLessThan(1000);
    } finally {
      await e.close();
    }
    // slow (every answer 2 s late), in a new container: the POST answered by Seoul after 2 s (a good answer), the GET
    // elsewhere after 1 s; Seoul has not answered that GET, so 500 ms later a POST goes to the next region too
    const fresh = await edgeFor(c);
    const slow = async (method?: string) => {
      const t0 = Date.now();
      const r = await fresh.send(method);
      return { ...r, took: Date.now() - t0 };
    };
    try {
      seoul().fault('slow');
      const slowPost = await slow('POST');
      expect([slowPost.status, slowPost.body.region]).toEqual([200, 'ap-northeast-2']);
      expect(slowPost.took).toBeGreaterThanOrEqual(2000);
      const slowGet = await slow();
      expect([slowGet.status, slowGet.body.region === 'ap-northeast-2']).toEqual([200, false]);
      expect(slowGet.took).toBeLessThan(2000);
      const after = await slow('POST');
      expect([after.status, after.body.region === 'ap-northeast-2']).toEqual([200, false]);
      expect(after.took).toBeLessThan(1000);
    } finally {
      await fresh.edge.close();
    }
  }, 30_000);
});
