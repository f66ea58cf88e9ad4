// npm run drill: the failover drill on the local edge. For each runtime, starts the local stack on its own ports,
// sends steady traffic from a mix of simulated countries (loopback only, bounded in count and time; one request in
// ten a POST), then: marks a region down, marks it up again, and makes its demo backend fail unannounced four ways,
// each followed by its recovery: killed (connections refused), hung (accepts, never answers), answering 503, and
// slow (every answer 2 s late). It prints progress while it runs (on stderr), then a verdict per event: how long
// until the traffic had moved, what failed (GET/HEAD and POST apart), the p99 latency against the p99 before the
// event, the goal and whether it was met (local/drill-verdict.ts). It exits 1 when an event
// missed its goal. `--json` prints one JSON object per event and runtime on stdout instead of the table.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RouterConfig } from '../shared';
import { everyTargetUp } from '../shared/health-check';
import { resolveOriginTimeouts } from '../shared/origin-timeouts';
import { outlierRules } from '../shared/outlier';
import { SLOW_MS, startBackend } from './backends';
import {
  type Attempt,
  type DrillEvent,
  drillOutcome,
  type Goal,
  type Sample,
  type Verdict,
  verdicts,
} from './drill-verdict';
import { startLocalOnFreePorts } from './stack';

const RUNTIMES = ['lambda-edge', 'cloudfront-functions'] as const;
type Runtime = (typeof RUNTIMES)[number];

const REGION = 'ap-northeast-2';
// simulated viewers (geoip-lite places them): Korea, Japan, Germany, the US, Brazil, the UK
const VIEWERS = ['1.208.0.1', '126.0.0.1', '85.214.0.1', '8.8.8.8', '200.147.0.1', '81.2.69.160'];
const KOREA = VIEWERS[0];
const RATE = 200; // requests per second, at most
const MAX_REQUESTS = 25_000; // per runtime
const MAX_IN_FLIGHT = 4_000; // requests awaiting an answer at once (a hang holds them up to the read timeout)
const PHASE_MS = 6_000;
const REQUEST_TIMEOUT_MS = 35_000; // longer than the edge's read timeout: the edge, not the drill, gives up first

const progress = (line: string) => process.stderr.write(`${line}\n`);

