// The built Lambda@Edge bundle against a real S3 API (s3rver, in-process) and two misbehaving servers.
// Waits (sleep) only let a TTL pass; the one time bound asserted is the issue's `timeoutMs` contract.

import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { mintToken } from '../../shared';
import { buildOriginRequest, coldStart, configWith, type OriginRequestModule } from '../helpers/bundle';
import { originRequest, setClientIp } from '../helpers/fixtures';
import { TEST_KEYS, TEST_RING } from '../helpers/keys';
import { docWith } from '../helpers/load';
import { type LocalS3, startS3 } from '../helpers/s3';

const BUCKET = 'edge-router-health';
const KEY = 'health.json';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let s3: LocalS3;
/** TTL 0.3 s, timeout 500 ms, stale after 1 s */
let shortTtl: string;
/** TTL one hour */
let longTtl: string;
let lines: string[];

const source = (extra: Record<string, unknown>) => ({
  bucket: BUCKET,
  key: KEY,
  region: 'us-east-1',
  ...extra,
});
const docText = (serial: number, regions: Parameters<typeof docWith>[0] = {}) =>
  JSON.stringify(docWith(regions, serial));
const logs = (event: string) => lines.map((l) => JSON.parse(l)).filter((l) => l.event === event);

async function invoke(mod: OriginRequestModule, country = 'KR') {
  const r = await mod.handler(originRequest({ 'CloudFront-Viewer-Country': country }));
  return {
    domain: r.origin?.custom?.domainName,
    host: r.headers.host?.[0]?.value,
    region: r.headers['x-route-region']?.[0]?.value,
    reason: r.headers['x-route-reason']?.[0]?.value,
    doc: /doc=(\w+); stale=(\d)/
      .exec(r.headers['x-route-decision']?.[0]?.value ?? '')
      ?.slice(1)
      .join(':'),
  };
}

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  shortTtl = buildOriginRequest(
    configWith(source({ endpoint: s3.endpoint, ttlSeconds: 0.3, timeoutMs: 500, maxStaleSeconds: 1 })),
  );
  longTtl = buildOriginRequest(
    configWith(source({ endpoint: s3.endpoint, ttlSeconds: 3600, timeoutMs: 500 })),
  );
});

afterAll(async () => {
  await s3?.close();
});

beforeEach(async () => {
  await s3.remove(BUCKET, KEY);
  s3.resetCounts();
  lines = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => {
    lines.push(line);
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

test('doc present: routes on it and logs the load', async () => {
  await s3.put(BUCKET, KEY, docText(11, { 'ap-northeast-2': { status: 'down' } }));
  const mod = coldStart(longTtl);
  expect(await invoke(mod)).toEqual({
    domain: 'api.us-east-1.example.com',
    host: 'api.us-east-1.example.com',
    region: 'us-east-1',
    reason: 'failover',
    doc: '11:0',
  });
  expect(logs('doc-load')).toEqual([
    expect.objectContaining({ serial: 11, etag: expect.stringMatching(/^"/) }),
  ]);
});

test('doc missing (NoSuchKey): every region up, and why', async () => {
  const mod = coldStart(longTtl);
  expect(await invoke(mod)).toMatchObject({ region: 'ap-northeast-2', reason: 'nearest', doc: 'none:0' });
  expect(logs('doc-refresh-failed')).toEqual([
    expect.objectContaining({
      error: expect.stringMatching(/NoSuchKey/),
      kept: 'defaults (every region up)',
    }),
  ]);
});

test('doc replaced: the new ETag is picked up after the TTL, not before', async () => {
  await s3.put(BUCKET, KEY, docText(1));
  const mod = coldStart(shortTtl);
  expect(await invoke(mod)).toMatchObject({ region: 'ap-northeast-2', doc: '1:0' });
  await s3.put(BUCKET, KEY, docText(2, { 'ap-northeast-2': { status: 'down' } }));
  expect(await invoke(mod)).toMatchObject({ region: 'ap-northeast-2', doc: '1:0' });
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', reason: 'failover', doc: '2:0' });
  expect(s3.statuses(KEY)).toEqual([200, 200]);
});

test('doc unchanged: a conditional GET answered 304 renews the TTL', async () => {
  await s3.put(BUCKET, KEY, docText(5));
  const mod = coldStart(shortTtl);
  await invoke(mod);
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ doc: '5:0' });
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ doc: '5:0' });
  expect(s3.statuses(KEY)).toEqual([200, 304, 304]);
  expect(logs('doc-load')).toHaveLength(1);
});

test('doc malformed: rejected with its JSON path, the last known good kept, not fetched again while unchanged', async () => {
  await s3.put(BUCKET, KEY, docText(3, { 'ap-northeast-2': { status: 'down' } }));
  const mod = coldStart(shortTtl);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '3:0' });
  const bad = JSON.parse(docText(4));
  bad.regions['us-east-1'].status = 'maybe';
  await s3.put(BUCKET, KEY, JSON.stringify(bad));
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '3:0' });
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '3:0' });
  expect(logs('doc-rejected')).toEqual([
    expect.objectContaining({
      errors: [expect.stringMatching(/^\$\.regions\["us-east-1"\]\.status: /)],
      kept: 'last-known-good',
      serial: 3,
    }),
  ]);
  // the bad document's ETag is asked for with If-None-Match: 304, not another download
  expect(s3.statuses(KEY)).toEqual([200, 200, 304]);
});

