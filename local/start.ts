// npm start: the whole edge router on one machine. Builds the bundles for the local config, then starts, in one
// process that stops cleanly on Ctrl-C: a demo API per region and environment, a local S3 (s3rver) holding the
// health document, and the local edge on http://localhost:8080 (PORT to change) running the built Lambda@Edge
// bundles. `--config FILE` points it at other origins and another bucket: a config change, not a code change.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { checkConfig } from '../cli/load';
import { type Backend, startBackend } from './backends';
import { startEdge } from './edge';
import { createStatus } from './status';

const ROOT = join(__dirname, '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: join(ROOT, 'examples', 'local.config.json') },
      runtime: { type: 'string', default: 'lambda-edge' },
    },
  });
  if (values.runtime !== 'lambda-edge') {
    throw new Error(`--runtime ${values.runtime}: the local edge runs the Lambda@Edge bundles only, for now`);
  }
  const file = resolve(values.config);
  const checked = checkConfig(file);
  if (!checked.success) {
    for (const e of checked.errors) console.error(`${file}: ${e.path}: ${e.message}`);
    process.exit(1);
  }
  const config = checked.data;
  const src = config.healthDoc;
  if (!src?.endpoint) throw new Error(`${file}: healthDoc.endpoint is needed (the local S3)`);
  const port = Number(process.env.PORT ?? 8080);

  // the local S3 speaks SigV4 with these credentials; the bundle's S3 client reads them from the environment
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  const dist = join(ROOT, '.local', 'dist');
  console.log(`building the bundles for ${relative(process.cwd(), file)} ...`);
  execFileSync(process.execPath, [join(ROOT, 'esbuild.config.mjs'), '--config', file, '--outdir', dist], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const s3url = new URL(src.endpoint);
  const s3 = new S3rver({
    port: Number(s3url.port || 80),
    address: s3url.hostname === 'localhost' ? '127.0.0.1' : s3url.hostname,
    silent: true,
    directory: mkdtempSync(join(tmpdir(), 'edge-router-local-s3-')),
    configureBuckets: [{ name: src.bucket, configs: [] }],
  });
  const s3addr = (await s3.run()) as AddressInfo;
  const client = new S3Client({
    region: src.region,
    endpoint: src.endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const ids = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];
  const doc = {
    version: 1,
    serial: 1,
    updatedAt: new Date().toISOString(),
    regions: Object.fromEntries(ids.map((id) => [id, { status: 'up' }])),
  };
  await client.send(
    new PutObjectCommand({
      Bucket: src.bucket,
      Key: src.key,
      Body: `${JSON.stringify(doc, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
  client.destroy();

  const backends: Backend[] = [];
  for (const [id, t] of [...Object.entries(config.regions), ...Object.entries(config.environments ?? {})]) {
    if (t.origin.domainName !== 'localhost') continue;
    backends.push(await startBackend(id, t.origin.port ?? 80));
  }

  const originRequest = require(join(dist, 'origin-request', 'index.js')).handler;
  const originResponse = require(join(dist, 'origin-response', 'index.js')).handler;
  const status = createStatus(config);
  const edge = await startEdge({ config, originRequest, originResponse, port, host: '127.0.0.1', status });

  const at = `http://localhost:${edge.port}`;
  const cfg = relative(process.cwd(), file);
  console.log(`
edge-router, local edge (runtime lambda-edge, the bundles in ${relative(process.cwd(), dist)})
  edge         ${at}   viewer = the socket's address, or X-Forwarded-For from loopback
  status page  ${at}/_router
  local S3     ${src.endpoint} (port ${s3addr.port})   s3://${src.bucket}/${src.key}, serial ${doc.serial}, TTL ${src.ttlSeconds} s
${backends.map((b) => `  ${b.id.padEnd(12)} http://localhost:${b.port}`).join('\n')}

Try:
  curl -s -H 'X-Forwarded-For: 1.208.0.1' ${at}/hello                          # a Korean viewer: ap-northeast-2
  curl -s -H 'X-Forwarded-For: 85.214.0.1' ${at}/hello                         # a German viewer: eu-central-1
  curl -si -H 'X-Forwarded-For: 10.8.0.5' -H 'x-route-to: staging' ${at}/hello   # QA from the VPN picks staging

Operate the live document (traffic moves within ${src.ttlSeconds} s), in another terminal:
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER   # the local S3's credentials
  npx edge-router doc status ap-northeast-2 down --config ${cfg} --yes
  npx edge-router doc status ap-northeast-2 up --config ${cfg} --yes
  npx edge-router doc get --config ${cfg}

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping ...');
    status.close();
    await edge.close();
    await Promise.all(backends.map((b) => b.close()));
    await s3.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(`edge-router local edge: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
