// CloudFront Functions viewer-request entry (cloudfront-js-2.0). There is no room to compile a router in 10 KB,
// so esbuild.config.mjs bakes in the config's tables (shared/baked.ts), its fingerprint and the origin-group setting
// as the module `edge-router:baked`; the viewer's walk of the plan and the signing keys come from the key value
// store per request.
// The build turns `export { handler }` into the top-level `async function handler(event)` CloudFront calls.

import { baked, failoverStatusCodes, fingerprint } from 'edge-router:baked';
import cf from 'cloudfront';
// biome-ignore lint/style/useNodejsImportProtocol: the CloudFront Functions runtime names it `crypto`, not `node:crypto`
import crypto from 'crypto';
import { tablesOf } from '../../shared/baked';
import { type CffEvent, type CffRequest, type Hmac, handle, type Runtime } from './handler';

let kvs: Runtime['kvs'];
try {
  kvs = cf.kvs();
} catch (_) {
  // no store associated: every request routes on the baked-in defaults (every region up)
}

const rt: Runtime = {
  table: tablesOf(baked),
  fingerprint,
  cf,
  kvs,
  crypto: crypto as unknown as Hmac,
  failoverStatusCodes,
};

export async function handler(event: CffEvent): Promise<CffRequest> {
  return handle(event, rt);
}
