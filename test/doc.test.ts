// The operator's doc commands against a real S3 API (s3rver, in-process), and what no local server can do
// (conditional-write conflicts, object versions) through aws-sdk-client-mock.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../cli/index';
import { buildOriginRequest, coldStart, configWith } from './helpers/bundle';
import { originRequest } from './helpers/fixtures';
import { NOW, TEST_KEYS, token } from './helpers/keys';
import { docWith, EXAMPLE_CONFIG, EXAMPLE_DOC, ROOT, readJson } from './helpers/load';
import { type LocalS3, startS3 } from './helpers/s3';
import { type Ran, run } from './helpers/spawn';

const BUCKET = 'example-edge-router-health'; // router.config.json's healthDoc
const KEY = 'health.json';
const BIN = join(ROOT, 'bin', 'edge-router.cjs');
const tmp = mkdtempSync(join(tmpdir(), 'edge-router-doc-'));
let s3: LocalS3;
/** while set, GETs of the document wait until this many have come: readers made to overlap */
let overlap: { readers: number; arrived: number; go?: () => void; open: Promise<void> } | undefined;

/**
 * The built CLI as a child process. Asynchronous, because s3rver answers from this process's event loop; jest gives
 * each file its own process.env: it is passed on, with the S3 credentials of test/setup-env.ts.
 */
function cli(...args: string[]): Promise<Ran> {
  return run(process.execPath, [BIN, ...args, '--endpoint', s3.endpoint]);
}
const live = async () => {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));
  return JSON.parse((await r.Body?.transformToString()) ?? 'null');
};
const NO_STACK = /^\s+at |node:internal/m;

beforeAll(async () => {
  s3 = await startS3([BUCKET], async (req) => {
    const o = overlap;
    if (!o || req.method !== 'GET' || !req.url?.startsWith(`/${BUCKET}/${KEY}`)) return;
    if (++o.arrived >= o.readers) {
      overlap = undefined; // the re-reads after a conflict go through
      o.go?.();
    }
    await o.open;
  });
});
afterAll(async () => {
  await s3?.close();
});
beforeEach(async () => {
  await s3.remove(BUCKET, KEY);
});

describe('racing writers (the local S3 enforces If-Match, as S3 does)', () => {
  test('two doc dial commands that read the same serial: one conflicts and retries, both changes survive', async () => {
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 20)));
    for (let round = 0; round < 4; round++) {
      const o: NonNullable<typeof overlap> = { readers: 2, arrived: 0, open: Promise.resolve() };
      o.open = new Promise<void>((resolve) => {
        o.go = resolve;
      });
      overlap = o;
      const [a, b] = await Promise.all([
        cli('doc', 'dial', 'eu-central-1', String(50 + round), '--yes'),
        cli('doc', 'dial', 'ap-northeast-2', String(60 + round), '--yes'),
      ]);
      expect([a.code, b.code]).toEqual([0, 0]);
      const out = `${a.stdout}\n${b.stdout}`;
      // exactly one of them met the other's write, re-read and wrote on top of it
      expect(out.match(/conflict: the live document changed since it was read/g)).toHaveLength(1);
      const written = [...out.matchAll(/wrote serial (\d+)/g)].map((m) => Number(m[1])).sort((x, y) => x - y);
      expect(written).toEqual([21 + 2 * round, 22 + 2 * round]);
      const doc = await live();
      expect(doc.serial).toBe(22 + 2 * round);
      expect(doc.regions['eu-central-1'].dial).toBe(50 + round);
      expect(doc.regions['ap-northeast-2'].dial).toBe(60 + round);
    }
  }, 60_000);

  test.each([
    ['If-Match on the ETag read, after another write', 'match-old', 412],
    ['If-Match on the current ETag', 'match-current', 200],
    ['If-None-Match: * over an existing object', 'none-star', 412],
  ])('%s', async (_, kind, status) => {
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 1)));
    const first = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));
    await first.Body?.transformToString();
    if (kind === 'match-old') await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 2)));
    const put = s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: KEY,
        Body: JSON.stringify(docWith({}, 3)),
        ...(kind === 'none-star' ? { IfNoneMatch: '*' } : { IfMatch: first.ETag }),
      }),
    );
    if (status === 200) await expect(put).resolves.toBeDefined();
    else
      await expect(put).rejects.toMatchObject({
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      });
  });
});

