// The health checker at a vantage (lib/prober.ts) against real HTTP servers that fail, hang, flap and recover, with
// the document and observations in s3rver (in-process); the If-Match conflict path through aws-sdk-client-mock
// (s3rver ignores If-Match).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { healthLines, Prober } from '../lib/prober';
import type { HealthDoc, RouterConfig } from '../shared';
import { buildBundles } from './helpers/bundle';
import { docWith, exampleConfig } from './helpers/load';
import { type LocalS3, startS3 } from './helpers/s3';

const BUCKET = 'edge-router-prober';
const INTERVAL = 10_000;
type Mode = 'ok' | 'error' | 'hang' | 'flap';

/** A server per target whose behaviour the test sets: 200, 500, no answer, or 200/500 alternately. */
async function target(): Promise<{ port: number; mode: Mode; server: Server; hits: number; host: string }> {
  const t = { port: 0, mode: 'ok' as Mode, server: undefined as unknown as Server, hits: 0, host: '' };
  t.server = createServer((req, res) => {
    t.hits++;
    t.host = req.headers.host ?? '';
    if (t.mode === 'hang') return; // never answers
    const ok = t.mode === 'ok' || (t.mode === 'flap' && t.hits % 2 === 0);
    res.writeHead(ok ? 200 : 500).end(req.headers.host ?? '');
  });
  await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', () => r()));
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

let s3: LocalS3;
let servers: Awaited<ReturnType<typeof target>>[];
let config: RouterConfig;
const IDS = ['us-east-1', 'eu-central-1', 'ap-northeast-2', 'sa-east-1'];

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  servers = await Promise.all(IDS.map(() => target()));
  config = exampleConfig((c) => {
    IDS.forEach((id, i) => {
      c.regions[id] = { origin: { domainName: 'localhost', port: servers[i].port, protocol: 'http' } };
    });
    c.environments = {};
    c.networkRoutes = [];
    c.health = { probe: { timeoutMs: 300 }, vantages: ['v1'] } as never;
  });
});
afterAll(async () => {
  for (const s of servers ?? []) {
    s.server.closeAllConnections();
    s.server.close();
  }
  await s3?.close();
});

function prober(clock: { t: number }, key = 'health.json') {
  return new Prober({
    config,
    vantage: 'v1',
    s3: s3.client,
    loc: { bucket: BUCKET, key, region: 'us-east-1', endpoint: s3.endpoint },
    now: () => clock.t,
  });
}
const live = async (key = 'health.json') => {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse((await r.Body?.transformToString()) ?? 'null') as HealthDoc;
};
const seoul = () => servers[2];