test('doc oversized (over 256 KB): rejected; on a cold start, the defaults', async () => {
  const big = JSON.parse(docText(9, { 'ap-northeast-2': { status: 'down' } }));
  big.$schema = 'x'.repeat(300 * 1024);
  await s3.put(BUCKET, KEY, JSON.stringify(big));
  const mod = coldStart(shortTtl);
  expect(await invoke(mod)).toMatchObject({ region: 'ap-northeast-2', doc: 'none:0' });
  expect(logs('doc-rejected')).toEqual([
    expect.objectContaining({ errors: [expect.stringMatching(/bytes; the limit is 262144/)] }),
  ]);
});

test('doc nested 10,000 deep (and unbalanced): rejected like any invalid document, its ETag remembered', async () => {
  await s3.put(BUCKET, KEY, docText(3, { 'ap-northeast-2': { status: 'down' } }));
  const mod = coldStart(shortTtl);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '3:0' });
  await s3.put(BUCKET, KEY, `${'['.repeat(10_000)}${']'.repeat(9_999)}`);
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '3:0' });
  await sleep(400);
  await invoke(mod);
  expect(logs('doc-refresh-failed')).toEqual([]);
  expect(logs('doc-rejected')).toEqual([
    expect.objectContaining({ errors: ['$: nested deeper than 64 arrays and objects (at character 65)'] }),
  ]);
  expect(s3.statuses(KEY)).toEqual([200, 200, 304]);
});

test('the document never goes backwards: a lower serial is refused (doc-regressed), a higher one taken', async () => {
  await s3.put(BUCKET, KEY, docText(11, { 'ap-northeast-2': { status: 'down' } }));
  const mod = coldStart(shortTtl);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '11:0' });
  // an old object restored (serial 5), then an all-down one (4): each refused, routing stays on 11
  for (const serial of [5, 4]) {
    await s3.put(BUCKET, KEY, docText(serial));
    await sleep(400);
    expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', reason: 'failover', doc: '11:0' });
  }
  await sleep(400);
  await invoke(mod); // the refused object is not downloaded again
  expect(logs('doc-regressed')).toEqual([
    expect.objectContaining({
      level: 'error',
      refused: expect.objectContaining({ serial: 5 }),
      serial: 11,
      kept: 'last-known-good',
    }),
    expect.objectContaining({ refused: expect.objectContaining({ serial: 4 }), serial: 11 }),
  ]);
  expect(s3.statuses(KEY)).toEqual([200, 200, 200, 304]);
  // the equal serial (the same document written again) and a higher one are taken
  await s3.put(BUCKET, KEY, docText(11, { 'ap-northeast-2': { status: 'down' } }));
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ doc: '11:0' });
  await s3.put(BUCKET, KEY, docText(12));
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ region: 'ap-northeast-2', doc: '12:0' });
});

