// The floor of a cold start for any Lambda@Edge function that reads a private S3 object itself: only what every
// signed HTTPS reader loads at init, as functions/origin-request/s3-fetcher.ts does (node:https with a keep-alive
// agent, the SDK's SigV4 signer with node:crypto's hash), and nothing of the router. bench/origin-request.bench.ts
// builds it as the bundle is built (esbuild, minified, node20, CommonJS) and times it beside the bundle, so that the
// bundle's own share of a cold start (its time over the floor) is measured in the same run.
import { Agent, request } from 'node:https';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const signer = new SignatureV4({
  service: 's3',
  region: 'us-east-1',
  sha256: Hash.bind(null, 'sha256'),
  credentials: async () => ({ accessKeyId: 'floor', secretAccessKey: 'floor' }),
  uriEscapePath: false,
});

export const reader = { agent, request, signer };