describe('against failing, hanging, flapping and recovering servers', () => {
  beforeEach(async () => {
    for (const s of servers) s.mode = 'ok';
    await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 1)));
  });

  test('a server answering 500: down at the fall-th round (fall × interval), not before; observations written', async () => {
    const clock = { t: Date.UTC(2027, 0, 1) };
    const p = prober(clock);
    seoul().mode = 'error';
    for (let round = 1; round <= 2; round++) {
      expect((await p.tick()).flips).toEqual([]);
      clock.t += INTERVAL;
    }
    const third = await p.tick();
    expect(third.flips.map((f) => [f.target, f.to])).toEqual([['ap-northeast-2', 'down']]);
    expect(await live()).toMatchObject({
      serial: 2,
      regions: {
        'ap-northeast-2': { status: 'down', setBy: 'probe', changedAt: new Date(clock.t).toISOString() },
      },
    });
    const obs = JSON.parse(
      (await (
        await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'observations/v1.json' }))
      ).Body?.transformToString()) ?? '',
    );
    expect(obs.targets['ap-northeast-2'].slice(-1)[0]).toMatchObject({ ok: false, status: 500 });
    expect(obs.targets['us-east-1'].slice(-1)[0]).toMatchObject({ ok: true, status: 200 });
  });

  test('a server that hangs is a failure (the probe times out); it comes back after rise successes', async () => {
    const clock = { t: Date.UTC(2027, 0, 2) };
    const p = prober(clock);
    seoul().mode = 'hang';
    for (let round = 1; round <= 3; round++) {
      await p.tick();
      clock.t += INTERVAL;
    }
    expect((await live()).regions['ap-northeast-2'].status).toBe('down');
    seoul().mode = 'ok';
    expect((await p.tick()).flips).toEqual([]); // one success: not yet (rise 2)
    clock.t += INTERVAL;
    expect((await p.tick()).flips.map((f) => f.to)).toEqual(['up']);
    expect((await live()).regions['ap-northeast-2']).toMatchObject({ status: 'up', setBy: 'probe' });
  });

  test('never backwards: after an older document is restored, the checker writes nothing on top of it', async () => {
    const clock = { t: Date.UTC(2027, 0, 1) };
    const lines: string[] = [];
    const p = new Prober({
      config,
      vantage: 'v1',
      s3: s3.client,
      loc: { bucket: BUCKET, key: 'health.json', region: 'us-east-1', endpoint: s3.endpoint },
      now: () => clock.t,
      log: (l) => lines.push(l),
    });
    await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 11)));
    seoul().mode = 'error';
    for (let round = 1; round <= 3; round++) {
      await p.tick();
      clock.t += INTERVAL;
    }
    expect(await live()).toMatchObject({ serial: 12, regions: { 'ap-northeast-2': { status: 'down' } } });
    // serial 5 restored: Seoul comes back, yet the checker does not carry serial 5's content on as serial 6
    await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 5)));
    seoul().mode = 'ok';
    for (let round = 1; round <= 3; round++) {
      expect((await p.tick()).doc).toBeNull();
      clock.t += INTERVAL;
    }
    expect(await live()).toMatchObject({ serial: 5 });
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'doc-regressed')[0]).toMatchObject({
      serial: 5,
      highest: 12,
      action: 'nothing written',
    });
    // an operator publishes above it: the checker goes on from there
    await s3.put(
      BUCKET,
      'health.json',
      JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 13)),
    );
    for (let round = 1; round <= 3; round++) {
      await p.tick();
      clock.t += INTERVAL;
    }
    expect(await live()).toMatchObject({ serial: 14, regions: { 'ap-northeast-2': { status: 'up' } } });
  });

  test('a server failing every other probe never flips', async () => {
    const clock = { t: Date.UTC(2027, 0, 3) };
    const p = prober(clock);
    seoul().mode = 'flap';
    for (let round = 1; round <= 8; round++) {
      expect((await p.tick()).flips).toEqual([]);
      clock.t += INTERVAL;
    }
    expect((await live()).serial).toBe(1);
  });

  test('a pinned status is left alone, and the Host header is the origin domain', async () => {
    await s3.put(
      BUCKET,
      'health.json',
      JSON.stringify(docWith({ 'ap-northeast-2': { status: 'up', pinned: true, setBy: 'operator' } }, 1)),
    );
    const clock = { t: Date.UTC(2027, 0, 4) };
    const p = prober(clock);
    seoul().mode = 'error';
    let suppressed = 0;
    for (let round = 1; round <= 4; round++) {
      suppressed += (await p.tick()).suppressed.filter((s) => s.why === 'held').length;
      clock.t += INTERVAL;
    }
    expect(suppressed).toBeGreaterThan(0);
    expect((await live()).regions['ap-northeast-2']).toMatchObject({ status: 'up', pinned: true });
    // the Host the edge would send: the origin's domain name, not host:port
    expect(seoul().host).toBe('localhost');
  });
});

