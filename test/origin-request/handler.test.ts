// The origin-request adapter on the real events of ../shared/fixtures: facts in, decision applied.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFrontRequest, CloudFrontRequestEvent } from 'aws-lambda';
import { applyDecision, createHandler, secondAttempt, toFacts } from '../../functions/origin-request/handler';
import { Telemetry } from '../../functions/origin-request/telemetry';
import { type HealthDoc, route } from '../../shared';
import { resolveOriginTimeouts } from '../../shared/origin-timeouts';
import { cookieNames } from '../../shared/pick';
import { retryDecision } from '../../shared/retry';
import { secondAttemptOrigin } from '../../shared/router';
import { FIXTURES, loadEvent, originRequest, setClientIp } from '../helpers/fixtures';
import { affinity, NOW, TEST_KEYS } from '../helpers/keys';
import { docWith, exampleConfig, exampleRouter } from '../helpers/load';

const router = exampleRouter();
const request = (e: CloudFrontRequestEvent) => e.Records[0].cf.request;

function harness(doc: HealthDoc | null = docWith(), stale = false) {
  const lines: string[] = [];
  const telemetry = new Telemetry({ runtime: 'test', write: (l) => lines.push(l) });
  const handler = createHandler({
    router,
    telemetry,
    docs: { current: async () => ({ doc, stale, ageMs: 0 }) },
  });
  return { handler, lines };
}

describe('toFacts', () => {
  test('country, latitude/longitude, IP and cookies from the CloudFront headers', () => {
    const e = originRequest({
      'CloudFront-Viewer-Country': 'KR',
      'CloudFront-Viewer-Latitude': '37.56600',
      'CloudFront-Viewer-Longitude': '126.97800',
      'CloudFront-Viewer-Address': '211.234.10.10:47812',
    });
    request(e).headers.cookie = [
      { key: 'Cookie', value: 'session=abc; route_to=staging' },
      { key: 'Cookie', value: 'theme=dark' },
    ];
    setClientIp(e, '211.234.10.10');
    const f = toFacts(request(e), 1000);
    expect(f).toMatchObject({ country: 'KR', lat: 37.566, lon: 126.978, ip: '211.234.10.10', now: 1000 });
    expect(f.cookies).toEqual({ session: 'abc', route_to: 'staging', theme: 'dark' });
    expect(f.headers?.['user-agent']).toBe('Amazon CloudFront');
  });

  test("the viewer's IP is clientIp, never a header a viewer can send (CloudFront-Viewer-Address)", () => {
    const e = originRequest({ 'CloudFront-Viewer-Address': '10.8.1.1:443', 'x-route-to': 'staging' });
    setClientIp(e, '2001:db8::1');
    expect(toFacts(request(e), 0).ip).toBe('2001:db8::1');
  });

  test('bounded cookies: only the names routing reads, from at most 32 KB of the Cookie header', () => {
    const names = cookieNames(router);
    expect(names).toEqual(['route_to', 'route_affinity', undefined]);
    const e = originRequest();
    const many = Array.from({ length: 2000 }, (_, i) => `c${i}=${i}`).join('; ');
    request(e).headers.cookie = [{ key: 'Cookie', value: `${many}; route_to=staging; route_to=qa` }];
    // 2,000 cookies before it (about CloudFront's 20 KB): the last route_to is read, none of the others kept
    expect(many.length).toBeLessThan(32 * 1024);
    expect(toFacts(request(e), 0, names).cookies).toEqual({ route_to: 'qa' });
    // past 32 KB of the header, nothing more is read (CloudFront never passes a request that long)
    request(e).headers.cookie = [
      { key: 'Cookie', value: `pad=${'x'.repeat(32 * 1024)}` },
      { key: 'Cookie', value: 'route_to=staging' },
    ];
    expect(toFacts(request(e), 0, names).cookies).toEqual({});
    // without names (the local edge's replay), every cookie
    request(e).headers.cookie = [{ key: 'Cookie', value: 'a=1; route_to=staging' }];
    expect(toFacts(request(e), 0).cookies).toEqual({ a: '1', route_to: 'staging' });
  });

  test('an unparseable latitude is ignored, not NaN', () => {
    const e = originRequest({ 'CloudFront-Viewer-Latitude': 'north', 'CloudFront-Viewer-Longitude': '12' });
    expect(toFacts(request(e), 0)).toMatchObject({ lat: undefined, lon: 12 });
  });
});