test('a refused lower serial is counted as DocRegressions, the metric the infra alarms on', async () => {
  const mod = coldStart(shortTtl);
  const written: string[] = [];
  const telemetry = new mod.Telemetry({ runtime: 'test', write: (l: string) => written.push(l) });
  const config = configWith(source({ endpoint: s3.endpoint, ttlSeconds: 0.3, timeoutMs: 500 }));
  const src = config.healthDoc;
  if (!src) throw new Error('no healthDoc');
  const docs = new mod.DocCache({ config, fetch: mod.s3Fetcher(src), telemetry });
  await s3.put(BUCKET, KEY, docText(20));
  expect((await docs.current()).doc?.serial).toBe(20);
  await s3.put(BUCKET, KEY, docText(19));
  await sleep(400);
  expect((await docs.current()).doc?.serial).toBe(20);
  telemetry.flush();
  const emf = written.map((l) => JSON.parse(l)).filter((l) => l._aws);
  expect(emf.at(-1)).toMatchObject({ DocLoads: 1, DocRegressions: 1 });
});

test('store failing after a good load: the last known good, however old, flagged stale after maxStaleSeconds', async () => {
  await s3.put(BUCKET, KEY, docText(6, { 'ap-northeast-2': { status: 'down' } }));
  const mod = coldStart(shortTtl);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '6:0' });
  await s3.remove(BUCKET, KEY);
  await sleep(400);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', doc: '6:0' });
  await sleep(1000);
  expect(await invoke(mod)).toMatchObject({ region: 'us-east-1', reason: 'failover', doc: '6:1' });
  const failures = logs('doc-refresh-failed');
  expect(failures.length).toBeGreaterThanOrEqual(1);
  expect(failures[0]).toMatchObject({ kept: 'last-known-good', serial: 6 });
  expect(failures.at(-1)).toMatchObject({ stale: true });
});

describe('unreachable and stalled stores', () => {
  let stub: Server;
  let sockets: Socket[];
  let connections: number;

  beforeAll(async () => {
    sockets = [];
    // accepts connections and never answers
    stub = createServer((socket) => {
      connections++;
      sockets.push(socket);
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => stub.close(r));
  });

  beforeEach(() => {
    connections = 0;
  });

  test('S3 unreachable from the start (connection refused): routed at once on the defaults, then back-off', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const mod = coldStart(
      buildOriginRequest(configWith(source({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300 }))),
    );
    const started = performance.now();
    expect(await invoke(mod)).toMatchObject({
      domain: 'api.ap-northeast-2.example.com',
      reason: 'nearest',
      doc: 'none:0',
    });
    expect(performance.now() - started).toBeLessThan(300 + 200);
    for (let i = 0; i < 20; i++) await invoke(mod);
    // one attempt, then a back-off of a second: no retry on every request
    expect(logs('doc-refresh-failed')).toEqual([expect.objectContaining({ failures: 1, retryInMs: 1000 })]);
  });

  test('a stalled store holds a request at most timeoutMs, and one refresh is in flight at a time', async () => {
    const { port } = stub.address() as AddressInfo;
    const mod = coldStart(
      buildOriginRequest(configWith(source({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 200 }))),
    );
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 25 }, () => invoke(mod)));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(200 + 250);
    for (const r of results) expect(r).toMatchObject({ region: 'ap-northeast-2', doc: 'none:0' });
    // later requests during the same stalled refresh wait at most timeoutMs too, and start no new GET
    const again = performance.now();
    await invoke(mod);
    expect(performance.now() - again).toBeLessThan(200 + 250);
    expect(connections).toBe(1);
    // the stalled GET is abandoned at its deadline (5 × timeoutMs), and the next one waits for the back-off
    await sleep(1000 - (performance.now() - started) + 150);
    expect(logs('doc-refresh-failed')).toEqual([
      expect.objectContaining({
        error: expect.stringMatching(/no answer in 1000 ms|abort|Timeout/i),
        retryInMs: 1000,
      }),
    ]);
  });
});

