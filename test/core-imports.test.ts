// The request path stays small and pure: route() bundles without the reference data, zod, ipaddr.js or any
// node:* module (the CloudFront Functions runtime, issue #6, has 10 KB for everything), and no core file imports
// the AWS SDK, aws-lambda, cloudfront or node:*.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './helpers/load';

test('route() bundles from shared/ alone, under 10 KB minified without its trace lines', async () => {
  const r = await build({
    stdin: { contents: "export { route } from './shared/route';", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    metafile: true,
    logLevel: 'silent',
    // as the CloudFront Functions build carries it (esbuild.config.mjs): the trace is for Lambda@Edge's header
    dropLabels: ['TRACE'],
  });
  const inputs = Object.keys(r.metafile.inputs).filter((f) => !f.startsWith('<stdin>'));
  expect(inputs.sort()).toEqual([
    'shared/anchor.ts',
    'shared/hash.ts',
    'shared/ids.ts',
    'shared/net.ts',
    'shared/own.ts',
    'shared/route.ts',
    'shared/token.ts',
  ]);
  expect(r.outputFiles[0].contents.length).toBeLessThan(10 * 1024);
});

test('no file of the core imports a runtime', () => {
  for (const f of readdirSync(join(ROOT, 'shared')).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, 'shared', f), 'utf8');
    expect({ f, bad: text.match(/from '(node:[^']+|@aws-sdk\/[^']+|aws-lambda|cloudfront)'/g) }).toEqual({
      f,
      bad: null,
    });
  }
});