describe("an origin group's second attempt (CloudFront invokes the function again for the second origin)", () => {
  const second = (headers: Record<string, string> = {}) => {
    const e = originRequest({ 'CloudFront-Viewer-Country': 'KR', ...headers });
    request(e).origin = { custom: secondAttemptOrigin(exampleConfig()) } as CloudFrontRequest['origin'];
    return e;
  };

  test('on the AWS fixture: the retry target, reason failover, never the region that failed', async () => {
    const { handler } = harness();
    const first = await handler(originRequest({ 'CloudFront-Viewer-Country': 'KR' }));
    expect(first.headers['x-route-region'][0].value).toBe('ap-northeast-2');
    // the request as the first invocation left it, pointed at the group's second origin
    const e = second();
    request(e).headers = { ...structuredClone(first.headers) };
    const r = await handler(e);
    expect(r.headers['x-route-region'][0].value).toBe('us-east-1');
    expect(r.headers['x-route-reason'][0].value).toBe('failover');
    expect(r.origin?.custom?.domainName).toBe('api.us-east-1.example.com');
    expect(r.headers.host[0].value).toBe('api.us-east-1.example.com');
  });

  test("without the first attempt's headers, the decision made again is the one retried", async () => {
    const r = await harness().handler(second());
    expect(r.headers['x-route-region'][0].value).toBe('us-east-1');
  });

  test('a first request without the marker is a first attempt, whatever x-route-region a viewer sends', async () => {
    const r = await harness().handler(
      originRequest({ 'CloudFront-Viewer-Country': 'KR', 'x-route-region': 'ap-northeast-2' }),
    );
    expect(r.headers['x-route-region'][0].value).toBe('ap-northeast-2');
    expect(secondAttempt(request(originRequest()))).toBeUndefined();
  });

  test.each([
    [
      'the failed region: its retry target',
      { target: 'ap-northeast-2', canary: false },
      'region',
      'us-east-1',
      'failover',
    ],
    [
      "a canary that failed: its region's stable origin",
      { target: 'ap-northeast-2', canary: true },
      'canary',
      'ap-northeast-2',
      'failover',
    ],
    [
      'a decision that already avoids it stands',
      { target: 'eu-central-1', canary: false },
      'region',
      'ap-northeast-2',
      'nearest',
    ],
  ] as const)('retryDecision: %s', (_, failed, kind, target, reason) => {
    const base = route({ country: 'KR' }, docWith(), router);
    const d = kind === 'canary' ? ({ ...base, reason: 'canary', next: base.target } as typeof base) : base;
    const r = retryDecision(d, failed);
    expect([r.target.id, r.reason]).toEqual([target, reason]);
    if (r !== d) expect(r.setAffinity).toBeUndefined();
  });
});

