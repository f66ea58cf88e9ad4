// An operator's change holds, end to end, in npm start's stack (built bundles, s3rver, demo backends, and the
// in-process health checker probing every second): `edge-router doc status R down` moves every viewer of R while R's
// backend is healthy, the checker (which sees it healthy) leaves it down, and `doc status R auto` hands it back, after
// which the checker brings R up again. Waits only poll; the timings asserted are the README's and the banner's.
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  type LocalStack,
  localConfigOnFreePorts,
  startLocal,
  startLocalOnFreePorts,
} from '../../local/stack';
import { ROOT } from '../helpers/load';
import { run } from '../helpers/spawn';

const BIN = join(ROOT, 'bin', 'edge-router.cjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: LocalStack;
let configFile: string;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ stack, configFile, close } = await startLocalOnFreePorts('edge-router-hold-'));
}, 90_000);

afterAll(async () => {
  await close?.();
});

/** The built CLI, as an operator runs it (asynchronous: s3rver answers from this process). */
const cli = (...args: string[]) => run(process.execPath, [BIN, ...args, '--config', configFile]);

/** Where 20 Korean viewers (one request each, distinct IPs in Korea's range) are served. */
async function korea(): Promise<string[]> {
  return Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const r = await fetch(`http://127.0.0.1:${stack.edge.port}/hello`, {
        headers: { 'x-forwarded-for': `1.208.0.${i + 1}` },
      });
      return (JSON.parse(await r.text()) as { region: string }).region;
    }),
  );
}

/** Polls until every Korean viewer is (or is not) on Seoul; returns the ms it took, or Infinity. */
async function until(onSeoul: boolean, withinMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < withinMs) {
    const regions = await korea();
    if (regions.every((r) => (r === 'ap-northeast-2') === onSeoul)) return Date.now() - start;
    await sleep(100);
  }
  return Number.POSITIVE_INFINITY;
}

test('doc status down holds against the health checker until auto hands it back', async () => {
  // the checker has probed the healthy backend: Seoul is up and serves Korea
  expect(await until(true, 10_000)).toBeLessThan(10_000);

  const down = await cli('doc', 'status', 'ap-northeast-2', 'down', '--by', 'drill', '--yes');
  expect(down.code).toBe(0);
  expect(down.stdout).toContain('ap-northeast-2: held by drill since');
  // every Korean viewer moves within 2 s
  expect(await until(false, 2_000)).toBeLessThanOrEqual(2_000);

  // three probe intervals (1 s each) later, with the backend healthy all along, they are still moved
  await sleep(3_500);
  expect((await korea()).filter((r) => r === 'ap-northeast-2')).toEqual([]);
  const get = await cli('doc', 'get');
  expect(get.stderr).toMatch(
    /ap-northeast-2\s+down\s+set by operator .*held by drill since .*\(the probes see it up\)/,
  );

  // handed back: the checker, which sees Seoul healthy, brings it up, and Korea comes back
  const auto = await cli('doc', 'status', 'ap-northeast-2', 'auto', '--yes');
  expect(auto.code).toBe(0);
  expect(await until(true, 8_000)).toBeLessThan(8_000);
}, 60_000);

test('a port another process holds: one clear line, nothing started', async () => {
  const made = await localConfigOnFreePorts('edge-router-busy-');
  const s3Port = Number(new URL(made.config.healthDoc?.endpoint as string).port);
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(s3Port, '127.0.0.1', () => r()));
  try {
    await expect(
      startLocal({
        config: made.config,
        configFile: made.configFile,
        dist: join(made.dir, 'dist'),
        port: 0,
        log: join(made.dir, 'edge.log'),
      }),
    ).rejects.toThrow(`port ${s3Port} (the local S3) is in use: is another npm start running?`);
  } finally {
    holder.close();
    rmSync(made.dir, { recursive: true, force: true });
  }
});
