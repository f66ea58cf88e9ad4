// Every command the start banner and the README offer against the local stack is true: the stack is started as
// `npm start` starts it (examples/local.config.json, the edge on 8080, the local S3 on 4569, the in-process health
// checker), and each command line of the banner's "Try" and "Operate" lists, and of the README's Quickstart,
// "Operating the document" and "The local edge" blocks, runs in a shell from the repository root, as a user would
// paste it, one after the other as in one terminal (what an export sets stays set; the shell starts without AWS
// credentials, as a user's does). Each must exit 0, and what its comment claims is checked right after it, before
// the next line runs: the region a viewer is served by, the trace an authorised viewer gets back, the affinity cookie
// and the read it steers, the move within the TTL and the hold against the health checker, the hand-back, the hold's
// end, the dial's and the canary's shares at the edge, and what `doc get` shows. A comment that no check below
// understands fails the test: a new claim needs its check. Each block starts on a fresh stack's document (every target
// up, nothing held) and no cookie jar, as after `npm start`.
//
// Shares are measured on distinct viewers (the local config has no sticky cookie or header, so the key of a dial or
// a canary bucket is the viewer's address): N addresses of one country, one request each, and the share must lie
// within p ± 4·sqrt(p(1-p)/N) (N = 1000: ±3.8 points at 10 %, ±5.8 at 30 %). The buckets are a hash of the key, so
// for a true share a count outside that bound has a chance of about 6e-5 (binomial, normal approximation); the
// addresses are fixed, so the count is the same on every run.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { checkConfig } from '../../cli/load';
import { banner } from '../../local/banner';
import { type LocalStack, startLocal } from '../../local/stack';
import type { HealthDoc } from '../../shared';
import { everyTargetUp } from '../../shared/health-check';
import { ROOT } from '../helpers/load';
import { run as spawnRun } from '../helpers/spawn';

const CONFIG = join(ROOT, 'examples', 'local.config.json');
const checked = checkConfig(CONFIG);
if (!checked.success) throw new Error('examples/local.config.json is invalid');
const config = checked.data;
const TARGETS = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];
const dist = join(tmpdir(), `edge-router-commands-${process.pid}`);
const TTL_MS = (config.healthDoc?.ttlSeconds ?? 0) * 1000;
const PROBE = config.health?.probe;
const LOCAL_DIR = join(ROOT, '.local');
/** N, the viewers a share is measured on */
const N = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: LocalStack;
let text: string;
/** whether this test made .local (npm start makes it: its bundles go to .local/dist, its jar beside them) */
let madeLocal = false;

beforeAll(async () => {
  // the viewer key of dials and canaries is the address only without a sticky cookie or header
  expect(config.sticky).toBeUndefined();
  expect(PROBE).toBeDefined();
  if (!existsSync(LOCAL_DIR)) {
    mkdirSync(LOCAL_DIR);
    madeLocal = true;
  }
  stack = await startLocal({ config, configFile: CONFIG, dist, port: 8080, log: join(dist, 'edge.log') });
  text = banner({
    stack,
    config,
    runtime: 'lambda-edge',
    dist,
    log: join(dist, 'edge.log'),
    cfg: relative(ROOT, CONFIG),
  });
}, 90_000);

afterAll(async () => {
  await stack?.close();
  rmSync(dist, { recursive: true, force: true });
  rmSync(join(LOCAL_DIR, 'jar'), { force: true });
  if (madeLocal && existsSync(LOCAL_DIR) && readdirSync(LOCAL_DIR).length === 0)
    rmSync(LOCAL_DIR, { recursive: true });
});

interface Cmd {
  readonly line: string;
  readonly claim: string;
}

/** The command lines of a text: curl, export and npx edge-router lines, each with its comment. */
function commands(lines: readonly string[]): Cmd[] {
  return lines
    .map((l) => l.trim())
    .filter((l) => /^(curl |export |npx edge-router )/.test(l))
    .map((l) => {
      const hash = l.indexOf(' # ');
      return {
        line: hash < 0 ? l : l.slice(0, hash).trim(),
        claim: hash < 0 ? '' : l.slice(hash + 3).trim(),
      };
    });
}

/** The sh blocks of the README section under `heading`. */
function readmeBlock(heading: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n'));
}