async function drill(runtime: Runtime, readTimeoutSeconds?: number): Promise<Verdict[]> {
  // origin groups, in both runtimes: a failed GET is retried on the next region within the request
  progress(`drill ${runtime}: building and starting the local edge ...`);
  // every request the edge sends to an origin, each attempt apart: "moved" is when none goes to the region any more
  const attempts: Attempt[] = [];
  const { stack, config, dir } = await startLocalOnFreePorts('edge-router-drill-', {
    runtime,
    onAttempt: (target) => attempts.push({ at: Date.now(), target }),
    change: (raw) => {
      raw.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
      if (readTimeoutSeconds !== undefined) raw.originTimeouts = { readTimeoutSeconds };
    },
  });
  const ttl = config.healthDoc?.ttlSeconds ?? 2;
  // the folder stays, for its logs
  progress(`drill ${runtime}: logs in ${join(dir, 'edge.log')}`);
  const base = `http://127.0.0.1:${stack.edge.port}`;
  const started = Date.now();

  const samples: Sample[] = [];
  let sent = 0;
  let running = true;
  const send = async () => {
    const n = sent++;
    const viewer = VIEWERS[n % VIEWERS.length];
    // one request in ten a write: CloudFront never sends a POST again, so a failure there reaches the viewer
    const method = n % 10 === 9 ? 'POST' : 'GET';
    const at = Date.now();
    try {
      const r = await fetch(`${base}/drill`, {
        method,
        headers: { 'x-forwarded-for': viewer },
        body: method === 'POST' ? '{"drill":true}' : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await r.text();
      samples.push({
        at,
        done: Date.now(),
        viewer,
        method,
        ok: r.ok,
        region: r.ok ? JSON.parse(body).region : undefined,
      });
    } catch {
      samples.push({ at, done: Date.now(), viewer, method, ok: false });
    }
  };
  // open loop: a batch every 100 ms whatever the earlier ones are doing, so that a hung request holds only itself
  const inflight = new Set<Promise<void>>();
  const traffic = (async () => {
    while (running && sent < MAX_REQUESTS) {
      const tick = Date.now();
      for (let i = 0; i < RATE / 10 && inflight.size < MAX_IN_FLIGHT; i++) {
        const p = send().finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
    }
    await Promise.all(inflight);
  })();
  const events: DrillEvent[] = [];
  // a line a second: what was sent, what failed, and where Korea goes now
  const ticker = setInterval(() => {
    const last = events.at(-1);
    const korea = samples.filter((s) => s.viewer === KOREA).at(-1);
    progress(
      `  ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s  ${(last?.name ?? 'steady traffic').padEnd(34)} sent ${String(samples.length).padStart(5)}  failed ${String(samples.filter((s) => !s.ok).length).padStart(4)}  Korea → ${korea ? (korea.ok ? korea.region : 'failed') : '…'}`,
    );
  }, 1000);
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const happen = (name: string, away: boolean, goal: Goal) => {
    events.push({ name, at: Date.now(), away, goal });
    progress(`  ${name}`);
  };

  const probe = config.health?.probe;
  const detect = probe ? probe.fall * probe.intervalSeconds : 0;
  const back = probe ? probe.rise * probe.intervalSeconds : 0;
  const drained: Goal = {
    movedWithinMs: (ttl + 1) * 1000,
    maxFailed: 0,
    words: `moved ≤ ${ttl + 1} s, 0 failed`,
  };
  const allUp = (serial: number) => everyTargetUp(config as RouterConfig, serial, new Date().toISOString());

  await wait(PHASE_MS / 2);
  happen(`${REGION} marked down`, true, drained);
  // an operator draining a healthy region holds it (`doc status ... down` does); not held, the health checker,
  // which sees the region healthy, would bring it back
  await stack.putDoc({
    ...allUp(2),
    regions: {
      ...allUp(2).regions,
      [REGION]: { status: 'down', setBy: 'operator', hold: { by: 'drill', since: new Date().toISOString() } },
    },
  });
  await wait(PHASE_MS);
  happen(`${REGION} marked up`, false, drained);
  await stack.putDoc(allUp(3));
  await wait(PHASE_MS);
  // the product's promise: failover in seconds, with no failed idempotent request, whatever the fault
  const waits = resolveOriginTimeouts(config as RouterConfig);
  const backGoal: Goal = {
    movedWithinMs: (back + ttl + 1) * 1000,
    maxFailed: 0,
    words: `back ≤ ${back + ttl + 1} s (rise × interval + TTL + 1), 0 failed`,
  };
  // Lambda@Edge: a container's passive health lets at most its outlier threshold of POSTs fail before it ejects the
  // region (a stalled region takes none); CloudFront Functions has none, so its POSTs are only reported
  const threshold =
    runtime === 'lambda-edge' ? outlierRules(config as RouterConfig)?.consecutive5xx : undefined;
  // moved: CloudFront Functions when the health checker's verdict reaches the store; Lambda@Edge, 2 s after the
  // first failure, by ejection (`firstFailureMs`: when the fault's first failure is seen, a hang's per-try timeout)
  const awayGoal = (extra?: Partial<Goal>, words = '', firstFailureMs = 0): Goal => {
    const moved =
      threshold !== undefined
        ? {
            ms: firstFailureMs + 2000,
            words: `moved ≤ ${(firstFailureMs + 2000) / 1000} s (${firstFailureMs ? 'the per-try timeout + ' : ''}2 s: ejected)`,
          }
        : {
            ms: (detect + ttl + 1) * 1000,
            words: `moved ≤ ${detect + ttl + 1} s (fall × interval + TTL + 1)`,
          };
    return {
      movedWithinMs: moved.ms,
      maxFailedIdempotent: 0,
      ...(threshold !== undefined ? { maxFailedOther: threshold } : {}),
      ...extra,
      words: `${moved.words}, 0 failed GET${threshold !== undefined ? `, ≤ ${threshold} failed POST` : ''}${words}`,
    };
  };
  let backend = stack.backends.find((b) => b.id === REGION);
  happen(`${REGION} backend killed`, true, awayGoal());
  const port = backend?.port ?? 0;
  await backend?.close();
  await wait(PHASE_MS);
  happen(`${REGION} backend restarted`, false, backGoal);
  backend = await startBackend(REGION, port);
  await wait(PHASE_MS);
  // a hang costs the read timeout (the connection is made): p99 within the connect timeout of before's is the goal
  happen(`${REGION} backend hung`, true, {
    ...awayGoal(
      { maxP99AboveBeforeMs: waits.connectionTimeoutSeconds * 1000 },
      `, p99 ≤ before + ${waits.connectionTimeoutSeconds} s`,
      (waits.perTryTimeoutSeconds ?? waits.readTimeoutSeconds) * 1000,
    ),
  });
  backend.fault('hang');
  await wait(PHASE_MS + waits.readTimeoutSeconds * 1000);
  happen(`${REGION} backend answers again`, false, backGoal);
  backend.fault('none');
  await wait(PHASE_MS);
  happen(`${REGION} backend answers 503`, true, awayGoal());
  backend.fault('503');
  await wait(PHASE_MS);
  happen(`${REGION} backend answers 200 again`, false, backGoal);
  backend.fault('none');
  await wait(PHASE_MS);
  // slow is not down: reported, with no goal but no failed GET
  happen(`${REGION} backend slow (${SLOW_MS / 1000} s)`, true, {
    maxFailedIdempotent: 0,
    words: 'reported; 0 failed GET',
  });
  backend.fault('slow');
  await wait(PHASE_MS);
  happen(`${REGION} backend fast again`, false, { maxFailed: 0, words: 'reported; 0 failed' });
  backend.fault('none');
  await wait(PHASE_MS);
  running = false;
  await traffic;
  clearInterval(ticker);
  await backend.close();
  const end = Date.now();
  await stack.close();
  progress(
    `drill ${runtime} (origin groups, read timeout ${waits.readTimeoutSeconds} s): ${samples.length} requests from ${VIEWERS.length} simulated viewers over ${((end - started) / 1000).toFixed(1)} s; healthDoc.ttlSeconds ${ttl}`,
  );
  return verdicts({ runtime, events, samples, end, watched: KOREA, region: REGION, attempts });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runtime: { type: 'string', default: RUNTIMES.join(',') },
      json: { type: 'boolean', default: false },
      // the origins' read timeout (originTimeouts.readTimeoutSeconds), to compare hangs under another one
      'read-timeout': { type: 'string' },
    },
  });
  const rt = values['read-timeout'];
  const readTimeout = rt === undefined ? undefined : Number(rt);
  if (readTimeout !== undefined && !(Number.isInteger(readTimeout) && readTimeout >= 1 && readTimeout <= 120))
    throw new Error(`--read-timeout ${rt}: whole seconds, 1-120`);
  const runtimes = (values.runtime ?? '').split(',').map((r) => r.trim());
  for (const r of runtimes) {
    if (!(RUNTIMES as readonly string[]).includes(r))
      throw new Error(`--runtime ${r}: one or more of ${RUNTIMES.join(', ')}, comma-separated`);
  }
  const all: Verdict[] = [];
  for (const r of runtimes as Runtime[]) all.push(...(await drill(r, readTimeout)));
  const out = drillOutcome(all, values.json === true);
  for (const line of out.stdout) console.log(line);
  for (const line of out.stderr) progress(line);
  process.exit(out.code);
}

main().catch((e) => {
  console.error(`drill: ${e instanceof Error ? e.message : e}`);
  process.exit(2);
});
