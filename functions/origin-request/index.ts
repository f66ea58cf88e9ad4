// Lambda@Edge origin-request entry. Lambda@Edge has no environment variables, so the router config is
// validated and baked in by esbuild.config.mjs (`__EDGE_ROUTER_CONFIG__`); it is compiled once, at module load.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html
// Imports name the core's modules, not shared/index.ts, so the router-config schema is not built at load.

import type { RouterConfig } from '../../shared/config-schema';
import { pick } from '../../shared/pick';
import { plan } from '../../shared/plan';
import { compileRouter, keysKeyOf } from '../../shared/router';
import { createHandler } from './handler';
import { DocCache, KeysCache } from './object-cache';
import { s3Fetcher } from './s3-fetcher';
import { Telemetry } from './telemetry';

declare const __EDGE_ROUTER_CONFIG__: RouterConfig;

const config = __EDGE_ROUTER_CONFIG__;
const telemetry = new Telemetry({ runtime: 'lambda-edge' });
const router = compileRouter(config);
const docs = config.healthDoc
  ? new DocCache({ config, fetch: s3Fetcher(config.healthDoc), telemetry })
  : { current: async () => ({ doc: null, stale: false, ageMs: null }) };

// The signing keys for x-route-token and region affinity sit next to the health document, in a private object.
const keysKey = keysKeyOf(config);
const keys =
  config.healthDoc && keysKey
    ? new KeysCache({ config, fetch: s3Fetcher({ ...config.healthDoc, key: keysKey }), telemetry })
    : undefined;

export const handler = createHandler({ router, docs, keys, telemetry });

// For tests, the benchmarks and the local edge: the same handler with other parts (the contract table, fault
// injection, a log file), and the core as bundled.
export { compileRouter, createHandler, DocCache, KeysCache, pick, plan, s3Fetcher, Telemetry };
