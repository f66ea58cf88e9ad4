// Every command the start banner and the README offer against the local stack is true: the stack is started as
// `npm start` starts it (examples/local.config.json, the edge on 8080, the local S3 on 4569), and each command line
// of the banner's "Try" and "Operate" lists, and of the README's Quickstart, "Operating the document" and "The
// local edge" blocks, runs in a shell from the repository root, as a user would paste it. Each must exit 0, and where
// its comment names a target (`# Korea: ap-northeast-2`), print it.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { checkConfig } from '../../cli/load';
import { banner } from '../../local/banner';
import { type LocalStack, startLocal } from '../../local/stack';
import { ROOT } from '../helpers/load';
import { run as spawnRun } from '../helpers/spawn';

const CONFIG = join(ROOT, 'examples', 'local.config.json');
const checked = checkConfig(CONFIG);
if (!checked.success) throw new Error('examples/local.config.json is invalid');
const config = checked.data;
const TARGETS = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];
const dist = join(tmpdir(), `edge-router-commands-${process.pid}`);

let stack: LocalStack;
let text: string;

beforeAll(async () => {
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
  rmSync(join(ROOT, '.local', 'jar'), { force: true });
});

/** The command lines of a text: curl, export and npx edge-router lines, each with its comment. */
function commands(lines: readonly string[]): { line: string; claim: string }[] {
  return lines
    .map((l) => l.trim())
    .filter((l) => /^(curl |export |npx edge-router )/.test(l))
    .map((l) => {
      const hash = l.indexOf(' # ');
      return { line: hash < 0 ? l : l.slice(0, hash).trim(), claim: hash < 0 ? '' : l.slice(hash + 3) };
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
): Promise<{ code: number; output: string; after: string }> {
  const r = await spawnRun('bash', ['-c', `${line}\nstatus=$?; echo "::env::"; env; exit $status`], { env });
  const [output, after] = r.stdout.split('::env::\n');
  return { code: r.code ?? -1, output: `${output ?? ''}${r.stderr}`, after: after ?? '' };
}

/** Runs the lines one after the other, as in one terminal (what an export sets stays set); each line's result. */
async function run(cmds: readonly { line: string }[]) {
  const out: { line: string; code: number; output: string }[] = [];
  let env: NodeJS.ProcessEnv = { ...process.env };
  for (const { line } of cmds) {
    const r = await sh(line, env);
    if (line.startsWith('export '))
      env = Object.fromEntries(
        r.after
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
    out.push({ line, code: r.code, output: r.output });
  }
  return out;
}

async function check(cmds: { line: string; claim: string }[]) {
  expect(cmds.length).toBeGreaterThan(0);
  const results = await run(cmds);
  results.forEach((r, i) => {
    expect({ line: r.line, code: r.code, output: r.code ? r.output : '' }).toEqual({
      line: r.line,
      code: 0,
      output: '',
    });
    // a target the comment names (after a colon) is in what the command printed
    const named = TARGETS.filter((t) => new RegExp(`:\\s*${t}\\b`).test(cmds[i].claim));
    for (const t of named)
      expect({ line: r.line, mentions: r.output.includes(t) }).toEqual({ line: r.line, mentions: true });
  });
}

test("the banner's commands", async () => {
  const lines = text.split('\n');
  const cmds = commands(lines);
  // the banner shows holds, dials and handing back, as the README does
  const said = cmds.map((c) => c.line).join('\n');
  expect(said).toMatch(/doc status ap-northeast-2 auto/);
  expect(said).toMatch(/doc dial .* --for /);
  expect(said).toMatch(/doc canary 10 /);
  await check(cmds);
}, 120_000);

test("the README's local edge block, Quickstart and Operating commands against npm start's stack", async () => {
  await check([
    ...commands(readmeBlock('The local edge: `npm start`')),
    ...commands(readmeBlock('Quickstart')),
    // explain --ip-file needs a file of the reader's own addresses: the line is an example of a form
    ...commands(readmeBlock('Operating the document: `edge-router doc` and `simulate`')).filter(
      (c) => !c.line.includes('--ip-file'),
    ),
  ]);
}, 120_000);

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
