// The built Lambda@Edge bundle, made by the real build script with a config of the test's own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudFrontRequest, CloudFrontRequestEvent } from 'aws-lambda';
import type { Router, RouterConfig } from '../../shared';
import { compiledRouter } from '../../shared/router';
import { EXAMPLE_CONFIG, ROOT, readJson } from './load';

export type Handler = (event: CloudFrontRequestEvent) => Promise<CloudFrontRequest>;

export interface OriginRequestModule {
  handler: Handler;
  createHandler: typeof import('../../functions/origin-request/handler').createHandler;
  /** the function for both events, from the test's parts */
  createEdge: typeof import('../../functions/origin-request/index').createEdge;
  DocCache: typeof import('../../functions/origin-request/object-cache').DocCache;
  Telemetry: typeof import('../../functions/origin-request/telemetry').Telemetry;
  s3Fetcher: typeof import('../../functions/origin-request/s3-fetcher').s3Fetcher;
  reviveRouter: typeof import('../../shared/router').reviveRouter;
  plan: typeof import('../../shared').plan;
  pick: typeof import('../../shared').pick;
}

/**
 * `config`'s router as the bundle's own code assembles it, from the ranking the build would bake for that config
 * (esbuild.config.mjs): the bundle compiles no config itself.
 */
export function bundledRouter(mod: Pick<OriginRequestModule, 'reviveRouter'>, config: RouterConfig): Router {
  return mod.reviveRouter(compiledRouter(config), config);
}

/** The example config with a health-doc source of the test's choosing. */
export function configWith(healthDoc: Record<string, unknown> | undefined): RouterConfig {
  const c = readJson<RouterConfig & Record<string, unknown>>(EXAMPLE_CONFIG);
  delete c.$schema;
  if (healthDoc) c.healthDoc = healthDoc as RouterConfig['healthDoc'];
  else delete c.healthDoc;
  return c;
}

/** Runs `node esbuild.config.mjs --config ... --outdir ...`; returns the output directory. */
export function buildBundles(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'edge-router-build-'));
  const file = join(dir, 'router.config.json');
  writeFileSync(file, JSON.stringify(config));
  execFileSync(
    process.execPath,
    [join(ROOT, 'esbuild.config.mjs'), '--config', file, '--outdir', join(dir, 'dist')],
    { cwd: ROOT, stdio: 'pipe' },
  );
  return join(dir, 'dist');
}

/** The origin-request bundle of buildBundles(config). */
export function buildOriginRequest(config: unknown): string {
  return join(buildBundles(config), 'origin-request', 'index.js');
}

/** A fresh copy of a bundle: its own module scope, as a new Lambda container has. */
export function coldStart(bundle: string): OriginRequestModule {
  let mod: OriginRequestModule | undefined;
  jest.isolateModules(() => {
    mod = require(bundle) as OriginRequestModule;
  });
  if (!mod) throw new Error(`could not load ${bundle}`);
  return mod;
}

/** The bundle of `npm run build` (router.config.json at the root). */
export const DIST_ORIGIN_REQUEST = join(ROOT, 'dist', 'origin-request', 'index.js');