/** One line in bash (asynchronously: the stack answers from this process): its output, and the environment after. */
async function sh(
  line: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; output: string; after: string }> {
  const r = await spawnRun('bash', ['-c', `${line}\nstatus=$?; echo "::env::"; env; exit $status`], { env });
  const [stdout, after] = r.stdout.split('::env::\n');
  return {
    code: r.code ?? -1,
    stdout: stdout ?? '',
    output: `${stdout ?? ''}${r.stderr}`,
    after: after ?? '',
  };
}

// ---- the stack, seen as a viewer and in S3

interface Served {
  readonly status: number;
  readonly region: string;
  readonly reason: string;
  readonly serial: number;
  readonly country?: string;
}

/** One request from a simulated viewer at `ip`, as the edge answers it (the demo backend's JSON). */
async function viewer(ip: string, path = '/hello'): Promise<Served> {
  const r = await fetch(`http://127.0.0.1:8080${path}`, { headers: { 'x-forwarded-for': ip } });
  return served(await r.text(), r.status);
}

function served(body: string, status = 200): Served {
  const b = JSON.parse(body) as {
    region: string;
    route: Record<string, string>;
    viewer: Record<string, string>;
  };
  return {
    status,
    region: b.region,
    reason: b.route['x-route-reason'],
    serial: Number(/doc=(\d+)/.exec(b.route['x-route-decision'] ?? '')?.[1]),
    country: b.viewer['cloudfront-viewer-country'],
  };
}

