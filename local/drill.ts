// npm run drill: the failover drill on the local edge. Starts the local stack on its own ports, sends steady traffic
// from a mix of simulated countries (loopback only, bounded in count and time), then: marks a region down, marks
// it up again, and kills its demo backend outright. For each event it reports how long until the traffic had moved
// and how many requests failed. Targets: no failed request for a region marked down; moved within ttlSeconds + 1 s.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { everyTargetUp } from '../shared/health-check';
import { startBackend } from './backends';
import { localConfigOnFreePorts, startLocal } from './stack';

const allUp = (config: Parameters<typeof everyTargetUp>[0], serial: number) =>
  everyTargetUp(config, serial, new Date().toISOString());
const REGION = 'ap-northeast-2';
// simulated viewers (geoip-lite places them): Korea, Japan, Germany, the US, Brazil, the UK
const VIEWERS = ['1.208.0.1', '126.0.0.1', '85.214.0.1', '8.8.8.8', '200.147.0.1', '81.2.69.160'];
const KOREA = VIEWERS[0];
const RATE = 200; // requests per second, at most
const MAX_REQUESTS = 12_000;
const PHASE_MS = 6_000;

interface Sample {
  /** sent */
  readonly at: number;
  /** answered (or failed) */
  readonly done: number;
  readonly viewer: string;
  readonly region?: string;
  readonly ok: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runtime: { type: 'string', default: 'lambda-edge' } } });
  const runtime = values.runtime === 'cloudfront-functions' ? 'cloudfront-functions' : 'lambda-edge';
  // CloudFront Functions with origin groups: a failed GET is retried on the next region within the request
  const { config, configFile, dir } = await localConfigOnFreePorts('edge-router-drill-', (raw) => {
    if (runtime === 'cloudfront-functions') raw.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
  });
  const ttl = config.healthDoc?.ttlSeconds ?? 2;
  console.log(`drill: building and starting the local edge (logs in ${join(dir, 'edge.log')}) ...`);
  const stack = await startLocal({
    config,
    configFile,
    dist: join(dir, 'dist'),
    port: 0,
    log: join(dir, 'edge.log'),
    runtime,
  });
  const base = `http://127.0.0.1:${stack.edge.port}`;

  const samples: Sample[] = [];
  let sent = 0;
  let running = true;
  const send = async () => {
    const viewer = VIEWERS[sent++ % VIEWERS.length];
    const at = Date.now();
    try {
      const r = await fetch(`${base}/drill`, { headers: { 'x-forwarded-for': viewer } });
      const body = await r.text();
      samples.push({
        at,
        done: Date.now(),
        viewer,
        ok: r.ok,
        region: r.ok ? JSON.parse(body).region : undefined,
      });
    } catch {
      samples.push({ at, done: Date.now(), viewer, ok: false });
    }
  };
  const traffic = (async () => {
    while (running && sent < MAX_REQUESTS) {
      const tick = Date.now();
      await Promise.all(Array.from({ length: RATE / 10 }, send));
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
    }
  })();
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const events: { name: string; at: number; away: boolean }[] = [];
  await wait(PHASE_MS / 2);
  events.push({ name: `${REGION} marked down`, at: Date.now(), away: true });
  // an operator draining a healthy region holds it (`doc status ... down` does); not held, the health checker,
  // which sees the region healthy, would bring it back
  await stack.putDoc({
    ...allUp(config, 2),
    regions: {
      ...allUp(config, 2).regions,
      [REGION]: { status: 'down', setBy: 'operator', hold: { by: 'drill', since: new Date().toISOString() } },
    },
  });
  await wait(PHASE_MS);
  events.push({ name: `${REGION} marked up`, at: Date.now(), away: false });
  await stack.putDoc(allUp(config, 3));
  await wait(PHASE_MS);
  events.push({ name: `${REGION} backend killed`, at: Date.now(), away: true });
  const killed = stack.backends.find((b) => b.id === REGION);
  await killed?.close();
  await wait(PHASE_MS);
  events.push({ name: `${REGION} backend restarted`, at: Date.now(), away: false });
  const revived = await startBackend(REGION, killed?.port ?? 0);
  await wait(PHASE_MS);
  running = false;
  await traffic;
  await revived.close();
  const end = Date.now();

  console.log(
    `\ndrill (runtime ${runtime}${runtime === 'cloudfront-functions' ? ', origin groups' : ''}): ${samples.length} requests from ${VIEWERS.length} simulated viewers over ${((end - events[0].at + PHASE_MS / 2) / 1000).toFixed(1)} s; healthDoc.ttlSeconds ${ttl}`,
  );
  console.log('');
  console.log('| event | traffic moved after | failed requests | target |');
  console.log('| --- | --- | --- | --- |');
  events.forEach((e, k) => {
    const until = events[k + 1]?.at ?? end;
    // an event's requests: those answered (or failed) after it and before the next, so that a request in flight
    // when a backend is killed counts for the kill
    const window = samples.filter((s) => s.done >= e.at && s.done < until);
    const korea = window.filter((s) => s.viewer === KOREA);
    // moved: when the last Korean answer as before the event (or failed) came back
    const stale = (s: Sample) => (e.away ? !s.ok || s.region === REGION : s.region !== REGION);
    const lastStale = korea.filter(stale).pop();
    const moved =
      korea.length === 0
        ? undefined
        : lastStale === undefined
          ? 0
          : lastStale === korea[korea.length - 1]
            ? undefined
            : lastStale.done - e.at;
    const failed = window.filter((s) => !s.ok).length;
    const probe = config.health?.probe;
    const detect = probe ? probe.fall * probe.intervalSeconds : 0;
    const back = probe ? probe.rise * probe.intervalSeconds : 0;
    const target = e.name.includes('killed')
      ? `moved ≤ ${detect + ttl + 1} s (fall × interval + TTL + 1)`
      : e.name.includes('restarted')
        ? `back ≤ ${back + ttl + 1} s (rise × interval + TTL + 1)`
        : `moved ≤ ${ttl + 1} s, 0 failed`;
    console.log(
      `| ${e.name} | ${moved === undefined ? 'did not move' : `${(moved / 1000).toFixed(2)} s`} | ${failed} of ${window.length} | ${target} |`,
    );
  });
  await stack.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(`drill: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
