// npm run bench (after the build): the built Lambda@Edge bundle, dist/origin-request/index.js.
//   origin-request/warm        one invocation with the document cached (the real DocCache, fed in memory)
//   origin-request/cold-load   require() of the bundle in a fresh Node.js process (module init: the baked router
//                              assembled, the S3 reader set up)
//   origin-request/cold-start  a fresh Node.js process that requires the bundle, against a bare `node -e 0`, the
//                              two alternated in one run (this VM is noisy): what the bundle adds to a cold start,
//                              on this Node and on Node 22 (Lambda's nodejs22.x), all alternated; and beside them
//                              the floor (bench/cold-floor.ts: only node:https and the SDK's signer, what every
//                              signed S3 reader loads), so `overFloorMs` is what the router and handler add
// The cold rows run without NODE_EXTRA_CA_CERTS, as Lambda's Node.js 20+ runtimes do (they load no extra CA
// certificates unless the function sets it; where this machine sets it, a bare Node 20 start takes 85 ms, not 30).
//   origin-request/bundle      its size in bytes
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudFrontRequestEvent } from 'aws-lambda';
import { buildSync } from 'esbuild';
import { Bench } from 'tinybench';
import exampleDoc from '../examples/health.json';
import { bundledRouter, type OriginRequestModule } from '../test/helpers/bundle';
import { NODE22, node22Missing } from '../test/helpers/node22';

const bundle = join(__dirname, '..', 'dist', 'origin-request', 'index.js');
const fixture = join(
  __dirname,
  '..',
  '..',
  'shared',
  'fixtures',
  'events',
  'lambda-edge',
  'lambda-edge-origin-request.json',
);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const mod = require(bundle) as OriginRequestModule;
const config = require(join(__dirname, '..', 'router.config.json'));
const telemetry = new mod.Telemetry({ runtime: 'bench', write: () => {} });
const text = JSON.stringify(exampleDoc);
const docs = new mod.DocCache({
  config,
  telemetry,
  fetch: async () => ({ status: 'ok', text, etag: '"1"' }),
});
const handler = mod.createHandler({ router: bundledRouter(mod, config), docs, telemetry });
const template = require(fixture) as CloudFrontRequestEvent;
const countries = ['KR', 'DE', 'US', 'BR', 'JP', 'GB', 'IN', 'FR'];
const events = countries.map((c, i) => {
  const e = structuredClone(template);
  e.Records[0].cf.request.headers['cloudfront-viewer-country'] = [
    { key: 'CloudFront-Viewer-Country', value: c },
  ];
  (e.Records[0].cf.request as { clientIp: string }).clientIp = `203.0.113.${i}`;
  return e;
});

/** The environment of a Lambda container, as far as Node's start goes: no extra CA certificates. */
const { NODE_EXTRA_CA_CERTS: _, ...lambdaEnv } = process.env;

function coldLoads(n: number): number[] {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  return Array.from({ length: n }, () =>
    Number(execFileSync(process.execPath, ['-e', script], { env: lambdaEnv, encoding: 'utf8' })),
  );
}

/** Wall time of a whole process (start, the script, exit), in ms. */
function processMs(script: string, node = process.execPath): number {
  const t = process.hrtime.bigint();
  execFileSync(node, ['-e', script], { env: lambdaEnv, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

(async () => {
  // the cold rows first, while this process is small: spawning from a large one (the warm run's samples) is slower
  const loads = coldLoads(15).sort((a, b) => a - b);
  const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
  console.log(
    JSON.stringify({
      name: 'origin-request/cold-load',
      opsPerSec: Math.round((1000 / mean) * 10) / 10,
      p99us: Math.round(loads[loads.length - 1] * 1000),
      meanMs: Math.round(mean * 10) / 10,
      medianMs: Math.round(loads[Math.floor(loads.length / 2)] * 10) / 10,
      samples: loads.length,
    }),
  );
  // the floor, built as the bundle is (esbuild.config.mjs: bundled, minified, node20, CommonJS)
  const floorDir = mkdtempSync(join(tmpdir(), 'edge-router-floor-'));
  const floor = join(floorDir, 'floor.js');
  buildSync({
    entryPoints: [join(__dirname, 'cold-floor.ts')],
    outfile: floor,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    minify: true,
    logLevel: 'error',
  });
  const nodes = [['', process.execPath], ...(node22Missing() ? [] : [['Node22', NODE22]])] as const;
  const runs = nodes.map(() => ({ bare: [] as number[], floor: [] as number[], loaded: [] as number[] }));
  for (let n = 0; n < 25; n++)
    nodes.forEach(([, node], i) => {
      runs[i].bare.push(processMs('0', node));
      runs[i].floor.push(processMs(`require(${JSON.stringify(floor)})`, node));
      runs[i].loaded.push(processMs(`require(${JSON.stringify(bundle)})`, node));
    });
  const row: Record<string, unknown> = { name: 'origin-request/cold-start' };
  nodes.forEach(([suffix, node], i) => {
    const bare = median(runs[i].bare);
    const atFloor = median(runs[i].floor);
    const loaded = median(runs[i].loaded);
    const ms = (x: number) => Math.round(x * 10) / 10;
    Object.assign(row, {
      [`node${suffix}`]: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim(),
      [`bareMedianMs${suffix}`]: ms(bare),
      [`floorMedianMs${suffix}`]: ms(atFloor),
      [`withBundleMedianMs${suffix}`]: ms(loaded),
      [`overBareMs${suffix}`]: ms(loaded - bare),
      [`floorOverBareMs${suffix}`]: ms(atFloor - bare),
      [`overFloorMs${suffix}`]: ms(loaded - atFloor),
    });
  });
  console.log(JSON.stringify({ ...row, floorBytes: statSync(floor).size, samples: runs[0].bare.length }));
  rmSync(floorDir, { recursive: true, force: true });
  await handler(structuredClone(events[0])); // loads the document into the cache
  let i = 0;
  // The handler rewrites the request in place; invoking it again on the same event redoes all of its work
  // (viewer x-route-* headers removed, origin and headers set), so events are reused rather than cloned.
  const bench = new Bench({ time: 2000, warmup: true, warmupTime: 500 });
  bench.add('origin-request/warm', async () => {
    await handler(events[i++ & 7]);
  });
  await bench.run();
  const r = bench.tasks[0].result;
  if (!r || !('latency' in r)) throw new Error('the warm benchmark did not run');
  console.log(
    JSON.stringify({
      name: 'origin-request/warm',
      opsPerSec: Math.round(r.throughput.mean),
      p99us: Math.round(r.latency.p99 * 1000 * 10) / 10,
      meanUs: Math.round(r.latency.mean * 1000 * 10) / 10,
      samples: r.latency.samplesCount,
    }),
  );

  console.log(JSON.stringify({ name: 'origin-request/bundle', bytes: statSync(bundle).size }));
})();
