// The built Lambda@Edge bundle on Node.js 22, the runtime it deploys on (nodejs22.x), while jest and every npm
// script stay on the system Node. Each case runs the bundle in a Node 22 child process (test/helpers/node22.ts),
// which reads the health document and the signing keys from this jest process's s3rver over loopback.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFrontResponseEvent } from 'aws-lambda';
import { compiledRouter } from '../shared/router';
import { buildOriginRequest, configWith, DIST_ORIGIN_REQUEST } from './helpers/bundle';
import { loadEvent, originRequest } from './helpers/fixtures';
import { TEST_KEYS } from './helpers/keys';
import { docWith, ROOT } from './helpers/load';
import { NODE22, type Node22Job, node22Missing, runOnNode22 } from './helpers/node22';
import { type LocalS3, startS3 } from './helpers/s3';

const BUCKET = 'edge-router-health';
const KEY = 'health.json';
const SERIAL = 22;

let s3: LocalS3;
let source: Record<string, unknown>;

/** The real origin-response fixture, with an origin that echoes a routing header back (the function removes it). */
function response(): CloudFrontResponseEvent {
  const e = loadEvent<CloudFrontResponseEvent>('lambda-edge/lambda-edge-origin-response.json');
  e.Records[0].cf.response.headers['x-route-region'] = [{ key: 'X-Route-Region', value: 'echoed' }];
  return e;
}

/** A GET and a POST (a write: the response sets the affinity cookie) from Korea, on the real fixtures. */
function exchanges(): Node22Job['exchanges'] {
  const post = originRequest({ 'CloudFront-Viewer-Country': 'KR' });
  (post.Records[0].cf.request as { method: string }).method = 'POST';
  return [
    { request: originRequest({ 'CloudFront-Viewer-Country': 'KR' }), response: response() },
    { request: post, response: response() },
  ];
}

const header = (r: any, name: string) => r.headers[name]?.[0]?.value;

/** What the document routes Korea to: Seoul is down in it, so the failover region, us-east-1. */
function expectFailedOver(sent: any) {
  expect(sent.origin.custom.domainName).toBe('api.us-east-1.example.com');
  expect(header(sent, 'host')).toBe('api.us-east-1.example.com');
  expect(header(sent, 'x-route-region')).toBe('us-east-1');
  expect(header(sent, 'x-route-reason')).toBe('failover');
  expect(header(sent, 'x-route-decision')).toMatch(new RegExp(`doc=${SERIAL}; stale=0`));
}

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  await s3.put(BUCKET, KEY, JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, SERIAL)));
  await s3.put(BUCKET, 'keys.json', JSON.stringify(TEST_KEYS));
  source = {
    bucket: BUCKET,
    key: KEY,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    ttlSeconds: 3600,
    timeoutMs: 2000,
  };
});

afterAll(async () => {
  await s3?.close();
});

beforeEach(() => {
  s3.resetCounts();
});

test('the Node 22 binary is there, and npm scripts keep the system Node (no `node` in node_modules/.bin)', () => {
  expect(node22Missing()).toBeUndefined();
  // a `node` bin linked there would come first on every npm script's PATH: tsc, jest and the build would run on 22
  expect(existsSync(join(ROOT, 'node_modules', '.bin', 'node'))).toBe(false);
});

test("npm run build's bundle loads cold on Node 22, with its exports and nothing on stderr", async () => {
  const { ran, report } = await runOnNode22({ bundle: DIST_ORIGIN_REQUEST, exchanges: [] });
  expect(ran).toMatchObject({ code: 0, stderr: '' });
  expect(report?.version).toMatch(/^v22\./);
  expect(report?.execPath).toBe(NODE22);
  for (const name of ['handler', 'createEdge', 'DocCache', 'KeysCache', 's3Fetcher', 'Telemetry'])
    expect(report?.exports[name]).toBe('function');
  // loading alone reads nothing: the baked config's bucket is never asked for
  expect(report?.logs).toEqual([]);
});

