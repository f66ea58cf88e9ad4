// Passive health in the Lambda@Edge function (functions/origin-request/passive-health.ts and its wiring in the
// built bundle): which responses count, an ejection planned as down with the trace saying so, the canary's own
// detector, the document's word, and the one function handling both events on a real CloudFront event.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFrontRequestEvent, CloudFrontResponseEvent } from 'aws-lambda';
import { PassiveHealth, responseSeen } from '../../functions/origin-request/passive-health';
import { compileRouter, pick, plan, type RouterConfig } from '../../shared';
import { DEFAULT_OUTLIER } from '../../shared/outlier';
import { secondAttemptOrigin } from '../../shared/router';
import { buildBundles, bundledRouter, coldStart } from '../helpers/bundle';
import { docWith, exampleConfig } from '../helpers/load';

const FIXTURES = join(__dirname, '../../../shared/fixtures/events/lambda-edge');
const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

const grouped = { failoverStatusCodes: [500, 502, 503, 504] };
const sent = (region: string, extra: Record<string, string> = {}, method = 'GET') => ({
  method,
  headers: Object.fromEntries(
    Object.entries({ 'x-route-region': region, 'x-route-reason': 'nearest', ...extra }).map(([k, v]) => [
      k,
      [{ key: k, value: v }],
    ]),
  ),
});

describe('which origin-responses count', () => {
  test.each<[string, ReturnType<typeof sent>, number, typeof grouped | undefined, unknown]>([
    ['a 200: a success', sent('ap-northeast-2'), 200, grouped, { failed: false }],
    ['a 404: a success (Envoy counts 5xx)', sent('ap-northeast-2'), 404, grouped, { failed: false }],
    ['a 503 to a GET without groups: a failure', sent('ap-northeast-2'), 503, undefined, { failed: true }],
    // CloudFront fails it over, and invokes origin-request again, which counts it: not twice
    [
      'a 503 to a GET with groups: left to the second attempt',
      sent('ap-northeast-2'),
      503,
      grouped,
      undefined,
    ],
    [
      'a 503 to a POST with groups: a failure',
      sent('ap-northeast-2', {}, 'POST'),
      503,
      grouped,
      { failed: true },
    ],
    [
      'a 501 with groups (not a failover status): a failure',
      sent('ap-northeast-2'),
      501,
      grouped,
      { failed: true },
    ],
    [
      "the second attempt's own 503: a failure of the second target",
      sent('us-east-1', { 'x-route-attempt': '2', 'x-route-reason': 'failover' }),
      503,
      grouped,
      { failed: true, target: { target: 'us-east-1', canary: false } },
    ],
    [
      'a canary: counted for the canary deployment',
      sent('eu-central-1', { 'x-route-reason': 'canary' }),
      500,
      undefined,
      { target: { target: 'eu-central-1', canary: true } },
    ],
    ['a request we did not route: nothing', { method: 'GET', headers: {} }, 500, undefined, undefined],
  ])('%s', (_, request, status, groups, expected) => {
    const seen = responseSeen(request, status, groups);
    if (expected === undefined) expect(seen).toBeUndefined();
    else expect(seen).toMatchObject(expected as object);
  });
});

