// The build (`node esbuild.config.mjs --config FILE --outdir DIR`): a bad config fails it with the validator's lines.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COUNTRIES, compileRouter, parseRouterConfig } from '../shared';
import { coldStart } from './helpers/bundle';
import { originRequest } from './helpers/fixtures';
import { EXAMPLE_CONFIG, ROOT, readJson, TWELVE_CONFIG } from './helpers/load';

const dir = mkdtempSync(join(tmpdir(), 'edge-router-build-test-'));

function build(config: unknown) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  // a folder per build: jest keeps a file's text once read, so a bundle rebuilt at the same path would load as it was
  const outdir = mkdtempSync(join(dir, 'out-'));
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'esbuild.config.mjs'), '--config', file, '--outdir', outdir],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  return { ...r, file, outdir };
}

test('a bad config fails the build: one line per problem with file and JSON path, no stack trace, no function', () => {
  const c = readJson<any>(EXAMPLE_CONFIG);
  c.regions['us-east-1'].origin.port = 22;
  c.fallbackRegion = 'mars-1';
  const r = build(c);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `${r.file}: $.regions["us-east-1"].origin.port: must be 80, 443 or an integer from 1024 to 65535`,
  );
  expect(r.stderr).toContain(`${r.file}: $.fallbackRegion: "mars-1" is not a configured region`);
  expect(r.stderr).toContain('build failed');
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(existsSync(join(r.outdir, 'origin-request', 'index.js'))).toBe(false);
});

test('a good config builds both Lambda@Edge functions with the config baked in', () => {
  const c = readJson<any>(EXAMPLE_CONFIG);
  c.regions['us-east-1'].origin.domainName = 'baked.us-east-1.example.com';
  const r = build(c);
  expect(r.status).toBe(0);
  const mod = require(join(r.outdir, 'origin-request', 'index.js'));
  expect(typeof mod.handler).toBe('function');
  expect(readFileSync(join(r.outdir, 'origin-request', 'index.js'), 'utf8')).toContain(
    'baked.us-east-1.example.com',
  );
  expect(existsSync(join(r.outdir, 'origin-response', 'index.js'))).toBe(true);
});

// (into a folder of the test's own, never dist/)
const out = join(dir, 'never');
test.each([
  [['--config', 'missing.json', '--outdir', out], 'build failed: cannot read missing.json: no such file'],
  [
    ['--confg', 'x', '--outdir', out],
    "build failed: Unknown option '--confg' (usage: node esbuild.config.mjs [--config FILE] [--outdir DIR])",
  ],
  [['--outdir'], "build failed: Option '--outdir <value>' argument missing"],
])('node esbuild.config.mjs %j: one line, exit 1, no stack trace', (args, message) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'esbuild.config.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(message);
  expect(r.stderr).not.toMatch(/^\s+at |node:internal/m);
});

test('a build over a size limit leaves no oversized file behind for a deploy to pick up', () => {
  // twelve regions, runtime cloudfront-functions: the viewer-request file is over CloudFront's 10,240 bytes today
  // (issue 15); whatever the reason a build fails, the file it could not accept is not in the output folder
  const outdir = mkdtempSync(join(dir, 'oversized-'));
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'esbuild.config.mjs'), '--config', TWELVE_CONFIG, '--outdir', outdir],
    { cwd: ROOT, encoding: 'utf8' },
  );
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^build failed: viewer-request\/index\.js is \d+ bytes/m);
  expect(existsSync(join(outdir, 'viewer-request', 'index.js'))).toBe(false);
});

describe('the Lambda@Edge bundle is small: a cold start requires it on a viewer request', () => {
  const BUDGET = 150 * 1024;
  test.each([
    ['the example config', EXAMPLE_CONFIG],
    ['twelve regions', TWELVE_CONFIG],
  ])(
    '%s: origin-request/index.js is at most 150 KB, with no AWS SDK client in it, and nothing that compiles a config',
    (_, file) => {
      const c = { ...readJson<any>(file), runtime: 'lambda-edge' };
      const r = build(c);
      expect(r.status).toBe(0);
      const text = readFileSync(join(r.outdir, 'origin-request', 'index.js'), 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(BUDGET);
      expect(text).not.toMatch(/S3Client|GetObjectCommand|@aws-sdk\/client-s3/);
      // the country table, ipaddr.js and jsonc-parser: the build compiled the router, so the function carries none of
      // them (the CLI, built from the same sources, carries all three: the markers are theirs)
      const markers = /"Andorra"|isValidFourPartDecimal|UnexpectedEndOfComment/g;
      expect(text.match(markers)).toBeNull();
      const cli = readFileSync(join(r.outdir, 'cli', 'index.js'), 'utf8');
      expect(new Set(cli.match(markers))).toEqual(
        new Set(['"Andorra"', 'isValidFourPartDecimal', 'UnexpectedEndOfComment']),
      );
    },
  );

  test('its latency matrix holds only the columns it reads, and it routes every country as a router compiled with the whole matrix', async () => {
    // no healthDoc: both route on "every region up", with nothing to fetch
    const { healthDoc: _, ...c } = { ...readJson<any>(TWELVE_CONFIG), runtime: 'lambda-edge' };
    const r = build(c);
    const mod = coldStart(join(r.outdir, 'origin-request', 'index.js'));
    const config = parseRouterConfig(c);
    if (!config.success) throw new Error('the twelve-region config is valid');
    const whole = mod.createEdge({
      config: config.data,
      router: compileRouter(config.data),
      docs: { current: async () => ({ doc: null, stale: false, ageMs: null }) },
      telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
    });
    for (const cc of COUNTRIES.keys()) {
      const event = originRequest({ 'CloudFront-Viewer-Country': cc });
      const baked = await mod.handler(structuredClone(event));
      expect(baked.headers['x-route-decision']?.[0]?.value).toMatch(/reason=(nearest|residency)/);
      expect(baked).toEqual(await whole.handler(structuredClone(event)));
    }
    const text = readFileSync(join(r.outdir, 'origin-request', 'index.js'), 'utf8');
    // a column no function built from this config reads (Cape Town: neither configured nor the way to a site): its
    // row stays (an anchor ranks from it), but no other row names it, where the whole matrix has it in about 30
    expect(Object.keys(config.data.regions)).not.toContain('af-south-1');
    expect(text.split('"af-south-1":').length - 1).toBe(1);
  });
});
