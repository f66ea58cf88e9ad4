// npm run bench: the local edge's throughput and the latency it adds, against calling a demo backend directly,
// with autocannon on loopback (10 connections, 5 s each; bounded). One JSON line per measurement, then the ratio.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocal } from '../local/stack';
import { parseRouterConfig, type RouterConfig } from '../shared';

interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
}
const autocannon = require('autocannon') as (o: Record<string, unknown>) => Promise<Result>;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

(async () => {
  const root = join(__dirname, '..');
  const raw = JSON.parse(readFileSync(join(root, 'examples', 'local.config.json'), 'utf8')) as RouterConfig;
  let i = 0;
  const ports = await Promise.all(Array.from({ length: 6 }, freePort));
  for (const t of [...Object.values(raw.regions), ...Object.values(raw.environments ?? {})])
    t.origin.port = ports[i++];
  if (raw.healthDoc) raw.healthDoc.endpoint = `http://localhost:${ports[5]}`;
  const parsed = parseRouterConfig(raw);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
  const dir = mkdtempSync(join(tmpdir(), 'edge-router-bench-'));
  writeFileSync(join(dir, 'router.config.json'), JSON.stringify(raw));
  const stack = await startLocal({
    config: parsed.data,
    configFile: join(dir, 'router.config.json'),
    dist: join(dir, 'dist'),
    port: 0,
    log: join(dir, 'edge.log'),
  });
  const seoul = stack.backends.find((b) => b.id === 'ap-northeast-2');
  const run = (url: string, headers: Record<string, string> = {}) =>
    autocannon({ url, connections: 10, duration: 5, headers });
  const line = (name: string, r: Result) => {
    console.log(
      JSON.stringify({
        name,
        opsPerSec: Math.round(r.requests.average),
        p50us: Math.round(r.latency.p50 * 1000),
        p99us: Math.round(r.latency.p99 * 1000),
        non2xx: r.non2xx,
        errors: r.errors,
      }),
    );
  };
  const direct = await run(`http://localhost:${seoul?.port}/hello`);
  line('local-edge/direct-backend', direct);
  const edge = await run(`http://127.0.0.1:${stack.edge.port}/hello`, { 'x-forwarded-for': '1.208.0.1' });
  line('local-edge/through-edge', edge);
  console.log(
    JSON.stringify({
      name: 'local-edge/ratio',
      throughput: Math.round((edge.requests.average / direct.requests.average) * 100) / 100,
      addedP50us: Math.round((edge.latency.p50 - direct.latency.p50) * 1000),
      addedP99us: Math.round((edge.latency.p99 - direct.latency.p99) * 1000),
    }),
  );
  await stack.close();
  process.exit(0);
})();
