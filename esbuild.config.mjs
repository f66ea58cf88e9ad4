// Builds every artefact: `node esbuild.config.mjs [--config FILE] [--outdir DIR]` (npm run build; npm ci runs
// it as `prepare`).
//   DIR/cli/index.js             the edge-router CLI (CommonJS, Node 20), launched by bin/edge-router.cjs
//   DIR/origin-request/index.js  the Lambda@Edge origin-request function: CommonJS, `exports.handler`, the
//                                router config (default: router.config.json) validated and baked in, since
//                                Lambda@Edge has no environment variables.
//   DIR/origin-response/index.js the Lambda@Edge origin-response function (the decision trace), same config.
//   DIR/prober/index.js          the health checker, a scheduled regional Lambda per vantage, same config.
//   DIR/viewer-request/index.js  the CloudFront Functions viewer-request function (cloudfront-js-2.0): the router
//                                tables baked in, checked by scripts/check-cff.cjs (syntax, imports, 10 KB).
//   DIR/viewer-response/index.js the CloudFront Functions viewer-response function: sets the affinity cookie.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

/** A build that cannot start: the reason on one line, exit 1, no stack trace. */
/** Stops the build; `remove`: files it wrote that must not be left for a deploy to pick up (an oversized bundle). */
function fail(message, remove = []) {
  for (const file of remove) rmSync(file, { force: true });
  console.error(`build failed: ${message}`);
  process.exit(1);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      outdir: { type: 'string', default: 'dist' },
      config: { type: 'string', default: 'router.config.json' },
    },
  }));
} catch (e) {
  fail(
    `${e.message.replace(/\. To specify.*$/s, '')} (usage: node esbuild.config.mjs [--config FILE] [--outdir DIR])`,
  );
}
const outdir = resolve(values.outdir);

/**
 * Lambda@Edge bundle budget (bytes): a cold start requires it on a viewer's request (README, "Lambda@Edge cold
 * start"). No AWS SDK client is in it: the document is a signed GET over node:https.
 */
export const ORIGIN_REQUEST_BUDGET = 150 * 1024;
/**
 * What the build refuses: a config's own tables (a thousand CIDRs, say) may take a bundle past the budget, with a
 * warning; this far past it, a cold start would cost what the budget is there to save.
 */
export const ORIGIN_REQUEST_LIMIT = 1024 * 1024;

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
const require = createRequire(import.meta.url);
const { checkCloudFrontFunction, sizeProblem } = require('./scripts/check-cff.cjs');
const { checkConfig, bakedRouter, compiledRouter, latencyColumnsOf } = require(
  resolve(outdir, 'cli/index.js'),
);
let checked;
try {
  checked = checkConfig(values.config);
} catch (e) {
  // a config that cannot be read: the CLI's own words (cannot read FILE: no such file)
  fail(e?.lines ? e.lines.join('; ') : String(e?.message ?? e));
}
if (!checked.success) {
  for (const e of checked.errors) console.error(`${values.config}: ${e.path}: ${e.message}`);
  console.error(`build failed: ${values.config} is not a valid router config`);
  process.exit(1);
}
const { $schema: _, ...config } = checked.data;

/**
 * The inter-region latency matrix with only the columns this config's functions read (latencyColumnsOf): every row,
 * so every anchor ranks as with the whole matrix, in about a tenth of its 23 KB.
 */
const latencySlice = {
  name: 'latency-slice',
  setup(b) {
    b.onLoad({ filter: /aws-inter-region-latency-p50\.json$/ }, async (args) => {
      const file = JSON.parse(await readFile(args.path, 'utf8'));
      const keep = new Set(latencyColumnsOf(config));
      const data = Object.fromEntries(
        Object.entries(file.data).map(([from, row]) => [
          from,
          Object.fromEntries(Object.entries(row).filter(([to]) => keep.has(to))),
        ]),
      );
      return { contents: JSON.stringify({ data }), loader: 'json' };
    });
  },
};

/**
 * ipaddr.js and jsonc-parser marked free of side effects (their top-level code only defines), so that a bundle that
 * uses neither does not carry them: the Lambda@Edge function matches addresses against the CIDR tables the build
 * compiled (shared/net.ts), and describes bad JSON in V8's words (shared/validate.ts readJsonText). 17 KB of its
 * bundle, which a cold start parses on a viewer's request.
 */
const sideEffectFree = {
  name: 'side-effect-free',
  setup(b) {
    b.onResolve({ filter: /^(ipaddr\.js|jsonc-parser)$/ }, async (args) => {
      if (args.pluginData?.resolving) return undefined;
      const found = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { resolving: true },
      });
      return found.errors.length ? found : { ...found, sideEffects: false };
    });
  },
};