/** N viewers of a country, one request each (distinct addresses in a range geoip-lite places there; checked). */
async function crowd(country: 'KR' | 'DE' | 'GB', n = N): Promise<Served[]> {
  const prefix = { KR: '1.208', DE: '85.214', GB: '86.128' }[country];
  const ips = Array.from({ length: n }, (_, i) => `${prefix}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  const out: Served[] = [];
  for (let i = 0; i < ips.length; i += 50)
    out.push(...(await Promise.all(ips.slice(i, i + 50).map((ip) => viewer(ip)))));
  expect(out.filter((s) => s.country !== country || s.status !== 200)).toEqual([]);
  return out;
}

/** The share of `served` that `pred` holds for, and whether it is within p ± 4σ of a binomial(N, p). */
function share(s: readonly Served[], pred: (x: Served) => boolean, p: number) {
  const got = s.filter(pred).length / s.length;
  const tol = 4 * Math.sqrt((p * (1 - p)) / s.length);
  return { p, got, within: Math.abs(got - p) <= tol, tol: Number(tol.toFixed(4)) };
}

/** Polls `ok` (every 100 ms) for at most `ms`: the ms it took, or Infinity. */
async function within(ms: number, ok: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start <= ms) {
    if (await ok()) return Date.now() - start;
    await sleep(100);
  }
  return Number.POSITIVE_INFINITY;
}

/** 20 Korean viewers: whether every one is (or is not) on ap-northeast-2. */
async function koreaOnSeoul(on: boolean): Promise<boolean> {
  return (await crowd('KR', 20)).every((s) => (s.region === 'ap-northeast-2') === on);
}

async function liveDoc(): Promise<HealthDoc> {
  const src = config.healthDoc as NonNullable<typeof config.healthDoc>;
  const r = await stack.s3.send(new GetObjectCommand({ Bucket: src.bucket, Key: src.key }));
  return JSON.parse(
    await (r.Body as { transformToString(): Promise<string> }).transformToString(),
  ) as HealthDoc;
}

/** Within the TTL the edge routes with the live document (a Korean viewer's decision names its serial). */
async function edgeOnLive(): Promise<void> {
  const serial = (await liveDoc()).serial;
  const ms = await within(TTL_MS, async () => (await viewer('1.208.0.1')).serial === serial);
  expect({ serial, routedWithinMs: ms <= TTL_MS }).toEqual({ serial, routedWithinMs: true });
}

/** A fresh stack's document (every target up, nothing held), routed by the edge; no cookie jar. */
async function fresh(): Promise<void> {
  const serial = (await liveDoc()).serial + 1;
  await stack.putDoc(everyTargetUp(config, serial, new Date().toISOString()));
  rmSync(join(LOCAL_DIR, 'jar'), { force: true });
  expect(await within(10_000, async () => (await viewer('1.208.0.1')).serial === serial)).toBeLessThan(
    10_000,
  );
}

/** The response a `curl -s[i]` line printed: its headers (with -i) and the backend's JSON. */
function printed(output: string): { headers: string; body: Served } {
  const body = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!body) throw new Error(`no JSON answer in ${JSON.stringify(output)}`);
  return { headers: output.slice(0, output.indexOf(body)), body: served(body) };
}

/** The cookies a curl jar holds (Netscape format): name → value and expiry (epoch seconds). */
function jar(file: string): Map<string, { value: string; expires: number }> {
  const out = new Map<string, { value: string; expires: number }>();
  if (!existsSync(join(ROOT, file))) return out;
  for (const l of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
    const f = l.replace(/^#HttpOnly_/, '').split('\t');
    if (f.length === 7 && !l.startsWith('# ')) out.set(f[5], { value: f[6], expires: Number(f[4]) });
  }
  return out;
}

// ---- the claims

interface Ran {
  readonly line: string;
  readonly stdout: string;
  readonly output: string;
  readonly env: NodeJS.ProcessEnv;
}

/** What `m` (the comment matched) claims of `r` (the line just run), as expectations; each claim one entry. */
const CLAIMS: { readonly claim: RegExp; readonly check: (r: Ran, m: RegExpMatchArray) => Promise<void> }[] = [
  {
    // `# Korea: ap-northeast-2`, `# a German viewer: eu-central-1`: the viewer is served there
    claim: /^(?:a Korean viewer|a German viewer|Korea|Germany): (\S+)$/,
    async check(r, m) {
      expect(TARGETS).toContain(m[1]);
      expect({ line: r.line, region: printed(r.stdout).body.region }).toEqual({ line: r.line, region: m[1] });
    },
  },
  {
    // an authorised viewer (the VPN's range is in override.allowCidrs) gets the target it asked for, and the trace
    claim: /^QA (?:from the VPN picks|VPN:) (\S+)$/,
    async check(r, m) {
      const { headers, body } = printed(r.stdout);
      expect({ region: body.region, reason: body.reason }).toEqual({ region: m[1], reason: 'override' });
      expect(headers).toMatch(
        new RegExp(`^x-route-decision: target=${m[1]}; reason=override; doc=\\d+; stale=0\\r?$`, 'im'),
      );
    },
  },
  {
    // the write is served by the Korean viewer's region, whose signed cookie curl keeps in its jar
    claim: /^a write from Korea sets (?:the affinity cookie|(\S+))$/,
    async check(r, m) {
      const cookie = config.affinity?.cookie as string;
      if (m[1]) expect(m[1]).toBe(cookie);
      expect(printed(r.stdout).body.region).toBe('ap-northeast-2');
      const file = /-c (\S+)/.exec(r.line)?.[1] as string;
      expect(jar(file).get(cookie)?.value).toMatch(/^ea1\.local\.ap-northeast-2\.\d+\.[\w-]{43}$/);
    },
  },
  {
    // with the jar's cookie, a read from the UK (nearest: eu-central-1) goes to Seoul; `(300 s)`: the cookie's life
    claim: /^the same user in the UK (?:still )?reads from Seoul(?: \((\d+) s\))?$/,
    async check(r, m) {
      const { body } = printed(r.stdout);
      expect({ country: body.country, region: body.region, reason: body.reason }).toEqual({
        country: 'GB',
        region: 'ap-northeast-2',
        reason: 'affinity',
      });
      if (m[1]) {
        const file = /-b (\S+)/.exec(r.line)?.[1] as string;
        const expires = jar(file).get(config.affinity?.cookie as string)?.expires ?? 0;
        expect(config.affinity?.ttlSeconds).toBe(Number(m[1]));
        // written a few seconds ago at most, with Max-Age = the claimed life
        expect(Math.abs(expires - (Date.now() / 1000 + Number(m[1])))).toBeLessThan(15);
      }
    },
  },
  {
    // the shells start without AWS credentials: the doc commands after this line authenticate with what it sets
    claim: /^the local S3's credentials$/,
    async check(r) {
      const get = await sh('npx edge-router doc get --config examples/local.config.json', r.env);
      expect({ code: get.code, output: get.code ? get.output : '' }).toEqual({ code: 0, output: '' });
    },
  },
  {
    // every Korean viewer moves within the TTL (the banner: "traffic moves within N s"), and, the backend healthy and
    // probed all along, is still moved three probe intervals later: the health checker leaves the held status alone
    claim: /^(?:held: the health checker leaves it|Korea moves within (\d+) s, and stays moved \(held\))$/,
    async check(r, m) {
      const ms = m[1] ? Number(m[1]) * 1000 : Number(/traffic moves within (\d+) s/.exec(text)?.[1]) * 1000;
      expect(ms).toBeGreaterThan(0);
      expect(r.output).toMatch(/^ap-northeast-2: held by \S+ since /m);
      expect(await within(ms, () => koreaOnSeoul(false))).toBeLessThanOrEqual(ms);
      await sleep(3 * (PROBE?.intervalSeconds ?? 1) * 1000 + 500);
      expect((await crowd('KR', 20)).filter((s) => s.region === 'ap-northeast-2')).toEqual([]);
      expect((await liveDoc()).regions['ap-northeast-2']).toMatchObject({
        status: 'down',
        setBy: 'operator',
      });
    },
  },
  {
    // the hold is gone, and the checker (which sees Seoul healthy) brings it up: Korea comes back within rise probe
    // intervals, the checker's write reaching the edge within the TTL (plus a probe interval and 3 s of room)
    claim: /^handed back(?: to the health checker|: the health checker brings it up)$/,
    async check(r) {
      expect(r.output).toMatch(/^ap-northeast-2: handed back to the health checker/m);
      const bound = ((PROBE?.rise ?? 1) + 1) * (PROBE?.intervalSeconds ?? 1) * 1000 + TTL_MS + 3000;
      expect(await within(bound, () => koreaOnSeoul(true))).toBeLessThanOrEqual(bound);
      const seoul = (await liveDoc()).regions['ap-northeast-2'];
      expect({ status: seoul.status, setBy: seoul.setBy, held: seoul.hold !== undefined }).toEqual({
        status: 'up',
        setBy: 'probe',
        held: false,
      });
    },
  },
  {
    // `--for 30m`: the document's hold ends 30 minutes after it began; and the dial is in force at the edge within
    // the TTL: of N British viewers (nearest: eu-central-1), the dial's share stays there, the rest spill
    claim: /^a hold that ends by itself$/,
    async check(r) {
      const [, id, dial] = /doc dial (\S+) (\d+)/.exec(r.line) ?? [];
      const forMin = Number(/--for (\d+)m\b/.exec(r.line)?.[1]);
      expect(forMin).toBeGreaterThan(0);
      const hold = (await liveDoc()).regions[id]?.hold;
      expect(hold?.until).toBeDefined();
      expect(Date.parse(hold?.until as string) - Date.parse(hold?.since as string)).toBe(forMin * 60_000);
      expect(r.output).toContain(`${id}: held by ${hold?.by} since ${hold?.since}, until ${hold?.until}`);
      await edgeOnLive();
      expect(id).toBe('eu-central-1'); // the viewers below are eu-central-1's (GB is in no residency group)
      const s = await crowd('GB');
      expect(s.filter((x) => x.region !== id && x.reason !== 'dial-spill')).toEqual([]);
      expect(share(s, (x) => x.region === id, Number(dial) / 100)).toMatchObject({ within: true });
    },
  },
  {
    // within the TTL, of N German viewers (residency: eu-central-1's alone) that share goes to eu-central-1's canary
    // origin, the rest to eu-central-1; no Korean viewer goes to a canary (Seoul has no canary origin)
    claim: /^(\d+) ?% of (\S+)'s viewers to its canary$/,
    async check(_r, m) {
      await edgeOnLive();
      expect(m[2]).toBe('eu-central-1');
      const s = await crowd('DE');
      expect(s.filter((x) => x.region !== m[2] && x.region !== `canary.${m[2]}`)).toEqual([]);
      expect(share(s, (x) => x.region === `canary.${m[2]}`, Number(m[1]) / 100)).toMatchObject({
        within: true,
      });
      expect((await crowd('KR', 100)).filter((x) => x.region.startsWith('canary.'))).toEqual([]);
    },
  },
  {
    // within the TTL no German viewer goes to the canary any more
    claim: /^the canary off again$/,
    async check() {
      await edgeOnLive();
      expect((await crowd('DE')).filter((x) => x.region !== 'eu-central-1')).toEqual([]);
    },
  },
  {
    // a line per target with what the local vantage's probes see, and each hold of the live document on its line
    claim: /^who holds what, and what the probes see$/,
    async check(r) {
      const vantage = config.health?.vantages[0] as string;
      for (const t of TARGETS)
        expect(r.output).toMatch(new RegExp(`^\\s+${t}\\s+(up|down)\\s.*\\b${vantage} [+-]+ \\d{3}\\b`, 'm'));
      const doc = await liveDoc();
      const held = Object.entries(doc.regions).filter(([, s]) => s.hold);
      expect(held.length).toBeGreaterThan(0); // the banner's dial holds for 30 minutes
      for (const [id, s] of held)
        expect(r.output).toMatch(
          new RegExp(`^\\s+${id}\\s.*held by ${s.hold?.by} since ${s.hold?.since}`, 'm'),
        );
    },
  },
  {
    // it runs against the document npm start's stack serves
    claim: /^against npm start's stack$/,
    async check(r) {
      const src = config.healthDoc as NonNullable<typeof config.healthDoc>;
      expect(r.output).toContain(`wrote serial ${(await liveDoc()).serial} to s3://${src.bucket}/${src.key}`);
    },
  },
];

