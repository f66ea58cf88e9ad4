// The writers' fan-out to the replicas of the health document (healthDoc.replicas), against real S3 APIs: s3rver
// in-process with S3's conditional writes (local/s3-conditional.ts), the primary and each replica a bucket of its own.
// The CLI runs in-process (main), the health checker as a Prober.
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { main } from '../cli/index';
import { Prober } from '../lib/prober';
import type { HealthDoc, RouterConfig } from '../shared';
import { TEST_KEYS } from './helpers/keys';
import { docWith, EXAMPLE_CONFIG, exampleConfig, readJson } from './helpers/load';
import { type LocalS3, startS3 } from './helpers/s3';

const KEY = 'health.json';
const PRIMARY = 'er-primary';
const EU = 'er-replica-eu';
const AP = 'er-replica-ap';
/** a replica whose bucket does not exist until a test makes it */
const SA = 'er-replica-sa';
const tmp = mkdtempSync(join(tmpdir(), 'edge-router-replicas-'));
let s3: LocalS3;

/** While set, the first `count` requests of `method` to a replica's document wait until `release()`. */
let gate:
  | { method: string; count: number; arrived: number; open: Promise<void>; release: () => void }
  | undefined;
function hold(method: string, count: number): NonNullable<typeof gate> {
  let release = () => {};
  const open = new Promise<void>((r) => {
    release = r;
  });
  gate = { method, count, arrived: 0, open, release };
  return gate;
}
const isReplicaDoc = (req: IncomingMessage) =>
  [EU, AP, SA].some((b) => req.url?.startsWith(`/${b}/${KEY}`) === true);

beforeAll(async () => {
  s3 = await startS3([PRIMARY, EU, AP], async (req) => {
    const g = gate;
    if (!g || req.method !== g.method || !isReplicaDoc(req) || g.arrived >= g.count) return;
    g.arrived++;
    await g.open;
  });
});
afterAll(async () => {
  await s3?.close();
});
beforeEach(async () => {
  gate = undefined;
  for (const b of [PRIMARY, EU, AP]) for (const k of [KEY, 'keys.json']) await s3.remove(b, k);
});

/** The example config with its document in PRIMARY and replicas in EU and AP (and `extra`), all on the s3rver. */
function configFile(extra: { region: string; bucket: string }[] = []): string {
  const c = readJson<RouterConfig>(EXAMPLE_CONFIG);
  c.healthDoc = {
    bucket: PRIMARY,
    key: KEY,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    replicas: [
      { region: 'eu-central-1', bucket: EU },
      { region: 'ap-northeast-2', bucket: AP },
      ...extra,
    ].map((r) => ({ ...r, endpoint: s3.endpoint })),
  } as RouterConfig['healthDoc'];
  const file = join(tmp, `router-${extra.length}.config.json`);
  writeFileSync(file, JSON.stringify(c));
  return file;
}