const result = await build({
  ...common,
  plugins: [latencySlice, sideEffectFree],
  entryPoints: {
    'origin-request/index': 'functions/origin-request/index.ts',
    'origin-response/index': 'functions/origin-response/index.ts',
    'prober/index': 'functions/prober/index.ts',
  },
  outdir,
  minify: true,
  metafile: true,
  // the config, and the router compiled from it (a cold container parses it instead of compiling the config)
  define: {
    __EDGE_ROUTER_CONFIG__: JSON.stringify(config),
    __EDGE_ROUTER_COMPILED__: JSON.stringify(compiledRouter(config)),
  },
});
const bytes = Object.entries(result.metafile.outputs).find(([f]) => f.endsWith('origin-request/index.js'))[1]
  .bytes;
if (bytes > ORIGIN_REQUEST_LIMIT) {
  fail(
    `origin-request/index.js is ${bytes} bytes; the limit is ${ORIGIN_REQUEST_LIMIT}`,
    Object.keys(result.metafile.outputs).filter((f) => f.includes('origin-request/')),
  );
} else if (bytes > ORIGIN_REQUEST_BUDGET) {
  console.warn(
    `warning: origin-request/index.js is ${bytes} bytes, over our ${ORIGIN_REQUEST_BUDGET}-byte budget: a cold start requires it on a viewer's request`,
  );
}

/** Property names of edge-router's own objects, shortened in the CloudFront Functions bundle. */
export const INTERNAL_PROPS = new RegExp(
  `^(${[
    // RouteTable, Baked and their parts
    'fallback',
    'rankings',
    'byCountry',
    'byAnchor',
    'anchorGeo',
    'anchors',
    'anchorPlaces',
    'noGeo',
    'residency',
    'targets',
    'networks',
    'networkRoutes',
    'allow',
    'needsIp',
    'maxTokenTtlSeconds',
    'sticky',
    'environments',
    'regions',
    'canaries',
    'countries',
    'anchorGrid',
    'nets',
    'masks',
    'values',
    'size',
    'allowed',
    'words',
    'place',
    'group',
    'ranking',
    'kind',
    'code',
    'id',
    // Plan, Placement (a walk's own fields are stored JSON: never shortened)
    'serial',
    'walks',
    'placed',
    'at',
    'plan',
    'says',
    // Decision, facts, override and token checks
    'target',
    'origin',
    'reason',
    'error',
    'stale',
    'authorised',
    'override',
    'outcome',
    'requested',
    'honoured',
    'why',
    'trace',
    'next',
    'dest',
    'country',
    'lat',
    'lon',
    'ok',
    'keyId',
    'expires',
    'ids',
    'sign',
    // region affinity (not 'from': Buffer.from is the runtime's)
    'affinity',
    'setAffinity',
    'ttlSeconds',
    'after',
    'header',
    'cookie',
    'headerMaxTtlSeconds',
    'subject',
    'cause',
    'region',
    // the viewer-request runtime and the store's parts
    'table',
    'fingerprint',
    'crypto',
    'failoverStatusCodes',
    'tag',
    'text',
    'walk',
  ].join('|')})$`,
);

/** The CloudFront Functions budget we hold ourselves to (bytes); CloudFront's limit is CFF_MAX_BYTES. */
export const VIEWER_REQUEST_BUDGET = 8 * 1024;

/**
 * Builds one CloudFront Functions file (cloudfront-js-2.0) from `entry`, with `baked` as the module
 * `edge-router:baked`, checks it (scripts/check-cff.cjs) and writes DIR/<name>/index.js. Returns its code.
 */
