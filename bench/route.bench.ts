// npm run bench: decisions per second and latency of the routing core, one JSON object per line on stdout
// (the machine goes to stderr). Mix: random countries, half of them with CloudFront's latitude/longitude,
// random viewer IPs, one region down and one dial at 30. The route/* rows pick over a plan built once, as the
// runtimes do; plan/* rows time planning a document (once per document at the edge). reviveRouter, plan and pick
// are the built Lambda@Edge bundle's (dist/origin-request/index.js: the core in one module scope, as deployed),
// not tsx's per-file modules, whose export getters alone cost a tenth of a decision; each router is revived from
// the ranking the build would bake (compiledRouter). compileRouter/example is the source's, as the build and the
// CLI run it; reviveRouter/example what a cold Lambda@Edge container does instead.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import exampleDoc from '../examples/health.json';
import exampleConfig from '../examples/router.config.json';
import { keyRing } from '../lib/keyring';
import {
  COUNTRIES,
  compileRouter,
  type Facts,
  type HealthDoc,
  type KeyRing,
  mintAffinity,
  type PickContext,
  type Plan,
  parseHealthDoc,
  parseRouterConfig,
  type RouterConfig,
} from '../shared';
import { compiledRouter } from '../shared/router';
import twelveConfig from '../test/configs/twelve-regions.config.json';
import type { OriginRequestModule } from '../test/helpers/bundle';

const { reviveRouter, plan, pick } = require(
  join(__dirname, '..', 'dist', 'origin-request', 'index.js'),
) as OriginRequestModule;
const bundledRouter = (c: RouterConfig) => reviveRouter(compiledRouter(c), c);

const parsed = parseRouterConfig(exampleConfig);
if (!parsed.success) throw new Error('examples/router.config.json is invalid');
const config = parsed.data;
const router = bundledRouter(config);
const baked = compiledRouter(config);
const doc: HealthDoc = {
  ...(exampleDoc as HealthDoc),
  regions: {
    ...(exampleDoc as HealthDoc).regions,
    'sa-east-1': { status: 'down' },
    'eu-central-1': { status: 'up', dial: 30 },
  },
};

// a fixed pseudo-random mix, the same every run
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const countries = [...COUNTRIES.values()];
/**
 * Facts of one shape, as the runtimes' toFacts build them (every field present, undefined where CloudFront sent
 * nothing). A mix of copies made with object spread would give every request its own hidden class in V8, and time
 * that instead (measured: 1.7 µs against 0.33 µs a decision).
 */