describe('against s3rver', () => {
  test("an operator's change holds: by whom and since when, until handed back with auto (or --for ends it)", async () => {
    const r = await cli('doc', 'status', 'sa-east-1', 'down', '--by', 'alice', '--yes');
    expect(r.code).toBe(0);
    const held = (await live()).regions['sa-east-1'];
    expect(held).toMatchObject({ status: 'down', setBy: 'operator', hold: { by: 'alice' } });
    expect(held.hold.until).toBeUndefined();
    expect(Math.abs(Date.parse(held.hold.since) - Date.now())).toBeLessThan(60_000);
    expect(r.stdout).toContain('sa-east-1: held by alice since ');
    expect(r.stdout).toContain('until handed back (doc status ID auto)');
    // doc get says so
    expect((await cli('doc', 'get')).stderr).toMatch(
      /sa-east-1\s+down\s+set by operator .*held by alice since \S+, until handed back/,
    );

    // a dial and a role hold too; --for gives the hold an end
    expect(
      (await cli('doc', 'dial', 'eu-central-1', '40', '--for', '30m', '--by', 'bob', '--yes')).code,
    ).toBe(0);
    const dialled = (await live()).regions['eu-central-1'];
    expect(dialled.hold.by).toBe('bob');
    expect(Date.parse(dialled.hold.until) - Date.parse(dialled.hold.since)).toBe(30 * 60_000);
    expect((await cli('doc', 'role', 'us-east-1', 'standby', '--yes', '--force')).code).toBe(0);
    expect((await live()).regions['us-east-1'].hold.by).toMatch(/\S/);

    // auto hands the status back; the status itself is left for the checker's next round
    const auto = await cli('doc', 'status', 'sa-east-1', 'auto', '--yes');
    expect(auto.code).toBe(0);
    expect(auto.stdout).toContain('sa-east-1: handed back to the health checker');
    const back = (await live()).regions['sa-east-1'];
    expect(back.status).toBe('down');
    expect(back.hold).toBeUndefined();
    // auto on what is not held: a clear error, nothing written
    const again = await cli('doc', 'status', 'sa-east-1', 'auto', '--yes');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('sa-east-1: not held: the health checker already sets it');
    for (const [args, message] of [
      [['--for', 'forever'], '--for "forever": expected a duration like 30m, 8h or 7d'],
      [['--for', '1h', '--pin'], '--pin and --for: one or the other'],
      [['--by', 'a b'], '--by "a b": expected a name'],
    ] as const) {
      const bad = await cli('doc', 'status', 'sa-east-1', 'up', ...args, '--yes');
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(message);
      expect(bad.stderr).not.toMatch(NO_STACK);
    }
  });

  test('publish warns what validate warns (a region the config does not know), then writes', async () => {
    const file = join(tmp, 'unknown-region.json');
    writeFileSync(
      file,
      JSON.stringify({ ...docWith({}, 1), regions: { ...docWith().regions, 'mars-1': { status: 'up' } } }),
    );
    const r = await cli('doc', 'publish', file, '--yes');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `warning: ${file}: $.regions["mars-1"]: "mars-1" is not in the router config: ignored`,
    );
  });

  test('a canary no region in scope can take is refused (--force writes it)', async () => {
    const config = join(tmp, 'no-canaries.json');
    const c = readJson<any>(EXAMPLE_CONFIG);
    for (const r of Object.values<any>(c.regions)) delete r.canaryOrigin;
    writeFileSync(config, JSON.stringify(c));
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 9)));
    const r = await cli('doc', 'canary', '5', '--config', config, '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no region in the canary has a canaryOrigin in the config');
    expect(r.stderr).toContain('5% would send no one');
    expect(await live()).toEqual(docWith({}, 9));
    expect((await cli('doc', 'canary', '5', '--config', config, '--yes', '--force')).code).toBe(0);
    expect((await live()).canary).toEqual({ percent: 5 });
  });

  test('explain --live reads the live document and signing keys as the edge does', async () => {
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 12)));
    await s3.put(BUCKET, 'keys.json', JSON.stringify(TEST_KEYS));
    const r = await cli(
      'explain',
      '--config',
      'router.config.json',
      '--live',
      '--time',
      new Date(NOW).toISOString(),
      '--country',
      'KR',
      '--header',
      `x-route-token: ${token('staging')}`,
      '--header',
      'x-route-to: staging',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`read live from s3://${BUCKET}/${KEY}, with its signing keys`);
    expect(r.stdout).toMatch(/doc: +serial 12/);
    // the token verified with the live keys: the override is honoured
    expect(r.stdout).toMatch(/target: +environment staging/);
    const geo = await cli('explain', '--config', 'router.config.json', '--live', '--country', 'KR', '--json');
    expect(JSON.parse(geo.stdout)).toMatchObject({
      target: { id: 'us-east-1' },
      reason: 'failover',
      serial: 12,
    });
    await s3.remove(BUCKET, 'keys.json');
    const both = await cli(
      'explain',
      '--config',
      'router.config.json',
      '--live',
      '--doc',
      EXAMPLE_DOC,
      '--country',
      'KR',
    );
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--live and --doc: one or the other');
  });

  test('get with no document: a clear message, exit 1', async () => {
    const r = await cli('doc', 'get');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`s3://${BUCKET}/${KEY}: no document`);
  });

  test('status: diff, impact (Korea moves), written with serial 1; get prints it', async () => {
    const r = await cli('doc', 'status', 'ap-northeast-2', 'down', '--yes');
    expect(r.code).toBe(0);
    // an operator's status change says who and when, and holds (the health checker leaves it be)
    expect(r.stdout).toMatch(
      /\+ \$\.regions\["ap-northeast-2"\]: \{"status":"down","changedAt":"\d{4}-[^"]+Z","setBy":"operator","hold":\{"by":"[^"]+","since":"[^"]+"\}\}/,
    );
    expect(r.stdout).toMatch(/KR South Korea \(\d+\.\d\d% of traffic\): ap-northeast-2 → us-east-1/);
    expect(r.stdout).toContain(`wrote serial 1 to s3://${BUCKET}/${KEY}`);
    expect(await live()).toMatchObject({
      version: 1,
      serial: 1,
      regions: { 'ap-northeast-2': { status: 'down' } },
    });
    const g = await cli('doc', 'get');
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ serial: 1 });
    expect(g.stderr).toMatch(/^serial 1, ETag "[0-9a-f]+"/);
  });

  test('dial, role, canary with a schedule, each a new serial over the last', async () => {
    expect((await cli('doc', 'dial', 'eu-central-1', '30', '--yes')).code).toBe(0);
    expect((await cli('doc', 'role', 'sa-east-1', 'standby', '--yes')).code).toBe(0);
    const c = await cli(
      'doc',
      'canary',
      '5',
      '--schedule',
      '2026-12-01T09:00:00Z=10,2026-12-01T12:00:00Z=25',
      '--seed',
      'v42',
      '--yes',
    );
    expect(c.code).toBe(0);
    expect(await live()).toMatchObject({
      serial: 3,
      regions: { 'eu-central-1': { status: 'up', dial: 30 }, 'sa-east-1': { status: 'up', role: 'standby' } },
      canary: {
        percent: 5,
        seed: 'v42',
        schedule: [
          { at: '2026-12-01T09:00:00.000Z', percent: 10 },
          { at: '2026-12-01T12:00:00.000Z', percent: 25 },
        ],
      },
    });
  });

  test('publish a file; --dry-run writes nothing', async () => {
    const file = join(tmp, 'publish.json');
    writeFileSync(file, JSON.stringify(docWith({ 'us-east-1': { status: 'down' } }, 40)));
    const dry = await cli('doc', 'publish', file, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing written');
    expect(s3.gets(KEY)).toBeGreaterThan(0);
    await expect(live()).rejects.toThrow();
    expect((await cli('doc', 'publish', file, '--yes', '--by', 'carol')).code).toBe(0);
    const published = await live();
    expect(published).toMatchObject({ serial: 1, regions: { 'us-east-1': { status: 'down' } } });
    // a publish is an operator's change: the region it changes is held (the health checker leaves it be), the
    // regions it leaves as they were are not
    expect(published.regions['us-east-1'].hold).toMatchObject({ by: 'carol', since: expect.any(String) });
    for (const [id, h] of Object.entries<any>(published.regions))
      if (id !== 'us-east-1') expect(h.hold).toBeUndefined();
    // a published file's own hold (with its end) is kept as written
    const own = { by: 'dave', since: '2026-12-01T00:00:00.000Z', until: '2099-01-01T00:00:00.000Z' };
    const next = docWith(
      { 'us-east-1': { status: 'down' }, 'ap-northeast-2': { status: 'down', hold: own } as any },
      2,
    );
    writeFileSync(file, JSON.stringify(next));
    const again = await cli('doc', 'publish', file, '--yes', '--by', 'carol');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const kept = await live();
    expect(kept.regions['ap-northeast-2'].hold).toEqual(own);
    // and the region the first publish held stays held by its operator (this publish did not change it)
    expect(kept.regions['us-east-1'].hold).toMatchObject({ by: 'carol' });
  });

  test('refuses to leave a residency group with no region, unless --force', async () => {
    const r = await cli('doc', 'status', 'eu-central-1', 'down', '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused: residency group "eu" (DE FR IT ES NL) would have no region serving');
    expect(r.stderr).toContain('nothing written');
    await expect(live()).rejects.toThrow();
    expect((await cli('doc', 'status', 'eu-central-1', 'down', '--yes', '--force')).code).toBe(0);
    expect(await live()).toMatchObject({ regions: { 'eu-central-1': { status: 'down' } } });
  });

  test('without a terminal and without --yes: refused, nothing written', async () => {
    const r = await cli('doc', 'status', 'ap-northeast-2', 'down');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no terminal to confirm the write: pass --yes');
    await expect(live()).rejects.toThrow();
  });

  test.each([
    [['doc', 'status', 'mars-1', 'down', '--yes'], 'mars-1: not a region or environment'],
    [['doc', 'status', 'ap-northeast-2', 'sideways', '--yes'], 'expected up, down or auto'],
    [['doc', 'dial', 'ap-northeast-2', '100.001', '--yes'], 'expected 0-100 in steps of 0.01'],
    [['doc', 'canary', '100.001', '--yes'], 'expected 0-100 in steps of 0.01'],
    [
      ['doc', 'canary', '5', '--schedule', '2026-12-01T12:00:00Z=25,2026-12-01T09:00:00Z=10', '--yes'],
      '$.canary.schedule[1].at: schedule steps must be in time order',
    ],
    [['doc', 'canary', '5', '--regions', 'us-east-1', '--yes'], 'us-east-1: has no canaryOrigin'],
    [['doc', 'role', 'sa-east-1', 'primary', '--yes'], 'expected active, standby or pilot'],
  ])('bad input %j: a clear message, exit 1, the live document untouched', async (args, message) => {
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 9)));
    const r = await cli(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(await live()).toEqual(docWith({}, 9));
  });

  test('a malformed live document: named with its JSON path; a write refused until it is replaced', async () => {
    await s3.put(BUCKET, KEY, '{"version":1,"serial":"x","updatedAt":"2026-11-25T08:00:00Z","regions":{}}');
    const r = await cli('doc', 'dial', 'eu-central-1', '50', '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`s3://${BUCKET}/${KEY}: $.serial: `);
    expect(r.stderr).toContain('the live document is not valid');
    const file = join(tmp, 'fix.json');
    writeFileSync(file, JSON.stringify(docWith({}, 1)));
    expect((await cli('doc', 'publish', file, '--yes')).code).toBe(0);
  });

  test('never backwards: a file older than the live document is refused (--force publishes it as a new serial)', async () => {
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 10)));
    const file = join(tmp, 'stale.json');
    writeFileSync(file, JSON.stringify(docWith({ 'us-east-1': { status: 'down' } }, 5)));
    const r = await cli('doc', 'publish', file, '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} has serial 5, older than the live serial 10`);
    expect(await live()).toMatchObject({ serial: 10 });
    expect((await cli('doc', 'publish', file, '--yes', '--force')).code).toBe(0);
    expect(await live()).toMatchObject({ serial: 11, regions: { 'us-east-1': { status: 'down' } } });
    // the file made from the live document (doc get, edited) is the usual case: its serial is the live one
    writeFileSync(file, JSON.stringify(docWith({}, 11)));
    expect((await cli('doc', 'publish', file, '--yes')).code).toBe(0);
    expect(await live()).toMatchObject({ serial: 12 });
  });

  test('--serial goes past the serial the edges hold (after a restore); never to one not above the live one', async () => {
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 4)));
    const file = join(tmp, 'past.json');
    writeFileSync(file, JSON.stringify(docWith({}, 4)));
    for (const bad of ['4', '3', 'x', '-5']) {
      const r = await cli('doc', 'publish', file, '--yes', '--serial', bad);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^edge-router: --serial /m);
      expect(r.stderr).not.toMatch(NO_STACK);
    }
    expect(await live()).toMatchObject({ serial: 4 });
    const r = await cli('doc', 'publish', file, '--yes', '--serial', '12');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote serial 12');
    expect(await live()).toMatchObject({ serial: 12 });
  });

  test('a malformed file to publish: file and JSON path', async () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...docWith(), regions: { 'us-east-1': { status: 'maybe' } } }));
    const r = await cli('doc', 'publish', file, '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: $.regions["us-east-1"].status: `);
  });

  test('an S3 error (no such bucket): said, exit 1', async () => {
    const r = await cli('doc', 'dial', 'eu-central-1', '50', '--yes', '--bucket', 'no-such-bucket');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/s3:\/\/no-such-bucket\/health\.json: NoSuchBucket/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('history on a store without versioning: said plainly', async () => {
    const r = await cli('doc', 'history');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MethodNotAllowed|NotImplemented/);
    expect(r.stderr).toContain('doc history and doc rollback need S3 object versions (a versioned bucket)');
  });

  test('acceptance: doc status ap-northeast-2 down moves Korean viewers of the Lambda@Edge bundle within ttlSeconds', async () => {
    await s3.put(BUCKET, KEY, JSON.stringify(docWith({}, 1)));
    const bundle = buildOriginRequest(
      configWith({ bucket: BUCKET, key: KEY, region: 'us-east-1', endpoint: s3.endpoint, ttlSeconds: 0.5 }),
    );
    jest.spyOn(console, 'log').mockImplementation(() => {});
    const mod = coldStart(bundle);
    const korea = async () =>
      (await mod.handler(originRequest({ 'CloudFront-Viewer-Country': 'KR' }))).origin?.custom?.domainName;
    expect(await korea()).toBe('api.ap-northeast-2.example.com');
    expect((await cli('doc', 'status', 'ap-northeast-2', 'down', '--yes')).code).toBe(0);
    await new Promise((r) => setTimeout(r, 600));
    expect(await korea()).toBe('api.us-east-1.example.com');
    jest.restoreAllMocks();
  });
});

