// npm run bench (after the build): the built CloudFront Functions file, dist/viewer-request/index.js, in the test
// harness (test/helpers/cff.ts), as the nearest measurable proxy for CloudFront's compute utilization.
//   viewer-request/harness   one request: the file's top-level code (the baked tables) and the handler, reading
//                            the viewer's walk from the store (in memory), picking, changing the origin
//   viewer-request/harness-5000-cookies   the same with 5,000 cookies on each request (only the few routing reads
//                            are looked up), measured interleaved with the row above; the harness clones the event
//                            (600 KB) just before the timed part, as for every row
//   viewer-request/harness-5000-cookies-precloned   the same 5,000-cookie requests, each cloned earlier (in batches of
//                            100, with plain requests run between): what the function itself spends on such an event
//   viewer-request/harness-after-5000-cookie-clone   the plain request, run right after the bench clones a
//                            5,000-cookie event it does not use: what the clone alone costs the run that follows
//   viewer-request/harness-5000-cookies-affinity   the same, one of them an (invalid) affinity cookie: the keys are
//                            read from the store and the value's signature checked
//   viewer-request/harness-5000-cookies-bare   a file that only returns the request, on the same 5,000-cookie
//                            events: what carrying such an event costs the harness, whatever the function does
//   viewer-request/bundle    its size in bytes (CloudFront's limit: 10,240)
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asStore, planEntries } from '../lib/kvs';
import { compileRouter, type HealthDoc, parseRouterConfig } from '../shared';
import { distributionOrigins } from '../shared/router';
import { CffHarness } from '../test/helpers/cff';
import { viewerRequest } from '../test/helpers/fixtures';

const file = join(__dirname, '..', 'dist', 'viewer-request', 'index.js');
const doc = require('../examples/health.json') as HealthDoc;
const config = parseRouterConfig(require('../router.config.json'));
if (!config.success) throw new Error('router.config.json is invalid');
const harness = new CffHarness(file, {
  kvs: asStore(planEntries(compileRouter(config.data), doc)),
  origins: [...distributionOrigins(config.data).keys()],
});
const countries = ['KR', 'DE', 'US', 'BR', 'JP', 'GB', 'IN', 'FR'];
const events = countries.map((c, i) =>
  viewerRequest({ 'cloudfront-viewer-country': c }, {}, `203.0.113.${i}`),
);
const now = Date.parse('2026-11-25T12:00:00Z');

const many: Record<string, string> = {};
for (let i = 0; i < 5000; i++) many[`c${i}`] = String(i);
const heavy = countries.map((c, i) =>
  viewerRequest({ 'cloudfront-viewer-country': c }, { ...many }, `203.0.113.${i}`),
);
const heavyAffinity = countries.map((c, i) =>
  viewerRequest({ 'cloudfront-viewer-country': c }, { ...many, route_affinity: 'x' }, `203.0.113.${i}`),
);
// the least a CloudFront Function can do: return the request it was given
const bareDir = mkdtempSync(join(tmpdir(), 'edge-router-bench-'));
const bareFile = join(bareDir, 'bare.js');
writeFileSync(bareFile, 'async function handler(event) { return event.request; }\n');
const bare = new CffHarness(bareFile, {});
// the harness has read it
rmSync(bareDir, { recursive: true, force: true });

function row(name: string, micros: number[]): string {
  micros.sort((a, b) => a - b);
  const mean = micros.reduce((a, b) => a + b, 0) / micros.length;
  const at = (q: number) => Math.round(micros[Math.floor(q * (micros.length - 1))] * 10) / 10;
  return JSON.stringify({
    name,
    opsPerSec: Math.round(1e6 / mean),
    p99us: at(0.99),
    p50us: at(0.5),
    meanUs: Math.round(mean * 10) / 10,
    samples: micros.length,
  });
}

(async () => {
  // The harness times each run itself (top-level code and handler, not its own bookkeeping): 2,000 warm-up runs,
  // then 20,000 measured; the cookie-heavy requests interleaved, one in ten, so that both see the same machine.
  const plain: number[] = [];
  const cookies: number[] = [];
  const cookiesPrecloned: number[] = [];
  const afterClone: number[] = [];
  const cookiesAffinity: number[] = [];
  const cookiesBare: number[] = [];
  const pool: unknown[] = [];
  for (let i = 0; i < 22_000; i++) {
    // the next 100 precloned events, cloned before the plain request below runs (untimed)
    if (i % 10 === 0 && pool.length === 0)
      for (let k = 0; k < 100; k++) pool.push(structuredClone(heavy[(i / 10 + k) & 7]));
    const r = await harness.run(events[i & 7], now);
    if (i >= 2_000) plain.push(r.micros);
    if (i % 10 === 0) {
      const p = await harness.run(pool.pop(), now, undefined, true);
      const h = await harness.run(heavy[i & 7], now);
      const a = await harness.run(heavyAffinity[i & 7], now);
      const b = await bare.run(heavy[i & 7], now);
      structuredClone(heavy[i & 7]);
      const c = await harness.run(events[i & 7], now);
      if (i >= 2_000) {
        cookiesPrecloned.push(p.micros);
        cookies.push(h.micros);
        cookiesAffinity.push(a.micros);
        cookiesBare.push(b.micros);
        afterClone.push(c.micros);
      }
    }
  }
  console.log(row('viewer-request/harness', plain));
  console.log(row('viewer-request/harness-5000-cookies', cookies));
  console.log(row('viewer-request/harness-5000-cookies-precloned', cookiesPrecloned));
  console.log(row('viewer-request/harness-after-5000-cookie-clone', afterClone));
  console.log(row('viewer-request/harness-5000-cookies-affinity', cookiesAffinity));
  console.log(row('viewer-request/harness-5000-cookies-bare', cookiesBare));
  console.log(JSON.stringify({ name: 'viewer-request/bundle', bytes: statSync(file).size, limit: 10240 }));
})();