describe('two probers racing to write (aws-sdk-client-mock: s3rver ignores If-Match)', () => {
  // created here, not at load: mockClient patches every S3Client, s3rver's too
  let s3mock: ReturnType<typeof mockClient>;
  beforeAll(() => {
    s3mock = mockClient(S3Client);
  });
  afterAll(() => s3mock.restore());

  test('a 412 re-reads the document and writes over the new ETag; nothing is lost', async () => {
    const obs = {
      vantage: 'v1',
      at: Date.UTC(2027, 0, 5),
      targets: { 'sa-east-1': [1, 2, 3].map((i) => ({ at: i, ok: false, ms: 1 })) },
    };
    const first = docWith({}, 5);
    // between our read and our write, another prober (or an operator) wrote serial 6
    const second = docWith({ 'us-east-1': { status: 'up', dial: 50 } }, 6);
    // a GetObject output with only what the prober reads
    const body = (d: unknown): any => ({ Body: { transformToString: async () => JSON.stringify(d) } });
    s3mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'observations/v1.json' }] });
    s3mock.on(GetObjectCommand, { Key: 'observations/v1.json' }).resolves(body(obs));
    s3mock
      .on(GetObjectCommand, { Key: 'health.json' })
      .resolvesOnce({ ...body(first), ETag: '"e5"' })
      .resolves({ ...body(second), ETag: '"e6"' });
    s3mock
      .on(PutObjectCommand, { Key: 'health.json' })
      .rejectsOnce(
        new S3ServiceException({
          name: 'PreconditionFailed',
          $fault: 'client',
          $metadata: { httpStatusCode: 412 },
        }),
      )
      .resolves({ ETag: '"e7"' });
    const p = new Prober({
      config: exampleConfig((c) => {
        c.health = { vantages: ['v1'] } as never;
      }),
      vantage: 'v1',
      s3: new S3Client({ region: 'us-east-1' }),
      loc: { bucket: BUCKET, key: 'health.json', region: 'us-east-1' },
      now: () => Date.UTC(2027, 0, 5),
    });
    const d = await p.decideAndWrite();
    expect(d.flips.map((f) => [f.target, f.to])).toEqual([['sa-east-1', 'down']]);
    const puts = s3mock.commandCalls(PutObjectCommand, { Key: 'health.json' });
    expect(puts.map((c) => c.args[0].input.IfMatch)).toEqual(['"e5"', '"e6"']);
    const written = JSON.parse(String(puts[1].args[0].input.Body));
    // the other writer's change (dial 50) is kept, and the serial follows it
    expect(written).toMatchObject({
      serial: 7,
      regions: { 'us-east-1': { dial: 50 }, 'sa-east-1': { status: 'down' } },
    });
  });
});

test('doc get shows, per target, who set the status and what each vantage saw last', () => {
  const lines = healthLines(
    docWith({
      'ap-northeast-2': { status: 'down', setBy: 'probe', changedAt: '2027-01-01T00:00:30.000Z' },
      'sa-east-1': { status: 'up', setBy: 'operator', pinned: true },
    }),
    exampleConfig(),
    [
      {
        vantage: 'us-east-1',
        at: 1,
        targets: {
          'ap-northeast-2': [
            { at: 1, ok: true, ms: 12, status: 200 },
            { at: 2, ok: false, ms: 2000, error: 'no answer within 2000 ms' },
            { at: 3, ok: false, ms: 8, status: 500 },
          ],
        },
      },
    ],
  );
  expect(lines.find((l) => l.includes('ap-northeast-2'))).toMatch(
    /ap-northeast-2\s+down\s+set by probe\s+changed 2027-01-01T00:00:30.000Z\s+us-east-1 \+xx 500 8 ms/,
  );
  // a pinned status of an older document reads as a hold with no end
  expect(lines.find((l) => l.includes('sa-east-1'))).toMatch(
    /sa-east-1\s+up\s+set by operator\s+changed -\s+held by operator, until handed back/,
  );
  expect(lines).toHaveLength(5);
});