describe('simulate', () => {
  test("Seoul down: Korea's traffic moves to us-east-1, and Seoul's load to the regions that take it", () => {
    const from = join(tmp, 'from.json');
    const to = join(tmp, 'to.json');
    writeFileSync(from, JSON.stringify(docWith({}, 1)));
    writeFileSync(to, JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 2)));
    const r = spawnSync(
      process.execPath,
      [BIN, 'simulate', '--config', EXAMPLE_CONFIG, '--from', from, '--to', to, '--json'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.countries.KR).toMatchObject({
      before: { 'ap-northeast-2': 100 },
      after: { 'us-east-1': 100 },
    });
    expect(Object.keys(report.countries)[0]).toBe('CN'); // the largest share of traffic first
    expect(report.regions['ap-northeast-2'].after).toBe(0);
    expect(report.regions['ap-northeast-2'].before).toBeGreaterThan(10);
    expect(report.regions['us-east-1'].delta).toBeGreaterThan(0);
    expect(report.moved).toBeCloseTo(report.regions['ap-northeast-2'].before, 1);
    // deterministic
    const again = spawnSync(
      process.execPath,
      [BIN, 'simulate', '--config', EXAMPLE_CONFIG, '--from', from, '--to', to, '--json'],
      {
        encoding: 'utf8',
      },
    );
    expect(again.stdout).toBe(r.stdout);
    const text = spawnSync(
      process.execPath,
      [BIN, 'simulate', '--config', EXAMPLE_CONFIG, '--from', from, '--to', to],
      {
        encoding: 'utf8',
      },
    );
    expect(text.stdout).toMatch(/ap-northeast-2 → us-east-1: \d+\.\d\d%/);
    // a summary by default: the 10 countries that move the most traffic; --all lists every one
    const moving = Object.keys(report.countries);
    expect(moving.length).toBeGreaterThan(10);
    const listed = (out: string) => out.split('\n').filter((l) => /^ {4}[A-Z]{2} .*% of traffic\): /.test(l));
    expect(listed(text.stdout).map((l) => l.trim().slice(0, 2))).toEqual(moving.slice(0, 10));
    expect(text.stdout).toContain(`… and ${moving.length - 10} more (simulate --all lists them all)`);
    const all = spawnSync(
      process.execPath,
      [BIN, 'simulate', '--config', EXAMPLE_CONFIG, '--from', from, '--to', to, '--all'],
      { encoding: 'utf8' },
    );
    expect(listed(all.stdout)).toHaveLength(moving.length);
  });

  test('a traffic mix of your own; a broken one is named by line', () => {
    const mix = join(tmp, 'mix.csv');
    writeFileSync(mix, 'country,weight\nKR,3\nDE,1\n');
    const from = join(tmp, 'from.json');
    const to = join(tmp, 'to.json');
    const r = spawnSync(
      process.execPath,
      [BIN, 'simulate', '--config', EXAMPLE_CONFIG, '--from', from, '--to', to, '--traffic', mix, '--json'],
      {
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(r.stdout).moved).toBe(75);
    writeFileSync(mix, 'KR,3\nGermany,x\n');
    const bad = spawnSync(
      process.execPath,
      [BIN, 'simulate', '--config', EXAMPLE_CONFIG, '--from', from, '--to', to, '--traffic', mix],
      {
        encoding: 'utf8',
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`${mix}: line 2: expected "country,weight"`);
  });
});

