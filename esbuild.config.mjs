// Builds every artefact: `node esbuild.config.mjs [--config FILE] [--outdir DIR]` (npm run build; npm ci runs
// it as `prepare`).
//   DIR/cli/index.js             the edge-router CLI (CommonJS, Node 20), launched by bin/edge-router.cjs
//   DIR/origin-request/index.js  the Lambda@Edge origin-request function: CommonJS, `exports.handler`, the
//                                router config (default: router.config.json) validated and baked in, since
//                                Lambda@Edge has no environment variables.
//   DIR/origin-response/index.js the Lambda@Edge origin-response function (the decision trace), same config.

import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({
  options: {
    outdir: { type: 'string', default: 'dist' },
    config: { type: 'string', default: 'router.config.json' },
  },
});
const outdir = resolve(values.outdir);

/** Lambda@Edge bundle budget (bytes). Measured: see README, "Why the AWS SDK is bundled". */
export const ORIGIN_REQUEST_BUDGET = 1024 * 1024;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // prefer ES modules: they tree-shake, and jsonc-parser's "main" is a UMD build esbuild cannot follow
  mainFields: ['module', 'main'],
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { 'cli/index': 'cli/index.ts' },
  outdir,
  sourcemap: 'linked',
  // geoip-lite reads its data files from beside its own module: it cannot be bundled
  external: ['geoip-lite'],
});

// The router config is validated by the CLI just built: the same validator as `edge-router validate`.
const { checkConfig } = createRequire(import.meta.url)(resolve(outdir, 'cli/index.js'));
const checked = checkConfig(values.config);
if (!checked.success) {
  for (const e of checked.errors) console.error(`${values.config}: ${e.path}: ${e.message}`);
  console.error(`build failed: ${values.config} is not a valid router config`);
  process.exit(1);
}
const { $schema: _, ...config } = checked.data;

const result = await build({
  ...common,
  entryPoints: {
    'origin-request/index': 'functions/origin-request/index.ts',
    'origin-response/index': 'functions/origin-response/index.ts',
  },
  outdir,
  minify: true,
  metafile: true,
  // The AWS SDK is bundled, not taken from the Lambda runtime: measured on this machine, the bundle loads in
  // ~160 ms against ~225 ms with the SDK required from node_modules, and the version is pinned by our lock file.
  define: { __EDGE_ROUTER_CONFIG__: JSON.stringify(config) },
});
const bytes = Object.entries(result.metafile.outputs).find(([f]) => f.endsWith('origin-request/index.js'))[1]
  .bytes;
if (bytes > ORIGIN_REQUEST_BUDGET) {
  console.error(
    `build failed: origin-request/index.js is ${bytes} bytes; the budget is ${ORIGIN_REQUEST_BUDGET}`,
  );
  process.exit(1);
}