test("npm run build's bundle on Node 22 routes the real origin-request and origin-response events, on the document and keys from s3rver", async () => {
  const { ran, report } = await runOnNode22({
    bundle: DIST_ORIGIN_REQUEST,
    parts: { config: configWith(source), compiled: compiledRouter(configWith(source)), keysKey: 'keys.json' },
    exchanges: exchanges(),
  });
  expect(ran).toMatchObject({ code: 0, stderr: '' });
  expect(report?.version).toMatch(/^v22\./);
  const [get, post] = report?.exchanges ?? [];
  expectFailedOver(get.sent);
  expectFailedOver(post.sent);
  // origin-response: the echoed routing header removed; the write's affinity value, signed with the keys from
  // s3rver, set as the cookie
  expect(get.answered.status).toBe('200');
  expect(get.answered.headers['x-route-region']).toBeUndefined();
  expect(get.answered.headers['set-cookie']).toBeUndefined();
  const affinity = header(post.sent, 'x-route-affinity');
  expect(affinity).toEqual(expect.any(String));
  expect(post.answered.headers['set-cookie']).toEqual([
    {
      key: 'Set-Cookie',
      value: expect.stringMatching(new RegExp(`^route_affinity=${affinity}; Max-Age=300;`)),
    },
  ]);
  expect(s3.statuses(KEY)).toEqual([200]);
  expect(s3.statuses('keys.json')).toEqual([200]);
  expect(report?.logs.map((l) => JSON.parse(l).event)).toEqual(
    expect.arrayContaining(['doc-load', 'keys-load']),
  );
});

test('the deployed handler on Node 22: a bundle whose baked healthDoc.endpoint is s3rver routes both events', async () => {
  const { ran, report } = await runOnNode22({
    bundle: buildOriginRequest(configWith(source)),
    exchanges: exchanges(),
  });
  expect(ran).toMatchObject({ code: 0, stderr: '' });
  expect(report?.version).toMatch(/^v22\./);
  const [get, post] = report?.exchanges ?? [];
  expectFailedOver(get.sent);
  expectFailedOver(post.sent);
  expect(get.answered.headers['x-route-region']).toBeUndefined();
  expect(post.answered.headers['set-cookie']?.[0]?.value).toMatch(/^route_affinity=/);
  expect(s3.statuses(KEY)).toEqual([200]);
  expect(s3.statuses('keys.json')).toEqual([200]);
});

test('the deployed handler on Node 22 in Sydney reads its document from the replica there (healthDoc.replicas), not the primary', async () => {
  const replica = await startS3(['edge-router-health-syd']);
  try {
    // the replica's copy differs from the primary's (a later serial, Seoul up) so that the decision tells them apart
    await replica.put('edge-router-health-syd', KEY, JSON.stringify(docWith({}, SERIAL + 1)));
    await replica.put('edge-router-health-syd', 'keys.json', JSON.stringify(TEST_KEYS));
    const replicas = [
      { region: 'ap-southeast-2', bucket: 'edge-router-health-syd', endpoint: replica.endpoint },
    ];
    const { ran, report } = await runOnNode22(
      { bundle: buildOriginRequest(configWith({ ...source, replicas })), exchanges: exchanges().slice(0, 1) },
      'ap-southeast-2',
    );
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    const sent = report?.exchanges[0]?.sent;
    expect(header(sent, 'x-route-region')).toBe('ap-northeast-2');
    expect(header(sent, 'x-route-decision')).toMatch(new RegExp(`doc=${SERIAL + 1}; stale=0`));
    const load = report?.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'doc-load');
    expect(load?.source).toBe('ap-southeast-2');
    expect(replica.statuses(KEY)).toEqual([200]);
  } finally {
    await replica.close();
  }
});

test("package.json's engines are the versions the README's Quickstart states, and both Nodes the tests run on are in them", () => {
  const { engines } = require(join(ROOT, 'package.json')) as { engines: { node: string } };
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  expect(readme).toContain(`(\`engines\`: \`${engines.node}\`)`);
  // each `^X.Y.Z` alternative: same major, at least that minor.patch
  const inRange = (v: string) =>
    engines.node.split('||').some((alt) => {
      const [maj, min, pat] = alt.trim().replace('^', '').split('.').map(Number);
      const [M, m, p] = v.replace('v', '').split('.').map(Number);
      return M === maj && (m > min || (m === min && p >= pat));
    });
  expect(inRange(process.version)).toBe(true);
  const v22 = execFileSync(NODE22, ['--version'], { encoding: 'utf8' }).trim();
  expect(v22).toMatch(/^v22\./);
  expect(inRange(v22)).toBe(true);
  expect(inRange('v18.20.0')).toBe(false);
});