/** Runs the lines one after the other, as in one terminal, each checked (exit 0, and its comment's claim) at once. */
async function check(cmds: readonly Cmd[]) {
  expect(cmds.length).toBeGreaterThan(0);
  // a user's shell has no AWS credentials until the export (the test's process has s3rver's, for the stack)
  let env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  for (const { line, claim } of cmds) {
    const claims = claim ? CLAIMS.filter((c) => c.claim.test(claim)) : [];
    // every comment is a claim that one check understands
    expect({ line, claim, checks: claims.length }).toEqual({ line, claim, checks: claim ? 1 : 0 });
    const r = await sh(line, env);
    if (line.startsWith('export '))
      env = Object.fromEntries(
        r.after
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
    expect({ line, code: r.code, output: r.code ? r.output : '' }).toEqual({ line, code: 0, output: '' });
    if (claims[0])
      await claims[0].check(
        { line, stdout: r.stdout, output: r.output, env },
        claim.match(claims[0].claim) as RegExpMatchArray,
      );
  }
}

test("the banner's commands", async () => {
  const lines = text.split('\n');
  const cmds = commands(lines);
  // the banner shows holds, dials and handing back, as the README does
  const said = cmds.map((c) => c.line).join('\n');
  expect(said).toMatch(/doc status ap-northeast-2 auto/);
  expect(said).toMatch(/doc dial .* --for /);
  expect(said).toMatch(/doc canary 10 /);
  await fresh();
  await check(cmds);
}, 180_000);

test("the README's local edge block, Quickstart and Operating commands against npm start's stack", async () => {
  await fresh();
  await check([
    ...commands(readmeBlock('The local edge: `npm start`')),
    ...commands(readmeBlock('Quickstart')),
    // explain --ip-file needs a file of the reader's own addresses: the line is an example of a form
    ...commands(readmeBlock('Operating the document: `edge-router doc` and `simulate`')).filter(
      (c) => !c.line.includes('--ip-file'),
    ),
  ]);
}, 180_000);

test('the edge log holds the decisions, readable, and the metrics go to their own file', async () => {
  const r = await fetch('http://127.0.0.1:8080/hello', { headers: { 'x-forwarded-for': '1.208.0.1' } });
  await r.text();
  const logFile = join(dist, 'edge.log');
  let lines: string[] = [];
  for (let i = 0; i < 50; i++) {
    lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    if (lines.some((l) => l.includes(' 1.208.0.1 KR '))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(lines.find((l) => l.includes('GET /hello  1.208.0.1 KR '))).toMatch(
    /^\d{4}-\d\d-\d\dT\S+Z {2}GET \/hello {2}1\.208\.0\.1 KR {2}→ \S+ \(\w[\w-]*\) {2}doc \d+ {2}200$/,
  );
  // the function's events are readable too (a document load, at least), and no line is JSON or EMF
  expect(lines.some((l) => / info {2}doc-load {2}.*\bserial=\d+ /.test(l))).toBe(true);
  expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
  // the metrics file holds the EMF lines (flushed every 5 s while requests come, and at the latest on stop)
  const metrics = join(dist, 'metrics.log');
  let emf: string[] = [];
  for (let i = 0; i < 70 && !emf.length; i++) {
    await fetch('http://127.0.0.1:8080/hello', { headers: { 'x-forwarded-for': '85.214.0.1' } }).then((x) =>
      x.text(),
    );
    emf = readFileSync(metrics, 'utf8').split('\n').filter(Boolean);
    if (!emf.length) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(emf.length).toBeGreaterThan(0);
  for (const l of emf) expect(JSON.parse(l)._aws.CloudWatchMetrics[0].Namespace).toBe('EdgeRouter');
}, 30_000);
