// npm start: the whole edge router on one machine. Builds the bundles for the local config, then starts, in one
// process that stops cleanly on Ctrl-C: a demo API per region and environment, a local S3 (s3rver) holding the
// health document, and the local edge on http://localhost:8080 (PORT to change) running the built Lambda@Edge
// bundles, with its status page. `--config FILE` points it at other origins and another bucket: a config change,
// not a code change.
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkConfig } from '../cli/load';
import { useCityData } from '../lib/geoip';
import { banner } from './banner';
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
  console.log(banner({ stack, config, runtime, dist, log, cfg }));

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
