// The request path stays small and pure: pick() bundles without the reference data, zod, ipaddr.js or any node:*
// module (the CloudFront Functions runtime has 10 KB for everything), no core file imports the AWS SDK,
// aws-lambda, cloudfront or node:*, and the core's modules import one another without a circle.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './helpers/load';

const SHARED = join(ROOT, 'shared');
const files = readdirSync(SHARED).filter((n) => n.endsWith('.ts'));

test('pick() bundles from shared/ alone, under 8.5 KB minified without its trace lines', async () => {
  const r = await build({
    stdin: { contents: "export { pick } from './shared/pick';", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    metafile: true,
    logLevel: 'silent',
    // as the CloudFront Functions build carries it (esbuild.config.mjs): the trace is for explain and the logs
    dropLabels: ['TRACE'],
  });
  const inputs = Object.keys(r.metafile.inputs).filter((f) => !f.startsWith('<stdin>'));
  expect(inputs.sort()).toEqual([
    'shared/anchor.ts',
    'shared/chars.ts',
    'shared/hash.ts',
    'shared/ids.ts',
    'shared/net.ts',
    'shared/pick.ts',
    'shared/token.ts',
    'shared/walk.ts',
  ]);
  expect(r.outputFiles[0].contents.length).toBeLessThan(8.5 * 1024);
});

test('no file of the core imports a runtime', () => {
  for (const f of files) {
    const text = readFileSync(join(SHARED, f), 'utf8');
    expect({ f, bad: text.match(/from '(node:[^']+|@aws-sdk\/[^']+|aws-lambda|cloudfront)'/g) }).toEqual({
      f,
      bad: null,
    });
  }
});

/** shared/ module → the shared/ modules it imports (types too: a circle of types is a circle of ideas). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(join(SHARED, f), 'utf8');
    const deps = [...text.matchAll(/(?:import|export)[^;]*?from '\.\/([\w-]+)'/g)].map((m) => `${m[1]}.ts`);
    graph.set(f, [...new Set(deps)]);
  }
  return graph;
}

/** A circle in the graph, as the path that closes it, or undefined. */
function circle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

test('the modules of shared/ import one another without a circle', () => {
  const graph = importGraph();
  expect(graph.get('pick.ts')).toContain('walk.ts');
  expect(circle(graph)).toBeUndefined();
});

test('the circle check finds a circle', () => {
  const g = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
  ]);
  expect(circle(g)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
});
