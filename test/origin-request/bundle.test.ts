// The deployable artefact: dist/origin-request/index.js, built by `npm run build` from router.config.json.
import type { CloudFrontHeaders, CloudFrontRequestEvent, CloudFrontResponseEvent } from 'aws-lambda';
import fc from 'fast-check';
import { type HealthDoc, parseRouterConfig, type RouterConfig } from '../../shared';
import { CASES, docFor, outcome } from '../contract/cases';
import { bundledRouter, coldStart, DIST_ORIGIN_REQUEST, type OriginRequestModule } from '../helpers/bundle';
import { loadEvent, originRequest, setClientIp } from '../helpers/fixtures';
import { TEST_KEYS } from '../helpers/keys';
import { docWith, exampleConfig, ROOT, readJson } from '../helpers/load';

const config = exampleConfig();
const domains = new Set(
  [...Object.values(config.regions), ...Object.values(config.environments ?? {})].map(
    (t) => t.origin.domainName,
  ),
);

/** The bundle's own handler factory, fed a fixed document and the test keys: the same code that deploys, minus S3. */
function withDoc(mod: OriginRequestModule, doc: HealthDoc | null, now?: number) {
  const telemetry = new mod.Telemetry({ runtime: 'test', write: () => {} });
  return mod.createHandler({
    router: bundledRouter(mod, config),
    telemetry,
    docs: { current: async () => ({ doc, stale: false, ageMs: 0 }) },
    keys: { current: async () => ({ doc: TEST_KEYS, stale: false, ageMs: 0 }) },
    now: now === undefined ? undefined : () => now,
  });
}

describe('acceptance: require("./dist/origin-request/index.js").handler(event)', () => {
  let mod: OriginRequestModule;
  beforeAll(() => {
    // no credentials in this environment: the S3 client fails before any network call, as when S3 is unreachable
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    jest.spyOn(console, 'log').mockImplementation(() => {});
    mod = coldStart(DIST_ORIGIN_REQUEST);
  });
  afterAll(() => jest.restoreAllMocks());

  test('the baked config is router.config.json, validated', () => {
    const parsed = parseRouterConfig(readJson(`${ROOT}/router.config.json`));
    expect(parsed.success).toBe(true);
  });

  test('the AWS docs example with CloudFront-Viewer-Country: KR goes to Seoul: origin and Host', async () => {
    const started = performance.now();
    const r = await mod.handler(originRequest({ 'CloudFront-Viewer-Country': 'KR' }));
    expect(r.origin?.custom?.domainName).toBe('api.ap-northeast-2.example.com');
    expect(r.headers.host).toEqual([{ key: 'Host', value: 'api.ap-northeast-2.example.com' }]);
    // with the store unreachable, within timeoutMs (300 in router.config.json) plus a margin
    expect(performance.now() - started).toBeLessThan(300 + 200);
  });
});

describe('contract table: the Lambda@Edge bundle', () => {
  const mod = coldStart(DIST_ORIGIN_REQUEST);
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const headers: Record<string, string> = {};
    if (c.facts.country !== undefined) headers['CloudFront-Viewer-Country'] = c.facts.country;
    if (c.facts.lat !== undefined) headers['CloudFront-Viewer-Latitude'] = String(c.facts.lat);
    if (c.facts.lon !== undefined) headers['CloudFront-Viewer-Longitude'] = String(c.facts.lon);
    for (const [name, value] of Object.entries(c.facts.headers ?? {})) headers[name] = value;
    const cookies = Object.entries(c.facts.cookies ?? {}).map(([k, v]) => `${k}=${v}`);
    if (cookies.length) headers.Cookie = cookies.join('; ');
    const event = originRequest(headers);
    if (c.facts.ip !== undefined) setClientIp(event, c.facts.ip);
    if (c.facts.method !== undefined) Object.assign(event.Records[0].cf.request, { method: c.facts.method });
    const r = await withDoc(mod, docFor(c), c.facts.now)(event);
    expect(
      outcome(
        r.headers['x-route-region'][0].value,
        r.headers['x-route-reason'][0].value,
        r.headers['x-route-affinity']?.[0]?.value,
      ),
    ).toEqual(c.expect);
    const region = config.regions[c.expect.target];
    const origin =
      c.expect.reason === 'canary'
        ? region?.canaryOrigin
        : (region ?? config.environments?.[c.expect.target])?.origin;
    expect(r.origin?.custom?.domainName).toBe(origin?.domainName);
  });
});

