// Test helpers: the example files, compiled routers and health documents built from a few changes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compileRouter,
  type HealthDoc,
  parseRouterConfig,
  type RegionHealth,
  type Router,
  type RouterConfig,
} from '../../shared';

export const ROOT = join(__dirname, '..', '..');
export const EXAMPLE_CONFIG = join(ROOT, 'examples', 'router.config.json');
export const TWELVE_CONFIG = join(ROOT, 'test', 'configs', 'twelve-regions.config.json');
export const EXAMPLE_DOC = join(ROOT, 'examples', 'health.json');

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** A fresh copy of the example config, with changes applied. */
export function exampleConfig(change?: (c: RouterConfig) => void): RouterConfig {
  const raw = structuredClone(readJson<RouterConfig>(EXAMPLE_CONFIG));
  change?.(raw);
  const parsed = parseRouterConfig(raw);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
  return parsed.data;
}

/** A config file compiled, as the build compiles it. */
export function routerOf(file: string): Router {
  const parsed = parseRouterConfig(readJson(file));
  if (!parsed.success) throw new Error(`${file}: ${JSON.stringify(parsed.errors)}`);
  return compileRouter(parsed.data);
}

/** The two configs the core is held to: the one `npm run build` bakes, and the 12-region test config. */
export const BOTH_CONFIGS: [string, string][] = [
  ['router.config.json', join(ROOT, 'router.config.json')],
  ['twelve-regions.config.json', TWELVE_CONFIG],
];

export function exampleRouter(change?: (c: RouterConfig) => void): Router {
  return compileRouter(exampleConfig(change));
}

/** The example health document with some regions replaced. */
export function docWith(regions: Record<string, Partial<RegionHealth>> = {}, serial = 7): HealthDoc {
  const doc = structuredClone(readJson<HealthDoc>(EXAMPLE_DOC));
  for (const [id, h] of Object.entries(regions)) doc.regions[id] = { status: 'up', ...h };
  doc.serial = serial;
  return doc;
}