describe('a body without Content-Length (an S3-compatible server, a proxy)', () => {
  let server: HttpServer;
  let sent: number;
  let closedAt: number;
  let mode: 'flood' | 'trickle';

  beforeAll(async () => {
    server = createHttpServer((_req, res) => {
      sent = 0;
      res.writeHead(200, { 'content-type': 'application/json', etag: '"big"' }); // chunked: no Content-Length
      res.on('close', () => {
        closedAt = performance.now();
      });
      if (mode === 'trickle') {
        res.write('{"version":1,');
        const t = setInterval(() => res.write(' '), 100);
        res.on('close', () => clearInterval(t));
        return;
      }
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (sent < 100 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.write('{"version":1,"x":"');
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const endpoint = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  test('a 100 MB body is refused once 256 KB are read: the rest is never downloaded', async () => {
    mode = 'flood';
    const mod = coldStart(buildOriginRequest(configWith(source({ endpoint: endpoint(), timeoutMs: 300 }))));
    expect(await invoke(mod)).toMatchObject({ region: 'ap-northeast-2', doc: 'none:0' });
    await sleep(100);
    expect(logs('doc-rejected')).toEqual([
      expect.objectContaining({
        etag: '"big"',
        errors: [expect.stringMatching(/^document is over \d+ bytes; the limit is 262144$/)],
      }),
    ]);
    // what the server got written before the connection closed: socket buffers, far from 100 MB
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  test('a body that trickles is abandoned at the refresh deadline (5 × timeoutMs), headers or not', async () => {
    mode = 'trickle';
    const mod = coldStart(buildOriginRequest(configWith(source({ endpoint: endpoint(), timeoutMs: 200 }))));
    const started = performance.now();
    expect(await invoke(mod)).toMatchObject({ region: 'ap-northeast-2', doc: 'none:0' });
    expect(performance.now() - started).toBeLessThan(200 + 250);
    await sleep(1300);
    expect(logs('doc-refresh-failed')).toEqual([
      expect.objectContaining({ error: expect.stringMatching(/no answer in 1000 ms/) }),
    ]);
    expect(closedAt - started).toBeLessThan(1000 + 250);
  });
});

test('signing keys come from the private object next to the document, fetched only for requests with a token', async () => {
  await s3.put(BUCKET, KEY, docText(12));
  await s3.put(BUCKET, 'keys.json', JSON.stringify(TEST_KEYS));
  const mod = coldStart(longTtl);
  const call = async (headers: Record<string, string>) => {
    const event = originRequest({ 'CloudFront-Viewer-Country': 'KR', ...headers });
    setClientIp(event, '198.51.100.20');
    const r = await mod.handler(event);
    return r.origin?.custom?.domainName;
  };
  expect(await call({})).toBe('api.ap-northeast-2.example.com');
  expect(s3.gets('keys.json')).toBe(0);
  const valid = mintToken(TEST_RING, 'staging', Math.floor(Date.now() / 1000) + 600, 'k1');
  for (let i = 0; i < 5; i++)
    expect(await call({ 'X-Route-To': 'staging', 'X-Route-Token': valid })).toBe('api.staging.example.com');
  expect(await call({ 'X-Route-To': 'staging', 'X-Route-Token': `${valid.slice(0, -1)}x` })).toBe(
    'api.ap-northeast-2.example.com',
  );
  expect(s3.gets('keys.json')).toBe(1);
  const loads = logs('keys-load');
  expect(loads).toEqual([expect.objectContaining({ keyIds: ['k1', 'k2', 'old (retired)'] })]);
  // the secrets never reach a log line
  for (const k of TEST_KEYS.keys) expect(lines.join('\n')).not.toContain(k.secret);
  await s3.remove(BUCKET, 'keys.json');
});

test('10,000 invocations within one TTL make exactly one S3 GET; metrics go out as one EMF line', async () => {
  await s3.put(BUCKET, KEY, docText(8, { 'eu-central-1': { dial: 30 } }));
  const mod = coldStart(longTtl);
  const countries = ['KR', 'DE', 'US', 'BR', 'GB'];
  for (let i = 0; i < 10000; i++) {
    const event = originRequest({ 'CloudFront-Viewer-Country': countries[i % countries.length] });
    setClientIp(event, `198.51.100.${i % 256}`);
    await mod.handler(event);
  }
  expect(s3.gets(KEY)).toBe(1);
  const emf = lines.map((l) => JSON.parse(l)).filter((l) => l._aws);
  expect(emf).toHaveLength(1);
  const m = emf[0];
  expect(m._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'EdgeRouter', Dimensions: [['Runtime']] });
  expect(m.Runtime).toBe('lambda-edge');
  expect(m.Decisions).toBe(10000);
  expect(m['Target.ap-northeast-2']).toBe(2000);
  expect(m['Target.sa-east-1']).toBe(2000);
  expect(m['Reason.nearest'] + m['Reason.dial-spill']).toBe(10000);
  expect(m['Reason.dial-spill']).toBeGreaterThan(0);
  // no per-request log lines: one doc load, sampled decisions at most once a second
  expect(lines.length).toBeLessThan(20);
});