describe('applyDecision', () => {
  const decision = route({ country: 'KR' }, docWith({ 'ap-northeast-2': { status: 'down' } }), router);

  test('rewrites the custom origin, keeps its TLS and timeouts, and sets Host', () => {
    const e = originRequest({ 'CloudFront-Viewer-Country': 'KR' });
    const before = structuredClone(request(e));
    applyDecision(request(e), decision, router);
    expect(request(e).origin?.custom).toEqual({
      ...before.origin?.custom,
      domainName: 'api.us-east-1.example.com',
      port: 443,
      protocol: 'https',
      path: '',
    });
    expect(request(e).headers.host).toEqual([{ key: 'Host', value: 'api.us-east-1.example.com' }]);
    expect(request(e).headers['x-route-region']).toEqual([{ key: 'X-Route-Region', value: 'us-east-1' }]);
    expect(request(e).headers['x-route-reason']).toEqual([{ key: 'X-Route-Reason', value: 'failover' }]);
    expect(request(e).headers['x-route-decision']).toEqual([
      { key: 'X-Route-Decision', value: 'target=us-east-1; reason=failover; doc=7; stale=0' },
    ]);
    expect(request(e).headers['x-route-authorised']).toBeUndefined();
  });

  describe('the read timeout of each attempt (originGroups: perTryTimeoutSeconds for a first attempt that can be retried)', () => {
    const grouped = resolveOriginTimeouts({ originGroups: {} });
    const plain = resolveOriginTimeouts({});
    const single = route({ country: 'KR' }, docWith(), router);
    const lone = { ...single, next: undefined };
    test.each([
      ['GET with a retry target, first attempt', 'GET', single, grouped, false, 1],
      ['HEAD with a retry target, first attempt', 'HEAD', single, grouped, false, 1],
      ['OPTIONS with a retry target, first attempt', 'OPTIONS', single, grouped, false, 1],
      ['GET, the second attempt', 'GET', single, grouped, true, 10],
      ['POST (never sent again)', 'POST', single, grouped, false, 10],
      ['PUT (never sent again)', 'PUT', single, grouped, false, 10],
      ['GET without a retry target', 'GET', lone, grouped, false, 10],
      ['GET without originGroups', 'GET', single, plain, false, 30],
    ])('%s', (_, method, d, timeouts, second, readTimeout) => {
      expect(single.next).toBeDefined();
      const e = originRequest({ 'CloudFront-Viewer-Country': 'KR' });
      (request(e) as { method: string }).method = method;
      applyDecision(request(e), d, router, timeouts, second);
      expect(request(e).origin?.custom?.readTimeout).toBe(readTimeout);
    });
    test('the per-try timeout is never longer than the read timeout, and a config sets it', () => {
      expect(grouped).toMatchObject({ readTimeoutSeconds: 10, perTryTimeoutSeconds: 1 });
      expect(plain.perTryTimeoutSeconds).toBeUndefined();
      expect(
        resolveOriginTimeouts({ originGroups: {}, originTimeouts: { perTryTimeoutSeconds: 3 } }),
      ).toMatchObject({
        readTimeoutSeconds: 10,
        perTryTimeoutSeconds: 3,
      });
      expect(
        resolveOriginTimeouts({ originGroups: {}, originTimeouts: { readTimeoutSeconds: 1 } })
          .perTryTimeoutSeconds,
      ).toBe(1);
    });
  });

  test('an S3 origin becomes a custom origin, its custom headers kept', () => {
    const e = originRequest();
    request(e).origin = {
      s3: {
        authMethod: 'origin-access-identity',
        customHeaders: { 'x-origin-secret': [{ key: 'X-Origin-Secret', value: 's' }] },
        domainName: 'bucket.s3.amazonaws.com',
        path: '',
        region: 'us-east-1',
      },
    };
    applyDecision(request(e), decision, router);
    expect(request(e).origin).toEqual({
      custom: {
        customHeaders: { 'x-origin-secret': [{ key: 'X-Origin-Secret', value: 's' }] },
        domainName: 'api.us-east-1.example.com',
        keepaliveTimeout: 5,
        path: '',
        port: 443,
        protocol: 'https',
        readTimeout: 30,
        sslProtocols: ['TLSv1.2'],
      },
    });
  });

  test('viewer-sent x-route-* headers are removed; nothing else but Host is touched', () => {
    const e = originRequest({
      'X-Route-Region': 'evil',
      'X-Route-Reason': 'trust-me',
      'X-Route-To': 'staging',
    });
    const before = structuredClone(request(e).headers);
    applyDecision(request(e), decision, router);
    const after = request(e).headers;
    expect(after['x-route-to']).toBeUndefined();
    expect(after['x-route-region']?.[0].value).toBe('us-east-1');
    for (const name of Object.keys(before)) {
      if (name === 'host' || name.startsWith('x-route-')) continue;
      expect(after[name]).toEqual(before[name]);
    }
  });

  test('a stale document is said in X-Route-Decision', () => {
    const e = originRequest();
    applyDecision(request(e), route({ country: 'KR' }, docWith(), router, { stale: true }), router);
    expect(request(e).headers['x-route-decision']?.[0].value).toBe(
      'target=ap-northeast-2; reason=nearest; doc=7; stale=1',
    );
  });
});