describe('an ejection is planned as down', () => {
  const config = exampleConfig();
  const router = compileRouter(config);
  const KR = { country: 'KR', ip: '1.208.0.1', method: 'GET', now: 0 };

  test('five 5xx in a row eject Seoul: Korea goes to its next region, reason failover, and the trace says why', () => {
    const events: unknown[] = [];
    const ph = new PassiveHealth(router, DEFAULT_OUTLIER, { onEvent: (e) => events.push(e) });
    for (let i = 0; i < 4; i++) ph.response(sent('ap-northeast-2'), 503, 1000 + i);
    expect(ph.current(1004).ejected).toBeUndefined();
    ph.response(sent('ap-northeast-2'), 503, 1005);
    const { ejected, key } = ph.current(1006);
    expect(ejected).toEqual({ regions: ['ap-northeast-2'], canaries: [] });
    expect(key).not.toBe('');
    expect(events).toEqual([
      { kind: 'ejected', target: 'ap-northeast-2', untilMs: 1005 + 30_000, ejections: 1, canary: false },
    ]);
    const d = pick(plan(router, docWith(), ejected), KR, { trace: true });
    expect(d.target.id).not.toBe('ap-northeast-2');
    expect(d.reason).toBe('failover');
    expect(d.plan?.join('\n')).toContain('ap-northeast-2: ejected (passive health)');
    // without the ejection, the same viewer stays
    expect(pick(plan(router, docWith()), KR).target.id).toBe('ap-northeast-2');
  });

  test('a success between failures starts the count again', () => {
    const ph = new PassiveHealth(router, DEFAULT_OUTLIER);
    for (let i = 0; i < 4; i++) ph.response(sent('ap-northeast-2'), 503, i);
    ph.response(sent('ap-northeast-2'), 200, 5);
    for (let i = 0; i < 4; i++) ph.response(sent('ap-northeast-2'), 503, 6 + i);
    expect(ph.current(10).ejected).toBeUndefined();
  });

  test('the ejection ends after the base ejection time, with an event; the key changes back', () => {
    const events: { kind: string; why?: string }[] = [];
    const ph = new PassiveHealth(router, DEFAULT_OUTLIER, { onEvent: (e) => events.push(e) });
    for (let i = 0; i < 5; i++) ph.failure({ target: 'ap-northeast-2', canary: false }, i);
    expect(ph.current(29_000).key).not.toBe('');
    expect(ph.current(30_005).key).toBe('');
    expect(events.map((e) => [e.kind, e.why])).toEqual([
      ['ejected', undefined],
      ['returned', 'ejection-ended'],
    ]);
  });

  test('a document that says up after down brings it back at once', () => {
    const ph = new PassiveHealth(router, DEFAULT_OUTLIER);
    for (let i = 0; i < 5; i++) ph.failure({ target: 'ap-northeast-2', canary: false }, i);
    ph.documentChanged(docWith({ 'ap-northeast-2': { status: 'down' } }), docWith());
    expect(ph.current(10).ejected).toBeUndefined();
  });

  test("a canary's failures eject the canary, not its region: its viewers go to the stable origin", () => {
    const ph = new PassiveHealth(router, DEFAULT_OUTLIER);
    const canary = sent('eu-central-1', { 'x-route-reason': 'canary' });
    for (let i = 0; i < 5; i++) ph.response(canary, 500, i);
    expect(ph.current(10).ejected).toEqual({ regions: [], canaries: ['eu-central-1'] });
    const doc = { ...docWith(), canary: { percent: 100, regions: ['eu-central-1'] } };
    const DE = { country: 'DE', ip: '85.214.0.1', method: 'GET', now: 0 };
    expect(pick(plan(router, doc), DE).reason).toBe('canary');
    const d = pick(plan(router, doc, ph.current(10).ejected), DE, { trace: true });
    expect(d.target.id).toBe('eu-central-1');
    expect(d.reason).not.toBe('canary');
    expect(d.plan?.join('\n')).toContain('canary ejected (passive health)');
  });

  test('never the last candidate: with every other region ejected or down, the last one stays', () => {
    const ph = new PassiveHealth(router, { ...DEFAULT_OUTLIER, maxEjectionPercent: 100 });
    for (const id of router.regions) for (let i = 0; i < 5; i++) ph.failure({ target: id, canary: false }, i);
    expect(ph.current(10).ejected?.regions).toHaveLength(router.regions.length - 1);
  });
});