describe('properties of the bundle', () => {
  const mod = coldStart(DIST_ORIGIN_REQUEST);
  const handler = withDoc(mod, docWith({ 'eu-central-1': { dial: 50 }, 'sa-east-1': { status: 'down' } }));

  const headerArb: fc.Arbitrary<CloudFrontHeaders> = fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        'cloudfront-viewer-country',
        'cloudfront-viewer-latitude',
        'cloudfront-viewer-longitude',
        'cloudfront-viewer-address',
        'cookie',
        'host',
        'x-route-token',
        'x-route-region',
        'x-route-to',
        'connection',
        'x-forwarded-proto',
        'x-real-ip',
        'via',
        'content-length',
        'x-amz-cf-id',
        'x-edge-location',
      ),
      fc.string(),
    ),
    fc.array(
      fc.record({
        key: fc.string(),
        value: fc.oneof(fc.string(), fc.constantFrom('KR', 'DE', '37.5', '1.2.3.4:80')),
      }),
      {
        maxLength: 3,
      },
    ),
  ) as fc.Arbitrary<CloudFrontHeaders>;

  test('arbitrary headers and viewer values: no throw, only host and x-route-* change, a configured domain', async () => {
    await fc.assert(
      fc.asyncProperty(headerArb, fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), async (headers, clientIp) => {
        const event: CloudFrontRequestEvent = originRequest();
        const req = event.Records[0].cf.request;
        req.headers = structuredClone(headers);
        setClientIp(event, clientIp);
        const r = await handler(event);
        expect(domains.has(r.origin?.custom?.domainName ?? '')).toBe(true);
        expect(r.headers.host[0].value).toBe(r.origin?.custom?.domainName);
        for (const name of new Set([...Object.keys(headers), ...Object.keys(r.headers)])) {
          if (name === 'host' || name.startsWith('x-route-')) continue;
          if (name === 'cookie') {
            // only route_to= parts may go: what is left is what was there, in order
            const parts = (h?: { value: string }[]) =>
              (h ?? []).flatMap((c) => c.value.split(';').map((p) => p.trim()));
            const notOurs = (p: string) => p.split('=')[0].trim() !== 'route_to';
            expect(parts(r.headers.cookie).filter((p) => p !== '')).toEqual(
              parts(headers.cookie).filter((p) => p !== '' && notOurs(p)),
            );
            continue;
          }
          expect(r.headers[name]).toEqual(headers[name]);
        }
        const ours = Object.keys(r.headers).filter((n) => n.startsWith('x-route-'));
        expect(ours.sort()).toEqual(['x-route-decision', 'x-route-reason', 'x-route-region']);
      }),
      { numRuns: 300 },
    );
  });
});

test('the config the tests compare against is the one baked into dist', () => {
  const baked = readJson<RouterConfig>(`${ROOT}/router.config.json`);
  expect(Object.keys(baked.regions)).toEqual(Object.keys(config.regions));
});

describe('acceptance: the client chooses, only when authorised (origin-request, then origin-response)', () => {
  const mod = coldStart(DIST_ORIGIN_REQUEST);
  const response = require(
    `${ROOT}/dist/origin-response/index.js`,
  ) as typeof import('../../functions/origin-response/index');
  const now = Date.now();

  async function roundTrip(ip: string, headers: Record<string, string>) {
    const event = originRequest({ 'CloudFront-Viewer-Country': 'KR', ...headers });
    setClientIp(event, ip);
    const sent = await withDoc(mod, docWith(), now)(event);
    const re = loadEvent<CloudFrontResponseEvent>('lambda-edge/lambda-edge-origin-response.json');
    (re.Records[0].cf as { request: unknown }).request = sent;
    const res = await response.handler(re);
    return { sent, res };
  }

  test('from an IP in allowCidrs, x-route-to: staging reaches staging, and the response shows the decision', async () => {
    const { sent, res } = await roundTrip('10.8.200.1', { 'X-Route-To': 'staging' });
    expect(sent.origin?.custom?.domainName).toBe('api.staging.example.com');
    expect(sent.headers.host[0].value).toBe('api.staging.example.com');
    expect(sent.headers['x-route-to']).toBeUndefined();
    expect(res.headers['x-route-decision'][0].value).toMatch(
      /^target=staging; reason=override; doc=7; stale=0$/,
    );
  });

  test('from any other IP it does not, and the response carries no trace', async () => {
    const { sent, res } = await roundTrip('198.51.100.7', {
      'X-Route-To': 'staging',
      'X-Route-Authorised': '1',
    });
    expect(sent.origin?.custom?.domainName).toBe('api.ap-northeast-2.example.com');
    expect(Object.keys(res.headers).filter((h) => h.startsWith('x-route-'))).toEqual([]);
  });

  test('the token and the route_to cookie never reach the origin', async () => {
    const { sent } = await roundTrip('10.8.200.1', {
      Cookie: 'a=1; route_to=staging; b=2',
      'X-Route-Token': 'er1.x',
    });
    expect(sent.headers.cookie).toEqual([{ key: 'Cookie', value: 'a=1; b=2' }]);
    expect(sent.headers['x-route-token']).toBeUndefined();
    expect(sent.origin?.custom?.domainName).toBe('api.staging.example.com');
  });
});