describe('handler', () => {
  test('the AWS docs origin-request example from Korea goes to Seoul', async () => {
    const { handler, lines } = harness();
    const r = await handler(originRequest({ 'CloudFront-Viewer-Country': 'KR' }));
    expect(r.origin?.custom?.domainName).toBe('api.ap-northeast-2.example.com');
    expect(r.headers.host[0].value).toBe('api.ap-northeast-2.example.com');
    expect(lines).toEqual([]); // no per-request log on the happy path
  });

  const samEvents = readdirSync(join(FIXTURES, 'sam-cli'));
  test.each(samEvents)(
    'SAM CLI sample %s (no origin object): given a whole custom origin and routed',
    async (file) => {
      const { handler, lines } = harness();
      const event = loadEvent(join('sam-cli', file));
      const cf = event.Records[0].cf;
      const r = (await handler(event)) as CloudFrontRequest | undefined;
      if (!cf.request) {
        expect(r).toBeUndefined();
        expect(lines.map((l) => JSON.parse(l).event)).toContain('bad-event');
        return;
      }
      expect(r).toBe(cf.request);
      const target = r?.headers['x-route-region']?.[0].value as string;
      const o = exampleConfig().regions[target]?.origin ?? exampleConfig().environments?.[target]?.origin;
      expect(o).toBeDefined();
      // every field CloudFront requires of a custom origin, from the config
      expect(r?.origin).toEqual({
        custom: {
          customHeaders: {},
          domainName: o?.domainName,
          keepaliveTimeout: 5,
          path: o?.path ?? '',
          port: o?.port ?? 443,
          protocol: o?.protocol ?? 'https',
          readTimeout: 30,
          sslProtocols: ['TLSv1.2'],
        },
      });
      expect(r?.headers.host).toEqual([{ key: 'Host', value: o?.domainName }]);
      expect(lines.map((l) => JSON.parse(l).event)).toContain('no-origin');
    },
  );

  test.each([[{}], [{ Records: [] }], [null], [{ Records: [{ cf: {} }] }]])(
    'a malformed event %j does not throw',
    async (event) => {
      const { handler, lines } = harness();
      await expect(handler(event as unknown as CloudFrontRequestEvent)).resolves.toBeUndefined();
      expect(JSON.parse(lines[0])).toMatchObject({ level: 'error', event: 'bad-event' });
    },
  );

  test('a failing doc source fails open to the fallback region with reason error, and logs it', async () => {
    const lines: string[] = [];
    const telemetry = new Telemetry({ runtime: 'test', write: (l) => lines.push(l) });
    const handler = createHandler({
      router,
      telemetry,
      docs: {
        current: async () => {
          throw new Error('store exploded');
        },
      },
    });
    const r = await handler(originRequest({ 'CloudFront-Viewer-Country': 'KR' }));
    expect(r.origin?.custom?.domainName).toBe('api.us-east-1.example.com');
    expect(r.headers['x-route-reason'][0].value).toBe('error');
    expect(JSON.parse(lines[0])).toMatchObject({
      event: 'decision',
      reason: 'error',
      error: 'store exploded',
    });
  });
});

describe('region affinity in the Lambda@Edge handler', () => {
  function withKeys(now: number) {
    const lines: string[] = [];
    const telemetry = new Telemetry({ runtime: 'test', write: (l) => lines.push(l), flushMs: 0 });
    const handler = createHandler({
      router,
      telemetry,
      docs: { current: async () => ({ doc: docWith(), stale: false, ageMs: 0 }) },
      keys: { current: async () => ({ doc: TEST_KEYS, stale: false, ageMs: 0 }) },
      now: () => now,
    });
    const metrics = () =>
      lines
        .map((l) => JSON.parse(l))
        .filter((l) => l._aws)
        .reduce((all, l) => Object.assign(all, l), {} as Record<string, unknown>);
    return { handler, lines, metrics };
  }

  test('a write signs the cookie for the response side, and the affinity cookie never reaches the origin', async () => {
    const { handler, metrics } = withKeys(NOW);
    const e = originRequest({ 'CloudFront-Viewer-Country': 'US' });
    Object.assign(request(e), { method: 'POST' });
    request(e).headers.cookie = [
      { key: 'Cookie', value: `session=abc; route_affinity=${affinity('ap-northeast-2')}; theme=dark` },
    ];
    const r = await handler(e);
    expect(r.headers['x-route-reason']).toEqual([{ key: 'X-Route-Reason', value: 'affinity' }]);
    expect(r.headers['x-route-affinity']?.[0].value).toMatch(/^ea1\.k2\.ap-northeast-2\./);
    expect(r.headers.cookie).toEqual([{ key: 'Cookie', value: 'session=abc; theme=dark' }]);
    expect(metrics()).toMatchObject({ 'Reason.affinity': 1, AffinityHonoured: 1, AffinityIssued: 1 });
  });

  test('an ignored cookie is counted by cause and logged (sampled), and a read issues none', async () => {
    const { handler, lines, metrics } = withKeys(NOW);
    const e = originRequest({ 'CloudFront-Viewer-Country': 'US' });
    request(e).headers.cookie = [
      { key: 'Cookie', value: `route_affinity=${affinity('ap-northeast-2', -5)}` },
    ];
    const r = await handler(e);
    expect(r.headers['x-route-affinity']).toBeUndefined();
    expect(metrics()).toMatchObject({ 'Reason.nearest': 1, 'AffinityIgnored.expired': 1 });
    expect(metrics()).not.toHaveProperty('AffinityIssued');
    expect(lines.map((l) => JSON.parse(l)).find((l) => l.event === 'affinity-ignored')).toMatchObject({
      from: 'cookie',
      cause: 'expired',
    });
  });
});