describe('the built function: one handler for origin-request and origin-response', () => {
  const config = exampleConfig((c) => {
    c.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
  });
  const mod = coldStart(join(buildBundles(config), 'origin-request', 'index.js'));
  const logs: string[] = [];
  const edge = mod.createEdge({
    config,
    router: bundledRouter(mod, config),
    docs: { current: async () => ({ doc: docWith(), stale: false, ageMs: 0 }) },
    telemetry: new mod.Telemetry({ runtime: 'test', write: (l: string) => logs.push(l) }),
  });
  // a fixture, changed in place
  type Mutable = any;
  const korean = (): CloudFrontRequestEvent => {
    const e = fixture<Mutable>('lambda-edge-origin-request.json');
    const r = e.Records[0].cf.request;
    r.clientIp = '1.208.0.1';
    r.headers['cloudfront-viewer-country'] = [{ key: 'CloudFront-Viewer-Country', value: 'KR' }];
    return e;
  };
  /** The origin-response event for the request the function sent, with the origin's status. */
  const answered = (request: unknown, status: number): CloudFrontResponseEvent => {
    const e = fixture<Mutable>('lambda-edge-origin-response.json');
    e.Records[0].cf.request = request;
    e.Records[0].cf.response.status = String(status);
    return e as CloudFrontResponseEvent;
  };

  test("a POST's 5xx answers, five in a row, eject Seoul in this container: the next request goes elsewhere, logged and counted", async () => {
    for (let i = 0; i < 5; i++) {
      const e: Mutable = korean();
      e.Records[0].cf.request.method = 'POST';
      const request = await edge.handler(e);
      expect(request.headers['x-route-region'][0].value).toBe('ap-northeast-2');
      await edge.handler(answered(request, 502));
    }
    const next = await edge.handler(korean());
    expect(next.headers['x-route-region'][0].value).not.toBe('ap-northeast-2');
    expect(next.headers['x-route-reason'][0].value).toBe('failover');
    expect(logs.map((l) => JSON.parse(l)).find((l) => l.event === 'ejected')).toMatchObject({
      target: 'ap-northeast-2',
      level: 'warn',
    });
    expect(edge.passive?.ejections(Date.now()).map((e: { target: string }) => e.target)).toEqual([
      'ap-northeast-2',
    ]);
  });

  test('a stalled region (nothing below 500 for 500 ms since a request) takes no POST, while GETs still go; a good answer ends it', async () => {
    let clock = 1_000_000;
    const lines: string[] = [];
    const timed = mod.createEdge({
      config,
      router: edge.router,
      now: () => clock,
      docs: { current: async () => ({ doc: docWith(), stale: false, ageMs: 0 }) },
      telemetry: new mod.Telemetry({
        runtime: 'test',
        write: (l: string) => lines.push(l),
        decisionLogMs: 0,
      }),
    });
    const as = async (method: string) => {
      const e: Mutable = korean();
      e.Records[0].cf.request.method = method;
      return timed.handler(e);
    };
    const where = (r: Mutable) => [
      r.headers['x-route-region'][0].value,
      r.headers['x-route-reason'][0].value,
    ];
    const seoul = await as('GET');
    expect(where(seoul)).toEqual(['ap-northeast-2', 'nearest']);
    // another region answers well in this container meanwhile: it sees the answers to its requests
    await timed.handler(answered(sent('eu-central-1'), 200));
    clock += 499;
    expect(where(await as('POST'))).toEqual(['ap-northeast-2', 'nearest']);
    clock += 1;
    // 500 ms without an answer: the POST, which CloudFront cannot send again, goes to the retry target
    const post = await as('POST');
    expect(where(post)).toEqual(['us-east-1', 'failover']);
    // the origin learns nothing of Seoul's retry: this request is not a second attempt
    expect(post.headers['x-route-attempt']).toBeUndefined();
    // a GET can be sent again by the group: it still goes, held at most the per-try timeout
    expect(where(await as('GET'))).toEqual(['ap-northeast-2', 'nearest']);
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged.filter((l) => l.event === 'stalled')).toEqual([
      expect.objectContaining({ level: 'warn', target: 'ap-northeast-2', forMs: 500, to: 'us-east-1' }),
    ]);
    // the decision explains itself
    expect(JSON.stringify(logged)).toContain(
      'stalled: ap-northeast-2 has answered nothing below 500 for 500 ms',
    );
    // Seoul answers the first GET well: the next POST goes there again
    await timed.handler(answered(seoul, 200));
    expect(where(await as('POST'))).toEqual(['ap-northeast-2', 'nearest']);
  });

  // a GET from Korea at 0, maybe another region's good answer, then at 600 ms a GET: where it goes
  test.each<[string, (c: RouterConfig) => void, boolean, string]>([
    [
      'without origin groups no request can be sent again: a stalled region takes no GET either',
      () => {},
      true,
      'us-east-1',
    ],
    [
      'stallMs 0: no stall rule',
      (c) => {
        (c as { outlier?: unknown }).outlier = { stallMs: 0 };
      },
      true,
      'ap-northeast-2',
    ],
    // its answers went to other containers, or there is no origin-response function
    ['a container that sees no answer at all: no stall', () => {}, false, 'ap-northeast-2'],
  ])('%s', async (_, change, otherAnswers, to) => {
    let clock = 0;
    const e = mod.createEdge({
      config: exampleConfig(change),
      router: edge.router,
      now: () => clock,
      docs: { current: async () => ({ doc: docWith(), stale: false, ageMs: 0 }) },
      telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
    });
    await e.handler(korean());
    if (otherAnswers) await e.handler(answered(sent('eu-central-1'), 200));
    clock = 600;
    expect((await e.handler(korean())).headers['x-route-region'][0].value).toBe(to);
  });

  test("the second attempt whose failure ejects Seoul retries Seoul's next region, not the one after it", async () => {
    const fresh = mod.createEdge({
      config,
      router: edge.router,
      docs: { current: async () => ({ doc: docWith(), stale: false, ageMs: 0 }) },
      telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
    });
    for (let i = 0; i < 4; i++) {
      const e: Mutable = korean();
      e.Records[0].cf.request.method = 'POST';
      await fresh.handler(answered(await fresh.handler(e), 502));
    }
    // the fifth failure: a second attempt that no longer carries what the first chose
    const e: Mutable = korean();
    e.Records[0].cf.request.origin = { custom: secondAttemptOrigin(config) };
    const retry = await fresh.handler(e);
    expect(fresh.passive?.ejections(Date.now()).map((x: { target: string }) => x.target)).toEqual([
      'ap-northeast-2',
    ]);
    expect(retry.headers['x-route-region'][0].value).toBe('us-east-1');
  });
});