describe('what no local S3 server does (aws-sdk-client-mock)', () => {
  // s3rver ignores If-Match and has no object versions: these paths are driven by a mocked S3 client.
  let mock: ReturnType<typeof mockClient>;
  beforeAll(() => {
    mock = mockClient(S3Client);
  });
  afterAll(() => mock.restore());
  let out: string[];
  const s3Error = (name: string, httpStatusCode: number, message: string) =>
    new S3ServiceException({
      name,
      $fault: httpStatusCode >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode },
      message,
    });
  // the part of the SDK's streaming body that the CLI reads
  const body = (doc: unknown) => ({ transformToString: async () => JSON.stringify(doc) });
  const run = (...args: string[]) =>
    main(['node', 'edge-router', ...args, '--config', EXAMPLE_CONFIG, '--endpoint', 'http://mocked.invalid']);

  beforeEach(() => {
    mock.reset();
    out = [];
    jest.spyOn(console, 'log').mockImplementation((l: string) => out.push(l));
    jest.spyOn(console, 'error').mockImplementation((l: string) => out.push(l));
  });
  afterEach(() => jest.restoreAllMocks());

  test('a conflicting write (412): re-read, show the new diff, write over the new ETag, keep both changes', async () => {
    const first = docWith({}, 5);
    const theirs = docWith({ 'eu-central-1': { dial: 40 } }, 6);
    mock
      .on(GetObjectCommand)
      .resolvesOnce({ Body: body(first), ETag: '"etag-5"' } as never)
      .resolvesOnce({ Body: body(theirs), ETag: '"etag-6"' } as never);
    mock
      .on(PutObjectCommand)
      .rejectsOnce(
        s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold'),
      )
      .resolves({ ETag: '"etag-7"' });
    expect(await run('doc', 'status', 'ap-northeast-2', 'down', '--yes')).toBe(0);
    const puts = mock.commandCalls(PutObjectCommand);
    expect(puts.map((c) => c.args[0].input.IfMatch)).toEqual(['"etag-5"', '"etag-6"']);
    const written = JSON.parse(String(puts[1].args[0].input.Body));
    expect(written).toMatchObject({
      serial: 7,
      regions: { 'eu-central-1': { dial: 40 }, 'ap-northeast-2': { status: 'down' } },
    });
    expect(out.join('\n')).toContain('conflict: the live document changed since it was read; re-reading');
    expect(out.filter((l) => l.includes('live: serial'))).toEqual([
      'live: serial 5, ETag "etag-5"',
      'live: serial 6, ETag "etag-6"',
    ]);
  });

  test('a first write when there is no document uses If-None-Match: *', async () => {
    mock.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404, 'no'));
    mock.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    expect(await run('doc', 'dial', 'eu-central-1', '50', '--yes')).toBe(0);
    expect(mock.commandCalls(PutObjectCommand)[0].args[0].input).toMatchObject({ IfNoneMatch: '*' });
  });

  test('an S3 error in the middle of a write (500 on PUT): said, exit 1, no retry over it', async () => {
    mock.on(GetObjectCommand).callsFake(() => ({ Body: body(docWith({}, 5)), ETag: '"e"' }));
    mock
      .on(PutObjectCommand)
      .rejects(s3Error('InternalError', 500, 'We encountered an internal error. Please try again.'));
    expect(await run('doc', 'status', 'ap-northeast-2', 'down', '--yes')).toBe(1);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(out.join('\n')).toContain(
      `s3://${BUCKET}/${KEY}: InternalError: We encountered an internal error`,
    );
    expect(out.join('\n')).not.toMatch(/^\s+at /m);
  });

  test('conflicts that keep coming: gives up after 3, nothing overwritten', async () => {
    mock.on(GetObjectCommand).callsFake(() => ({ Body: body(docWith({}, 5)), ETag: '"e"' }));
    mock.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412, 'x'));
    expect(await run('doc', 'dial', 'eu-central-1', '50', '--yes')).toBe(1);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(3);
    expect(out.join('\n')).toContain('kept changing (3 conflicts): nothing written');
  });

  test('history lists versions with their serials; rollback republishes the one before, as a new serial', async () => {
    const t = (m: number) => new Date(Date.UTC(2026, 10, 25, 8, m));
    mock.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: KEY, VersionId: 'v3', IsLatest: true, LastModified: t(3) },
        { Key: KEY, VersionId: 'v2', IsLatest: false, LastModified: t(2) },
        { Key: KEY, VersionId: 'v1', IsLatest: false, LastModified: t(1) },
      ],
    });
    const versions: Record<string, unknown> = {
      v3: docWith({ 'ap-northeast-2': { status: 'down' } }, 3),
      v2: docWith({}, 2),
      v1: docWith({}, 1),
    };
    mock.on(GetObjectCommand).callsFake((input: { VersionId?: string }) => ({
      Body: body(versions[input.VersionId ?? 'v3']),
      ETag: `"${input.VersionId ?? 'v3'}"`,
      VersionId: input.VersionId ?? 'v3',
    }));
    mock.on(PutObjectCommand).resolves({ ETag: '"v4"' });
    expect(await run('doc', 'history')).toBe(0);
    expect(out.filter((l) => /^v\d/.test(l))).toEqual([
      'v3  2026-11-25T08:03:00.000Z  serial 3  (live)',
      'v2  2026-11-25T08:02:00.000Z  serial 2',
      'v1  2026-11-25T08:01:00.000Z  serial 1',
    ]);
    expect(await run('doc', 'rollback', '--yes')).toBe(0);
    const put = mock.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put.IfMatch).toBe('"v3"');
    expect(JSON.parse(String(put.Body))).toMatchObject({
      serial: 4,
      regions: { 'ap-northeast-2': { status: 'up' } },
    });
    expect(await run('doc', 'rollback', '--to', 'v9', '--yes')).toBe(1);
    expect(out.join('\n')).toContain('no version v9');
  });
});