const facts = (f: Partial<Facts>): Facts => ({
  country: f.country,
  lat: f.lat,
  lon: f.lon,
  ip: f.ip,
  headers: f.headers,
  cookies: f.cookies,
  method: f.method,
  now: f.now,
});
const MIX: Facts[] = Array.from({ length: 4096 }, () => {
  const c = countries[Math.floor(rand() * countries.length)];
  const ip = `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
  return rand() < 0.5
    ? facts({ country: c.iso, ip, now: 1764057600000 })
    : facts({ country: c.iso, lat: c.lat + rand() - 0.5, lon: c.lon + rand() - 0.5, ip, now: 1764057600000 });
});

// The same mix with 100 CIDRs configured (50 network-route networks, 50 allowCidrs, half IPv6), none of which the
// mix's addresses match: every request scans them all.
const cidrConfig = parseRouterConfig({
  ...exampleConfig,
  networkRoutes: [
    {
      name: 'bench-routes',
      cidrs: Array.from({ length: 50 }, (_, k) =>
        k % 2 ? `100.${64 + k}.0.0/16` : `2001:db8:${k.toString(16)}::/48`,
      ),
      target: 'staging',
    },
  ],
  override: {
    allowCidrs: Array.from({ length: 50 }, (_, k) =>
      k % 2 ? `198.18.${k}.0/24` : `2001:db8:f${k.toString(16)}::/48`,
    ),
  },
});
if (!cidrConfig.success) throw new Error(JSON.stringify(cidrConfig.errors));
const cidrRouter = bundledRouter(cidrConfig.data);
if (cidrRouter.networks.size + cidrRouter.allow.size !== 100) throw new Error('expected 100 CIDRs');

// Region affinity: the mix with a valid affinity cookie each (for the region it was sent to), 240 expiries (returning viewers: the key
// ring's cache of accepted values, lib/keyring.ts, knows them), the same with no cache (one HMAC-SHA256 check per request,
// node:crypto as in Lambda@Edge), and the mix as writes (one HMAC to sign the cookie the response will set).
const KEYS = {
  version: 1 as const,
  keys: [{ id: 'bench', secret: Buffer.alloc(32, 7).toString('base64url') }],
};
const keys: KeyRing = keyRing(KEYS);
const PLAN = plan(router, doc);
const ctx: PickContext = { keys };
const uncached: PickContext = { keys: keyRing(KEYS, 0) };
const AFFINITY_MIX: Facts[] = MIX.map((f, k) =>
  facts({
    ...f,
    cookies: {
      // the region the viewer was sent to, as the cookie a write set names
      route_affinity: mintAffinity(keys, pick(PLAN, f).target.id, 1764057600 + 60 + (k % 240)),
    },
  }),
);
const WRITE_MIX: Facts[] = MIX.map((f) => facts({ ...f, method: 'POST' }));

const BATCH = 1000;
// what is measured is what is meant: every cookie is followed (not refused as expired or too long-lived)
for (const f of AFFINITY_MIX) {
  const a = pick(PLAN, f, ctx).affinity;
  if (!a?.honoured) throw new Error(`an affinity cookie of the mix is not followed: ${JSON.stringify(a)}`);
}
let i = 0;
let sink = 0;

const CIDR_PLAN = plan(cidrRouter, doc);
const twelve = parseRouterConfig(twelveConfig);
if (!twelve.success) throw new Error('test/configs/twelve-regions.config.json is invalid');
const twelveRouter = bundledRouter(twelve.data);
const twelveDoc: HealthDoc = {
  ...doc,
  regions: { 'ap-south-1': { status: 'down' }, 'eu-west-1': { status: 'up', dial: 30 } },
  canary: { percent: 5, schedule: [{ at: '2025-11-25T08:00:00Z', percent: 10 }] },
};

/** BATCH decisions with loop state in locals, so the timer and the closure are not what is measured. */
function batch(p: Plan, mix: Facts[] = MIX, c?: PickContext): void {
  let j = i;
  let s = 0;
  for (let k = 0; k < BATCH; k++) s += pick(p, mix[j++ & 4095], c).serial as number;
  i = j;
  sink += s;
}
const bench = new Bench({ time: 3000, warmup: true, warmupTime: 1500 });
bench
  .add('route/mix', () => {
    sink += pick(PLAN, MIX[i++ & 4095]).serial as number;
  })
  .add(`route/mix-batch${BATCH}`, () => batch(PLAN))
  .add(`route/mix-100cidrs-batch${BATCH}`, () => batch(CIDR_PLAN))
  .add(`route/affinity-cookie-batch${BATCH}`, () => batch(PLAN, AFFINITY_MIX, ctx))
  .add(`route/affinity-cookie-uncached-batch${BATCH}`, () => batch(PLAN, AFFINITY_MIX, uncached))
  .add(`route/write-sets-affinity-batch${BATCH}`, () => batch(PLAN, WRITE_MIX, ctx))
  .add('route/explain', () => {
    sink += pick(PLAN, MIX[i++ & 4095], { trace: true }).trace.length;
  })
  .add('plan/example', () => {
    sink += plan(router, doc).walks.length;
  })
  .add('plan/twelve-regions', () => {
    sink += plan(twelveRouter, twelveDoc).walks.length;
  })
  .add('compileRouter/example', () => {
    sink += compileRouter(config).regions.length;
  })
  .add('reviveRouter/example', () => {
    sink += reviveRouter(baked, config).regions.length;
  })
  .add('parseHealthDoc/example', () => {
    sink += parseHealthDoc(doc, config).success ? 1 : 0;
  });

(async () => {
  await bench.run();
  const cpu = cpus();
  console.error(
    `machine: ${cpu[0]?.model ?? 'unknown'} × ${cpu.length}, node ${process.version}, ${new Date().toISOString()}`,
  );
  for (const t of bench.tasks) {
    const r = t.result;
    if (!r || !('latency' in r)) throw new Error(`${t.name} did not run`);
    const per = t.name.includes('batch') ? BATCH : 1;
    console.log(
      JSON.stringify({
        name: t.name,
        opsPerSec: Math.round(r.throughput.mean * per),
        p99us: round((r.latency.p99 * 1000) / per),
        meanUs: round((r.latency.mean * 1000) / per),
        samples: r.latency.samplesCount,
      }),
    );
  }
  if (sink === 0) console.error('(sink)');
})();

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
