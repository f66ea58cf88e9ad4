// npm start: the whole edge router on one machine. Builds the bundles for the local config, then starts, in one
// process that stops cleanly on Ctrl-C: a demo API per region and environment, a local S3 (s3rver) holding the
// health document, and the local edge on http://localhost:8080 (PORT to change) running the built Lambda@Edge
// bundles, with its status page. `--config FILE` points it at other origins and another bucket: a config change,
// not a code change.
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkConfig } from '../cli/load';
import { useCityData } from '../lib/geoip';
import { startLocal } from './stack';

const ROOT = join(__dirname, '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: join(ROOT, 'examples', 'local.config.json') },
      runtime: { type: 'string', default: 'lambda-edge' },
      // geoip-lite's city data: the edge adds CloudFront-Viewer-Latitude/-Longitude too (about 180 MB of RSS)
      'geoip-city': { type: 'boolean', default: false },
    },
  });
  if (values['geoip-city']) useCityData();
  const runtime = values.runtime;
  if (runtime !== 'lambda-edge' && runtime !== 'cloudfront-functions') {
    throw new Error(`--runtime ${runtime}: lambda-edge or cloudfront-functions`);
  }
  const file = resolve(values.config);
  const checked = checkConfig(file);
  if (!checked.success) {
    for (const e of checked.errors) console.error(`${file}: ${e.path}: ${e.message}`);
    process.exit(1);
  }
  const config = checked.data;
  const dist = join(ROOT, '.local', 'dist');
  const cfg = relative(process.cwd(), file);
  console.log(`building the bundles for ${cfg} ...`);
  const log = join(ROOT, '.local', 'edge.log');
  const stack = await startLocal({
    config,
    configFile: file,
    dist,
    port: Number(process.env.PORT ?? 8080),
    log,
    runtime,
  });
  const src = config.healthDoc;
  const at = `http://localhost:${stack.edge.port}`;
  console.log(`
edge-router, local edge (runtime ${runtime}, the bundles in ${relative(process.cwd(), dist)}${
    runtime === 'cloudfront-functions'
      ? '; viewer-request in the CloudFront Functions harness, its store fed from S3'
      : ''
  })
  edge         ${at}   viewer = the socket's address, or X-Forwarded-For from loopback
  status page  ${at}/_router
  edge logs    ${relative(process.cwd(), log)}   (the function's JSON log lines and EMF metrics)${
    stack.keysFile
      ? `\n  signing keys ${relative(process.cwd(), stack.keysFile)}   (a fresh local key: edge-router token / affinity mint --key-file)`
      : ''
  }
  document     s3://${src?.bucket}/${src?.key}${src?.endpoint ? ` at ${src.endpoint}` : ''}, TTL ${src?.ttlSeconds} s
${stack.backends.map((b) => `  ${b.id.padEnd(12)} http://localhost:${b.port}`).join('\n')}

Try:
  curl -s -H 'X-Forwarded-For: 1.208.0.1' ${at}/hello                          # a Korean viewer: ap-northeast-2
  curl -s -H 'X-Forwarded-For: 85.214.0.1' ${at}/hello                         # a German viewer: eu-central-1
  curl -si -H 'X-Forwarded-For: 10.8.0.5' -H 'x-route-to: staging' ${at}/hello   # QA from the VPN picks staging
${
  config.affinity && stack.keysFile
    ? `  curl -s -X POST -c .local/jar -H 'X-Forwarded-For: 1.208.0.1' ${at}/orders     # a write from Korea sets ${config.affinity.cookie}
  curl -s -b .local/jar -H 'X-Forwarded-For: 81.2.69.160' ${at}/orders            # the same user in the UK reads from Seoul (${config.affinity.ttlSeconds} s)
`
    : ''
}
Operate the live document (traffic moves within ${src?.ttlSeconds} s), in another terminal:
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER   # the local S3's credentials
  npx edge-router doc status ap-northeast-2 down --config ${cfg} --yes            # held: the health checker leaves it
  npx edge-router doc status ap-northeast-2 auto --config ${cfg} --yes            # handed back to the health checker
  npx edge-router doc dial eu-central-1 30 --for 30m --config ${cfg} --yes        # a hold that ends by itself
  npx edge-router doc get --config ${cfg}                                         # who holds what, and what the probes see

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping ...');
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(`edge-router local edge: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
