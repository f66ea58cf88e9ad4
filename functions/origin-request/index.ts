// Lambda@Edge origin-request entry. Lambda@Edge has no environment variables, so the router config is
// validated and baked in by esbuild.config.mjs (`__EDGE_ROUTER_CONFIG__`), with the router compiled from it
// (`__EDGE_ROUTER_COMPILED__`, shared/router.ts serializeRanked): module load assembles the router from it.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html
// Imports name the core's modules, not shared/index.ts, so the router-config schema is not built at load. The
// bundle does not compile a config (no compileRouter here): a cold start parses every byte, and the country table,
// ipaddr.js and jsonc-parser it would carry are 43 KB of 143 (README, "Lambda@Edge cold start").

import type {
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontResponse,
  CloudFrontResponseEvent,
} from 'aws-lambda';
import type { RouterConfig } from '../../shared/config-schema';
import { resolveOriginTimeouts } from '../../shared/origin-timeouts';
import { outlierRules } from '../../shared/outlier';
import { pick } from '../../shared/pick';
import { plan } from '../../shared/plan';
import { keysKeyOf, type Router, reviveRouter } from '../../shared/router';
import { createHandler as createResponseHandler } from '../origin-response/handler';
import { createHandler, type HandlerDeps } from './handler';
import { DocCache, KeysCache } from './object-cache';
import { PassiveHealth, passiveTelemetry } from './passive-health';
import { copiesFetcher, docFetcher, s3Fetcher } from './s3-fetcher';
import { Telemetry } from './telemetry';

declare const __EDGE_ROUTER_CONFIG__: RouterConfig;
declare const __EDGE_ROUTER_COMPILED__: string;

const config = __EDGE_ROUTER_CONFIG__;
const telemetry = new Telemetry({ runtime: 'lambda-edge' });
// The health document from the copy nearest to the region the function runs in (healthDoc.replicas), else the primary.
const docs = config.healthDoc
  ? new DocCache({ config, fetch: docFetcher(config.healthDoc, config.healthDoc.key), telemetry })
  : { current: async () => ({ doc: null, stale: false, ageMs: null }) };

// The signing keys for x-route-token and region affinity sit next to the health document, in a private object.
const keysKey = keysKeyOf(config);
const keys =
  config.healthDoc && keysKey
    ? new KeysCache({ config, fetch: docFetcher(config.healthDoc, keysKey), telemetry })
    : undefined;

/**
 * The function for both events, origin-request and origin-response (the infra app associates it with both): the
 * response side sets the trace and the affinity cookie, and feeds passive health (config outlier, on by default),
 * which needs the containers that routed the requests to see their answers. The local edge and the tests make it
 * from their own parts.
 */
export function createEdge(parts: {
  readonly config: RouterConfig;
  readonly docs: HandlerDeps['docs'];
  readonly keys?: HandlerDeps['keys'];
  readonly telemetry: Telemetry;
  readonly now?: () => number;
  /** `config`'s router: reviveRouter(compiledRouter(config), config), as the build bakes it */
  readonly router: Router;
}) {
  const { config, telemetry, router } = parts;
  const now = parts.now ?? Date.now;
  const rules = outlierRules(config);
  const timeouts = resolveOriginTimeouts(config);
  const passive = rules
    ? new PassiveHealth(router, rules, {
        grouped: config.originGroups,
        onEvent: passiveTelemetry(telemetry),
        // the longest a request waits for an origin: every connection attempt, then the read timeout
        longestWaitMs:
          (timeouts.connectionAttempts * timeouts.connectionTimeoutSeconds + timeouts.readTimeoutSeconds) *
          1000,
      })
    : undefined;
  const onRequest = createHandler({
    router,
    docs: parts.docs,
    keys: parts.keys,
    telemetry,
    now,
    passive,
    timeouts,
  });
  const onResponse = createResponseHandler({
    publicRegion: config.trace?.publicRegion === true,
    affinity: config.affinity && { cookie: config.affinity.cookie, ttlSeconds: config.affinity.ttlSeconds },
    observe: passive && ((request, status) => passive.response(request, status, now())),
  });
  function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequest>;
  function handler(event: CloudFrontResponseEvent): Promise<CloudFrontResponse>;
  function handler(event: CloudFrontRequestEvent | CloudFrontResponseEvent) {
    const cf = event?.Records?.[0]?.cf as { config?: { eventType?: string } } | undefined;
    return cf?.config?.eventType === 'origin-response'
      ? onResponse(event as CloudFrontResponseEvent)
      : onRequest(event as CloudFrontRequestEvent);
  }
  return { handler, passive, router };
}

export const { handler } = createEdge({
  config,
  docs,
  keys,
  telemetry,
  router: reviveRouter(__EDGE_ROUTER_COMPILED__, config),
});

// For tests, the benchmarks and the local edge: the same handler with other parts (the contract table, fault
// injection, a log file), and the core as bundled.
export {
  copiesFetcher,
  createHandler,
  createResponseHandler,
  DocCache,
  docFetcher,
  KeysCache,
  PassiveHealth,
  passiveTelemetry,
  pick,
  plan,
  reviveRouter,
  s3Fetcher,
  Telemetry,
};
