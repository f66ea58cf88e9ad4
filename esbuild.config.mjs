// Builds every artefact: `node esbuild.config.mjs [--outdir DIR]` (npm run build; npm ci runs it as prepare).
//   dist/cli/index.js  the edge-router CLI (CommonJS, Node 20), launched by bin/edge-router.cjs

import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } });

await build({
  entryPoints: { 'cli/index': 'cli/index.ts' },
  outdir: values.outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // prefer ES modules: jsonc-parser's "main" is a UMD build whose dynamic requires esbuild cannot follow
  mainFields: ['module', 'main'],
  sourcemap: 'linked',
  // geoip-lite reads its data files from beside its own module: it cannot be bundled
  external: ['geoip-lite'],
  logLevel: 'warning',
});