/** The CLI in-process: its exit code and what it printed (stdout and stderr, in order). */
async function cli(config: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((l: string) => lines.push(l));
  const err = jest.spyOn(console, 'error').mockImplementation((l: string) => lines.push(l));
  try {
    const code = await main(['node', 'edge-router', ...args, '--config', config]);
    return { code, out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}
/** Two CLIs at once print into the same console: only their exit codes are kept. */
async function quiet(config: string, ...args: string[]): Promise<number> {
  return main(['node', 'edge-router', ...args, '--config', config]);
}

async function text(bucket: string, key = KEY): Promise<string | undefined> {
  try {
    const r = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await r.Body?.transformToString();
  } catch {
    return undefined;
  }
}
const doc = async (bucket: string) => JSON.parse((await text(bucket)) ?? 'null') as HealthDoc | null;
const serials = async (...buckets: string[]) =>
  Promise.all(buckets.map(async (b) => (await doc(b))?.serial ?? null));
const NO_STACK = /^\s+at |node:internal/m;

describe('every write goes on to every replica', () => {
  beforeEach(() => {
    jest.spyOn(console, 'log').mockImplementation(() => {});
    jest.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => jest.restoreAllMocks());

  test('doc status, dial and publish: the replicas end at the primary serial, with its exact text; doc get says so', async () => {
    const config = configFile();
    const first = await cli(config, 'doc', 'status', 'ap-northeast-2', 'down', '--yes');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`replica eu-central-1 s3://${EU}/${KEY}: serial 1 (was missing)`);
    expect(first.out).toContain(`replica ap-northeast-2 s3://${AP}/${KEY}: serial 1 (was missing)`);
    expect((await cli(config, 'doc', 'dial', 'eu-central-1', '40', '--yes')).code).toBe(0);
    const file = join(tmp, 'publish.json');
    writeFileSync(file, JSON.stringify(docWith({ 'sa-east-1': { dial: 10 } }, 2)));
    const published = await cli(config, 'doc', 'publish', file, '--yes');
    expect(published.code).toBe(0);
    expect(published.out).toContain(`replica eu-central-1 s3://${EU}/${KEY}: serial 3 (was serial 2)`);

    expect(await serials(PRIMARY, EU, AP)).toEqual([3, 3, 3]);
    const primary = await text(PRIMARY);
    expect(await text(EU)).toBe(primary);
    expect(await text(AP)).toBe(primary);
    const get = await cli(config, 'doc', 'get');
    expect(get.code).toBe(0);
    expect(get.out).toContain(`replica eu-central-1 s3://${EU}/${KEY}: serial 3, in step`);
    expect(get.out).toContain(`replica ap-northeast-2 s3://${AP}/${KEY}: serial 3, in step`);
    expect(get.out).not.toContain('warning');
  });

  test('--bucket naming another document: its write leaves the config replicas alone, and says so', async () => {
    const config = configFile();
    const r = await cli(config, 'doc', 'dial', 'eu-central-1', '40', '--yes', '--bucket', EU);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`note: s3://${EU}/${KEY} is not healthDoc's document`);
    expect(await serials(PRIMARY, EU, AP)).toEqual([null, 1, null]);
  });
});

describe('a replica that could not be written', () => {
  afterEach(() => jest.restoreAllMocks());

  test('is named with its region, bucket and the next step (exit 1, the primary written); doc get flags it; doc sync repairs it, and the keys', async () => {
    const config = configFile([{ region: 'sa-east-1', bucket: SA }]);
    const w = await cli(config, 'doc', 'status', 'ap-northeast-2', 'down', '--yes');
    expect(w.code).toBe(1);
    expect(w.out).toContain(`wrote serial 1 to s3://${PRIMARY}/${KEY}`);
    expect(w.out).toMatch(
      new RegExp(
        `replica sa-east-1 s3://${SA}/${KEY} \\(healthDoc\\.replicas\\[2\\]\\): not written: NoSuchBucket`,
      ),
    );
    expect(w.out).toContain(`no bucket ${SA}: it is healthDoc.replicas[2].bucket of ${config}`);
    expect(w.out).toContain(
      `serial 1 is written to s3://${PRIMARY}/${KEY}, but 1 replica(s) are not in step with it`,
    );
    expect(w.out).toContain('run `edge-router doc sync`');
    expect(w.out).not.toMatch(NO_STACK);
    // the primary counts as written, and so do the replicas that could be
    expect(await serials(PRIMARY, EU, AP)).toEqual([1, 1, 1]);

    expect((await cli(config, 'doc', 'get')).out).toMatch(
      new RegExp(`warning: replica sa-east-1 s3://${SA}/${KEY}: unreadable: NoSuchBucket`),
    );
    // two more writes (sa-east-1 still has no bucket); then eu-central-1 is put back two serials, and the bucket made
    for (const d of ['50', '60'])
      expect((await cli(config, 'doc', 'dial', 'eu-central-1', d, '--yes')).code).toBe(1);
    await s3.put(EU, KEY, JSON.stringify({ ...docWith({}, 1), updatedAt: '2020-01-01T00:00:00.000Z' }));
    await s3.client.send(new CreateBucketCommand({ Bucket: SA }));
    const primaryDoc = (await doc(PRIMARY)) as HealthDoc;
    expect(primaryDoc.serial).toBe(3);
    const lag = Math.round(
      (Date.parse(primaryDoc.updatedAt) - Date.parse('2020-01-01T00:00:00.000Z')) / 1000,
    );
    const get = (await cli(config, 'doc', 'get')).out;
    expect(get).toContain(
      `warning: replica eu-central-1 s3://${EU}/${KEY}: serial 1, behind by 2 serials (updated 2020-01-01T00:00:00.000Z, ${lag} s before the primary): run \`edge-router doc sync\``,
    );
    expect(get).toContain(`replica ap-northeast-2 s3://${AP}/${KEY}: serial 3, in step`);
    expect(get).toContain(
      `warning: replica sa-east-1 s3://${SA}/${KEY}: missing: run \`edge-router doc sync\``,
    );

    // doc sync: what each replica needed, the keys too
    await s3.put(PRIMARY, 'keys.json', JSON.stringify(TEST_KEYS));
    await s3.put(AP, 'keys.json', JSON.stringify({ version: 1, keys: [] }));
    const sync = await cli(config, 'doc', 'sync');
    expect(sync.code).toBe(0);
    expect(sync.out.split('\n')).toEqual([
      `s3://${PRIMARY}/${KEY}: serial 3, to 3 replica(s)`,
      `replica eu-central-1 s3://${EU}/${KEY}: serial 3 (was serial 1)`,
      `replica ap-northeast-2 s3://${AP}/${KEY}: serial 3 already`,
      `replica sa-east-1 s3://${SA}/${KEY}: serial 3 (was missing)`,
      `replica eu-central-1 s3://${EU}/keys.json: keys copied`,
      `replica ap-northeast-2 s3://${AP}/keys.json: keys copied`,
      `replica sa-east-1 s3://${SA}/keys.json: keys copied`,
    ]);
    const primary = await text(PRIMARY);
    for (const b of [EU, AP, SA]) {
      expect(await text(b)).toBe(primary);
      expect(await text(b, 'keys.json')).toBe(JSON.stringify(TEST_KEYS));
    }
    const again = await cli(config, 'doc', 'sync');
    expect(again.code).toBe(0);
    expect(again.out).toContain(`replica sa-east-1 s3://${SA}/${KEY}: serial 3 already`);
    expect(again.out).toContain(`replica sa-east-1 s3://${SA}/keys.json: the same keys already`);
    expect((await cli(config, 'doc', 'get')).out).not.toContain('warning');
  });
});

describe('a replica never goes to a lower serial', () => {
  afterEach(() => jest.restoreAllMocks());

  test('one ahead of the primary is left alone by a write and by doc sync, and flagged with the next step', async () => {
    const config = configFile();
    await s3.put(PRIMARY, KEY, JSON.stringify(docWith({}, 3)));
    const ahead = JSON.stringify(docWith({ 'sa-east-1': { dial: 5 } }, 50));
    await s3.put(EU, KEY, ahead);
    const w = await cli(config, 'doc', 'dial', 'eu-central-1', '40', '--yes');
    expect(w.code).toBe(1);
    expect(w.out).toContain(`wrote serial 4 to s3://${PRIMARY}/${KEY}`);
    expect(w.out).toContain(
      `replica eu-central-1 s3://${EU}/${KEY}: holds serial 50, ahead of the primary (serial 4): left alone`,
    );
    expect(w.out).toContain('edge-router doc publish FILE --serial 51');
    expect(await text(EU)).toBe(ahead);
    expect(await serials(AP)).toEqual([4]);

    expect((await cli(config, 'doc', 'get')).out).toContain(
      `warning: replica eu-central-1 s3://${EU}/${KEY}: serial 50, ahead of the primary by 46`,
    );
    const sync = await cli(config, 'doc', 'sync');
    expect(sync.code).toBe(1);
    expect(sync.out).toContain(`replica ap-northeast-2 s3://${AP}/${KEY}: serial 4 already`);
    expect(await text(EU)).toBe(ahead);
  });

  test.each([
    ['the slower writer reads the replicas after the faster one wrote them', 'GET'],
    ['the slower writer writes over the ETag it read, after the faster one wrote (412, re-read)', 'PUT'],
  ])('racing writers: %s: the replicas end at the higher serial', async (_, method) => {
    const config = configFile();
    await s3.put(PRIMARY, KEY, JSON.stringify(docWith({}, 10)));
    await s3.put(EU, KEY, JSON.stringify(docWith({}, 10)));
    await s3.put(AP, KEY, JSON.stringify(docWith({}, 10)));
    jest.spyOn(console, 'log').mockImplementation(() => {});
    jest.spyOn(console, 'error').mockImplementation(() => {});
    // the slower writer: serial 11 on the primary, then held at its two replicas
    const g = hold(method, 2);
    const slower = quiet(config, 'doc', 'dial', 'eu-central-1', '50', '--yes');
    while (g.arrived < 2) await new Promise((r) => setTimeout(r, 5));
    expect(await serials(PRIMARY)).toEqual([11]);
    // the faster writer reads serial 11, writes 12 everywhere
    expect(await quiet(config, 'doc', 'dial', 'ap-northeast-2', '60', '--yes')).toBe(0);
    expect(await serials(PRIMARY, EU, AP)).toEqual([12, 12, 12]);
    g.release();
    expect(await slower).toBe(0); // a replica newer than its write, and the primary as new: nothing wrong
    expect(await serials(PRIMARY, EU, AP)).toEqual([12, 12, 12]);
    const primary = await text(PRIMARY);
    expect(await text(EU)).toBe(primary);
    expect(await text(AP)).toBe(primary);
    // both changes are in what every copy holds
    expect((await doc(AP))?.regions['eu-central-1'].dial).toBe(50);
    expect((await doc(AP))?.regions['ap-northeast-2'].dial).toBe(60);
  });
});

describe('the health checker fans out too', () => {
  test('a flip reaches every replica; a replica it cannot write is logged with its region, bucket and doc sync', async () => {
    const config = exampleConfig((c) => {
      c.healthDoc = {
        bucket: PRIMARY,
        key: KEY,
        region: 'us-east-1',
        endpoint: s3.endpoint,
        replicas: [
          { region: 'eu-central-1', bucket: EU, endpoint: s3.endpoint },
          { region: 'sa-east-1', bucket: 'er-replica-none', endpoint: s3.endpoint },
        ],
      } as RouterConfig['healthDoc'];
      c.environments = {};
      c.networkRoutes = [];
      c.health = { probe: { timeoutMs: 300 }, vantages: ['v1'] } as never;
    });
    await s3.put(PRIMARY, KEY, JSON.stringify(docWith({}, 1)));
    const seoul = config.regions['ap-northeast-2'].origin.domainName;
    const lines: string[] = [];
    const clock = { t: Date.UTC(2027, 0, 1) };
    const p = new Prober({
      config,
      vantage: 'v1',
      s3: s3.client,
      loc: { bucket: PRIMARY, key: KEY, region: 'us-east-1', endpoint: s3.endpoint },
      now: () => clock.t,
      // Seoul answers 500, every other region 200
      probe: async (_url, host) => ({ status: host === seoul ? 500 : 200 }),
      log: (l) => lines.push(l),
    });
    let flipped = false;
    for (let round = 0; round < 5 && !flipped; round++) {
      flipped = (await p.tick()).flips.length > 0;
      clock.t += 10_000;
    }
    expect(flipped).toBe(true);
    expect(await serials(PRIMARY, EU)).toEqual([2, 2]);
    expect(await text(EU)).toBe(await text(PRIMARY));
    expect((await doc(EU))?.regions['ap-northeast-2'].status).toBe('down');
    const events = lines.filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l));
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'replica-written', replica: 'eu-central-1', bucket: EU, serial: 2 }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        event: 'replica-failed',
        replica: 'sa-east-1',
        bucket: 'er-replica-none',
        serial: 2,
        error: expect.stringMatching(/^NoSuchBucket/),
        next: 'edge-router doc sync',
      }),
    );
  });
});
