// npm run bench: the local edge's throughput and the latency it adds, against calling a demo backend directly,
// with autocannon on loopback (10 connections, 5 s each; bounded). One JSON line per measurement, then the ratio.
import { startLocalOnFreePorts } from '../local/stack';

interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
}
const autocannon = require('autocannon') as (o: Record<string, unknown>) => Promise<Result>;

(async () => {
  const { stack, close } = await startLocalOnFreePorts('edge-router-bench-');
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
  await close();
  process.exit(0);
})();
