// The health checker as a scheduled Lambda (one per vantage region, EventBridge once a minute): each invocation
// probes every intervalSeconds until the minute is nearly over (lib/prober.ts). The router config is baked in by
// esbuild.config.mjs, as for the edge functions, and nothing is read from the environment: the vantage is the region
// the function runs in, from its own ARN (the infra app deploys one per vantage region). The prober keeps its results
// between invocations of a warm container, so `fall` and `rise` count across minutes.
import { s3Client } from '../../lib/doc-store';
import { kvsClient, planEntries, putPlan } from '../../lib/kvs';
import { Prober } from '../../lib/prober';
import type { RouterConfig } from '../../shared/config-schema';
import { compileRouter } from '../../shared/router';

declare const __EDGE_ROUTER_CONFIG__: RouterConfig;
const config = __EDGE_ROUTER_CONFIG__;
const src = config.healthDoc;

interface Context {
  readonly invokedFunctionArn?: string;
  getRemainingTimeInMillis?(): number;
}

/** arn:aws:lambda:<region>:<account>:function:<name> → <region> */
export function vantageOf(context: Context | undefined): string {
  const region = context?.invokedFunctionArn?.split(':')[3];
  if (!region) throw new Error('no function ARN in the invocation context: cannot tell the vantage');
  return region;
}

let prober: Prober | undefined;
let router: ReturnType<typeof compileRouter> | undefined;
function proberOf(vantage: string): Prober {
  if (!src || !config.health) throw new Error('the router config has no healthDoc or health section');
  prober ??= new Prober({
    config,
    vantage,
    s3: s3Client(src),
    loc: { bucket: src.bucket, key: src.key, region: src.region, endpoint: src.endpoint },
    log: (line) => console.log(line),
    // every write also goes to the KeyValueStore the CloudFront Functions runtime reads, as its plan
    written: src.kvsArn
      ? async (doc) => {
          router ??= compileRouter(config);
          await putPlan(kvsClient(), src.kvsArn as string, planEntries(router, doc));
        }
      : undefined,
  });
  return prober;
}

/** One invocation: rounds every intervalSeconds while more than an interval of the minute is left. */
export async function handler(_event: unknown, context?: Context): Promise<void> {
  const vantage = vantageOf(context);
  const p = proberOf(vantage);
  const every = (config.health?.probe.intervalSeconds ?? 10) * 1000;
  const left = () => context?.getRemainingTimeInMillis?.() ?? 0;
  for (;;) {
    const started = Date.now();
    try {
      await p.tick();
    } catch (e) {
      console.log(JSON.stringify({ event: 'round-failed', vantage, error: String(e) }));
    }
    const wait = every - (Date.now() - started);
    if (left() < wait + every + 2000) return;
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
}
