// Lambda@Edge origin-request entry. Lambda@Edge has no environment variables, so the router config is
// validated and baked in by esbuild.config.mjs (`__EDGE_ROUTER_CONFIG__`); it is compiled once, at module load.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html
import { compileRouter, type RouterConfig } from '../../shared';
import { DocCache } from './doc-cache';
import { createHandler } from './handler';
import { s3Fetcher } from './s3-fetcher';
import { Telemetry } from './telemetry';

declare const __EDGE_ROUTER_CONFIG__: RouterConfig;

const config = __EDGE_ROUTER_CONFIG__;
const telemetry = new Telemetry({ runtime: 'lambda-edge' });
const router = compileRouter(config);
const docs = config.healthDoc
  ? new DocCache({ config, fetch: s3Fetcher(config.healthDoc), telemetry })
  : { current: async () => ({ doc: null, stale: false, ageMs: null }) };

export const handler = createHandler({ router, docs, telemetry });

// For tests and the local edge: the same handler with other parts (the contract table, fault injection).
export { compileRouter, createHandler, DocCache, Telemetry };