test('a held status the probes disagree with says so; an ended hold does not hold', () => {
  const config = exampleConfig((c) => {
    c.health = { vantages: ['us-east-1', 'eu-central-1', 'ap-northeast-2'] } as never;
  });
  const now = Date.parse('2027-01-01T00:10:00.000Z');
  const failing = [1, 2, 3].map((i) => ({ at: now - i * 1000, ok: false, ms: 5, status: 503 }));
  const observations = (config.health?.vantages ?? []).map((vantage) => ({
    vantage,
    at: now - 1000,
    targets: { 'sa-east-1': failing, 'eu-central-1': failing },
  }));
  const doc = docWith({
    'sa-east-1': {
      status: 'up',
      setBy: 'operator',
      hold: { by: 'alice', since: '2027-01-01T00:00:00.000Z' },
    },
    'eu-central-1': {
      status: 'up',
      setBy: 'operator',
      hold: { by: 'bob', since: '2027-01-01T00:00:00.000Z', until: '2027-01-01T00:05:00.000Z' },
    },
  });
  const lines = healthLines(doc, config, observations, now);
  expect(lines.find((l) => l.includes('sa-east-1'))).toContain(
    'held by alice since 2027-01-01T00:00:00.000Z, until handed back (doc status ID auto)  (the probes see it down)',
  );
  const ended = lines.find((l) => l.includes('eu-central-1')) ?? '';
  expect(ended).toContain('hold ended 2027-01-01T00:05:00.000Z');
  expect(ended).not.toContain('held by');
});

test('each round emits EMF metrics: probe latency and failures per target, flips and suppressed flips', async () => {
  const lines: string[] = [];
  const p = new Prober({
    config,
    vantage: 'v1',
    s3: s3.client,
    loc: { bucket: BUCKET, key: 'metrics/health.json', region: 'us-east-1', endpoint: s3.endpoint },
    now: () => Date.UTC(2027, 0, 6),
    log: (l) => lines.push(l),
  });
  seoul().mode = 'error';
  await p.tick();
  seoul().mode = 'ok';
  const emf = lines.map((l) => JSON.parse(l)).filter((l) => l._aws);
  expect(emf.find((l) => l.Target === 'ap-northeast-2')).toMatchObject({
    Vantage: 'v1',
    ProbeFailures: 1,
    _aws: { CloudWatchMetrics: [{ Namespace: 'EdgeRouter', Dimensions: [['Vantage', 'Target']] }] },
  });
  expect(emf.find((l) => l.Target === 'us-east-1')).toMatchObject({ ProbeFailures: 0 });
  expect(emf.find((l) => 'HealthFlips' in l)).toMatchObject({ HealthFlips: 0, HealthFlipsSuppressed: 0 });
});

test('the built Lambda (dist/prober): one invocation probes, writes its observations and flips by quorum', async () => {
  const dir = buildBundles(
    exampleConfig((c) => {
      Object.assign(c.regions, config.regions);
      c.environments = {};
      c.networkRoutes = [];
      c.health = { probe: { timeoutMs: 300, fall: 1, intervalSeconds: 1 }, vantages: ['lambda-v'] } as never;
      c.healthDoc = {
        bucket: BUCKET,
        key: 'lambda/health.json',
        region: 'us-east-1',
        endpoint: s3.endpoint,
      } as never;
    }),
  );
  await s3.put(BUCKET, 'lambda/health.json', JSON.stringify(docWith({}, 1)));
  const { handler } = require(join(dir, 'prober', 'index.js'));
  seoul().mode = 'error';
  const logs: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((l: string) => logs.push(l));
  try {
    // little time left: one round, then it returns
    await handler(
      {},
      {
        invokedFunctionArn: 'arn:aws:lambda:lambda-v:123456789012:function:prober',
        getRemainingTimeInMillis: () => 500,
      },
    );
  } finally {
    spy.mockRestore();
    seoul().mode = 'ok';
  }
  expect((await live('lambda/health.json')).regions['ap-northeast-2']).toMatchObject({
    status: 'down',
    setBy: 'probe',
  });
  const obs = await s3.client.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: 'lambda/observations/lambda-v.json' }),
  );
  expect(JSON.parse((await obs.Body?.transformToString()) ?? '').vantage).toBe('lambda-v');
  expect(logs.some((l) => l.includes('"event":"flip"'))).toBe(true);
});