test('the README example config names this bucket', () => {
  expect(readJson<{ healthDoc: { bucket: string } }>(join(ROOT, 'router.config.json')).healthDoc.bucket).toBe(
    BUCKET,
  );
});

describe('AWS errors, each with the next step', () => {
  /** The built CLI against an endpoint of the test's choosing, with the environment given. */
  function docGet(env: NodeJS.ProcessEnv, ...args: string[]) {
    const r = spawnSync(process.execPath, [BIN, 'doc', 'get', ...args], { cwd: ROOT, encoding: 'utf8', env });
    return { code: r.status, stderr: r.stderr };
  }
  const local = join(ROOT, 'examples', 'local.config.json');

  test('no credentials: the variables, and for the local stack the export line', () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    };
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    delete env.AWS_PROFILE;
    const r = docGet(env, '--config', local, '--endpoint', 'http://localhost:9');
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/health\.json: could not load AWS credentials$/);
    expect(r.stderr).toContain('no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    expect(r.stderr).toContain(
      'for the local stack at http://localhost:9: export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER',
    );
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a refused connection: the endpoint, and whether the local stack runs', () => {
    const r = docGet(process.env, '--config', local, '--endpoint', 'http://127.0.0.1:9');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'nothing answers at http://127.0.0.1:9: is the local stack running (npm start)?',
    );
    // the first line in words, not the socket's error
    expect(r.stderr.split('\n')[0]).toMatch(/: connection refused by http:\/\/127\.0\.0\.1:9$/);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(r.stderr).not.toMatch(/ECONNREFUSED/);
  });

  test('no such bucket: the bucket, and the config that named it', async () => {
    const r = await cli('doc', 'get', '--bucket', 'no-such-bucket');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `no bucket no-such-bucket at ${s3.endpoint}: it is healthDoc.bucket of router.config.json (or --bucket)`,
    );
  });

  test('an endpoint that accepts and never answers: a bounded wait, then what to check', async () => {
    const sockets: import('node:net').Socket[] = [];
    const hung = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    const port = (hung.address() as import('node:net').AddressInfo).port;
    try {
      const r = await run(process.execPath, [
        BIN,
        'doc',
        'get',
        '--config',
        local,
        '--endpoint',
        `http://127.0.0.1:${port}`,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no answer from http://127.0.0.1:${port} in time`);
    } finally {
      for (const s of sockets) s.destroy();
      hung.close();
    }
  }, 40_000);
});