async function buildCloudFrontFunction(name, entry, baked) {
  const cff = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    // cloudfront-js-2.0 is ES 5.1 plus these; esbuild lowers the rest or refuses what it cannot (destructuring,
    // for-of, default parameters, classes), so such code never reaches the bundle.
    target: 'es5',
    supported: {
      'const-and-let': true,
      arrow: true,
      'template-literal': true,
      'rest-argument': true,
      'exponent-operator': true,
      'async-await': true,
      'regexp-named-capture-groups': true,
    },
    external: ['cloudfront', 'crypto'],
    minify: true,
    // the packed router's index characters go past ASCII: UTF-8 keeps them at two bytes, not six (\\uXXXX)
    charset: 'utf8',
    // the explanation (the trace, and what became of an override or affinity value) is for explain, Lambda@Edge's
    // logs and its metrics; this runtime has none of them, and 10 KB for everything (shared/pick.ts). FAST: what
    // only makes Node.js faster, changing no result: a key ring's cache of accepted values (shared/token.ts), whose
    // state here would last one request, and a hash's ASCII path (shared/hash.ts).
    dropLabels: ['TRACE', 'OUTCOME', 'FAST'],
    // Our own objects' property names are shortened: they never meet CloudFront's (event, cf.*, the key value
    // store), the health document's or the runtime's (Date.now, cf.kvs). A name used by both (regions, canary,
    // headers, ip, now, kvs, ...) is not on this list; the harness tests run the shortened bundle.
    mangleProps: INTERNAL_PROPS,
    mangleQuoted: true,
    logLevel: 'warning',
    // The baked config, as a module (not a `define`, whose keys esbuild would not shorten with the code's).
    plugins: [
      {
        name: 'edge-router-baked',
        setup(b) {
          b.onResolve({ filter: /^edge-router:baked$/ }, (a) => ({ path: a.path, namespace: 'baked' }));
          b.onLoad({ filter: /.*/, namespace: 'baked' }, () => ({ loader: 'js', contents: baked }));
        },
      },
    ],
  });
  // CloudFront calls a top-level `function handler`: the ES module's export becomes that declaration.
  let code = cff.outputFiles[0].text;
  const exported = /export\s*\{\s*([\w$]+) as handler\s*\};?\s*$/.exec(code);
  if (!exported) {
    console.error(`build failed: ${name}/index.js does not export handler`);
    process.exit(1);
  }
  code = code.slice(0, exported.index);
  // The runtime wants `import cf from 'cloudfront'` as the first line ("Helper methods for origin modification");
  // imports are hoisted, so moving them up changes nothing else.
  const imports = [];
  code = code.replace(/import\s*([\w$]+)\s*from\s*"(cloudfront|crypto)";/g, (_m, name, mod) => {
    imports[mod === 'cloudfront' ? 0 : 1] = `import ${name} from"${mod}";`;
    return '';
  });
  code = imports.filter(Boolean).join('') + code;
  if (exported[1] !== 'handler') {
    // the exported function renamed `handler` where nothing else names it (saves a wrapper's bytes), else a wrapper
    const id = exported[1].replace(/\$/g, '\\$');
    const uses = code.match(new RegExp(`(?<![\\w$])${id}(?![\\w$])`, 'g')) ?? [];
    const declaration = new RegExp(`(async )?function ${id}\\(`);
    if (uses.length === 1 && declaration.test(code))
      code = code.replace(declaration, (_m, a) => `${a ?? ''}function handler(`);
    else code += `async function handler(event){return ${exported[1]}(event)}\n`;
  }
  const problems = checkCloudFrontFunction(code);
  if (problems.length) {
    for (const p of problems) console.error(`${name}/index.js:${p}`);
    console.error(`build failed: ${name}/index.js is not a valid cloudfront-js-2.0 function`);
    process.exit(1);
  }
  mkdirSync(resolve(outdir, name), { recursive: true });
  writeFileSync(resolve(outdir, `${name}/index.js`), code);
  return code;
}

const code = await buildCloudFrontFunction(
  'viewer-request',
  'functions/viewer-request/index.ts',
  `${Object.entries(bakedRouter(config))
    .map(([name, value]) => `export const ${name} = ${JSON.stringify(value)};`)
    .join('\n')}
export const failoverStatusCodes = ${JSON.stringify(config.originGroups?.failoverStatusCodes ?? null)};`,
);
// The viewer-response function sets the affinity cookie; it is small, so its 10 KB is always enforced.
const responseCode = await buildCloudFrontFunction(
  'viewer-response',
  'functions/viewer-response/index.ts',
  `export const affinity = ${JSON.stringify(
    config.affinity ? { cookie: config.affinity.cookie, ttlSeconds: config.affinity.ttlSeconds } : null,
  )};`,
);
const responseTooBig = sizeProblem(responseCode);
if (responseTooBig) {
  fail(`viewer-response/index.js is ${responseTooBig}`, [resolve(outdir, 'viewer-response/index.js')]);
}
// Too big to publish: fatal when the config deploys this runtime, a warning otherwise (the file is still written,
// for the harness tests and to show how far over it is).
const tooBig = sizeProblem(code);
if (tooBig && config.runtime === 'cloudfront-functions') {
  fail(`viewer-request/index.js is ${tooBig}`, [resolve(outdir, 'viewer-request/index.js')]);
}
if (tooBig) {
  console.warn(
    `warning: viewer-request/index.js is ${tooBig}: it cannot be published (runtime ${config.runtime})`,
  );
} else if (Buffer.byteLength(code) > VIEWER_REQUEST_BUDGET) {
  console.warn(
    `warning: viewer-request/index.js is ${Buffer.byteLength(code)} bytes, over our ${VIEWER_REQUEST_BUDGET}-byte budget`,
  );
}
