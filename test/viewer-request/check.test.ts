// The static check of the CloudFront Functions file (scripts/check-cff.cjs), which the build runs: it passes the
// built file and catches what the runtime would reject or break on.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AWS_REGIONS } from '../../shared';
import { exampleConfig, ROOT } from '../helpers/load';

type Check = { checkCloudFrontFunction(code: string): string[]; sizeProblem(code: string): string | null };
const check = require(join(ROOT, 'scripts', 'check-cff.cjs')) as Check;

const ok = (body: string) =>
  `import cf from 'cloudfront';\n${body}\nasync function handler(event) { return event.request; }`;

test('the built file passes', () => {
  const code = readFileSync(join(ROOT, 'dist', 'viewer-request', 'index.js'), 'utf8');
  expect(check.checkCloudFrontFunction(code)).toEqual([]);
  expect(code).toMatch(/^import [\w$]+ from"cloudfront";import [\w$]+ from"crypto";/);
  // CloudFront calls the top-level handler: the exported function, renamed so (once, nothing else names it)
  expect(code.match(/(?:^|[;}])(?:async )?function handler\([\w$]+\)\{/g)).toHaveLength(1);
});

test("the example config's file fits CloudFront's 10,240 bytes, with every rule in it", () => {
  const code = readFileSync(join(ROOT, 'dist', 'viewer-request', 'index.js'), 'utf8');
  expect(check.sizeProblem(code)).toBeNull();
  // every rule is there: override (allow-lists and tokens), network routes, affinity, the dial walk, the canary
  // schedule and origin groups (the strings and calls the build keeps; the trace words are dropped)
  for (const kept of [
    'x-route-to',
    'x-route-token',
    'route_affinity',
    'canary.',
    'createRequestOriginGroup',
    'er1',
    'ea1',
  ])
    expect(code).toContain(kept);
});

test('a minimal valid function passes', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the sample is code with a template literal in it
  expect(check.checkCloudFrontFunction(ok('const a = `x${1}`; let b = (...r) => r.length ** 2;'))).toEqual(
    [],
  );
});

test.each([
  ['export', 'export { handler };', 'export'],
  ['exports (CommonJS)', 'exports.handler = handler;', 'exports: not in the runtime'],
  ['require', "const fs = require('fs');", 'require: not in the runtime'],
  ['an import of another module', "import fs from 'fs';", 'only a default import of cloudfront or crypto'],
  ['a named import', "import { kvs } from 'cloudfront';", 'only a default import'],
  ['class', 'class A {}', 'class'],
  ['for-of', 'for (const x of []) {}', 'for-of'],
  ['destructuring', 'const { a } = {};', 'destructuring'],
  ['a default parameter', 'function f(a = 1) { return a; }', 'a default parameter'],
  ['spread', 'const a = [...[1]];', 'spread'],
  ['optional chaining', 'const a = ({}).b?.c;', 'optional chaining'],
  ['nullish coalescing', 'const a = null ?? 1;', 'nullish coalescing'],
  ['an async closure', 'const f = async () => 1;', 'async closure'],
  ['a generator', 'function* g() { yield 1; }', 'a generator'],
  ['Map', 'const m = new Map();', 'Map: not in the runtime'],
  ['WeakMap', 'const m = new WeakMap();', 'WeakMap: not in the runtime'],
  ['Object.hasOwn', 'Object.hasOwn({}, "a");', 'Object.hasOwn: not in the runtime'],
  ['Array.from', 'Array.from("ab");', 'Array.from: not in the runtime'],
  ['eval', 'eval("1");', 'eval: not in the runtime'],
  ['a timer', 'setTimeout(() => 1, 1);', 'setTimeout: not in the runtime'],
  ['process', 'const e = process.env;', 'process: not in the runtime'],
  ['console.log with two arguments', 'console.log("a", "b");', 'console.log takes exactly one argument'],
  ['console.error', 'console.error("a");', 'only console.log'],
  ['a RegExp lookbehind', 'const r = /(?<=a)b/;', 'lookbehind'],
  ['a RegExp flag the runtime lacks', 'const r = /a/s;', 'RegExp flag'],
  ['a shorthand method', 'const o = { f() { return 1; } };', 'a shorthand method'],
  ['a shorthand property', 'const a = 1; const o = { a };', 'a shorthand property'],
])('refuses %s', (_what, body, problem) => {
  const problems = check.checkCloudFrontFunction(ok(body));
  expect(problems.join('\n')).toContain(problem);
});

test('the cloudfront import must come first', () => {
  expect(check.checkCloudFrontFunction(`var a = 1;\n${ok('')}`).join('\n')).toContain('must come first');
});

test('a file without a top-level handler is refused', () => {
  expect(
    check.checkCloudFrontFunction("import cf from 'cloudfront';\nfunction main(e) { return e; }"),
  ).toEqual(['no top-level `function handler(event)`']);
});

test('the size limit is 10 KB, counted in UTF-8 bytes', () => {
  expect(check.sizeProblem('x'.repeat(10240))).toBeNull();
  expect(check.sizeProblem('x'.repeat(10241))).toBe('10241 bytes; CloudFront Functions allow 10240');
  expect(check.sizeProblem('é'.repeat(5121))).toBe('10242 bytes; CloudFront Functions allow 10240');
});

test('a config that deploys CloudFront Functions fails the build when the file does not fit', () => {
  // 30 regions with long domain names and canaries: more than 10 KB of data alone
  const config = exampleConfig((c) => {
    c.runtime = 'cloudfront-functions';
    for (const id of [...AWS_REGIONS.keys()].slice(0, 30)) {
      const domainName = `${'api.'.repeat(30)}${id}.example.com`;
      c.regions[id] = { origin: { domainName }, canaryOrigin: { domainName: `canary.${domainName}` } };
    }
  });
  const dir = mkdtempSync(join(tmpdir(), 'edge-router-cff-'));
  writeFileSync(join(dir, 'router.config.json'), JSON.stringify(config));
  let stderr = '';
  try {
    execFileSync(
      process.execPath,
      ['esbuild.config.mjs', '--config', join(dir, 'router.config.json'), '--outdir', join(dir, 'dist')],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
  } catch (e) {
    stderr = String((e as { stderr: Buffer }).stderr);
  }
  expect(stderr).toMatch(
    /build failed: viewer-request\/index\.js is \d+ bytes; CloudFront Functions allow 10240/,
  );
});
