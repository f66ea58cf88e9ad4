// The local stack, shared by `npm start` (local/start.ts) and `npm run drill` (local/drill.ts): the bundles built for
// a router config, a local S3 (s3rver) with the health document, a demo API per region and environment served on
// localhost, and the local edge running the built Lambda@Edge bundles, with the status page.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { s3Client } from '../lib/doc-store';
import { newSecret } from '../lib/keyring';
import { asStore, keysEntries, planEntries } from '../lib/kvs';
import { Prober } from '../lib/prober';
import { type HealthDoc, type KeysDoc, parseRouterConfig, type RouterConfig } from '../shared';
import { everyTargetUp } from '../shared/health-check';
import { compiledRouter, compileRouter, distributionOrigins, keysKeyOf } from '../shared/router';
import { type Backend, startBackend } from './backends';
import { CffHarness } from './cff-runtime';
import { type Edge, startEdge } from './edge';
import { openLogs } from './log';
import { enforceConditionalWrites } from './s3-conditional';
import { createStatus, type Status } from './status';

const ROOT = join(__dirname, '..');

export interface LocalStack {
  readonly config: RouterConfig;
  readonly edge: Edge;
  readonly status: Status;
  readonly backends: Backend[];
  readonly s3: S3Client;
  /** writes a health document to the local S3 (as `edge-router doc publish` would, minus the checks) */
  putDoc(doc: HealthDoc): Promise<void>;
  /** the local signing keys (tokens, affinity), when the config signs and the S3 is local */
  readonly keysFile?: string;
  close(): Promise<void>;
}

/** Refuses a port another process holds, before anything starts: one clear line instead of an EADDRINUSE stack. */
async function ensureFree(port: number, what: string): Promise<void> {
  if (!port) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'EADDRINUSE'
            ? `port ${port} (${what}) is in use: is another npm start running?`
            : `port ${port} (${what}): ${e.message}`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Credentials for s3rver, in the environment the built bundle's S3 client reads. */
export function localS3Credentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * examples/local.config.json on free ports (every origin and the local S3), written to a new temporary folder, so
 * that the drill and the benchmark can run beside `npm start`; `change` edits the config before it is checked.
 */
export async function localConfigOnFreePorts(
  prefix: string,
  change?: (raw: RouterConfig) => void,
): Promise<{ config: RouterConfig; configFile: string; dir: string }> {
  const raw = JSON.parse(readFileSync(join(ROOT, 'examples', 'local.config.json'), 'utf8')) as RouterConfig;
  // every origin of the distribution: each region's and environment's, and each canary deployment's
  const origins = [
    ...Object.values(raw.regions).flatMap((r) => (r.canaryOrigin ? [r.origin, r.canaryOrigin] : [r.origin])),
    ...Object.values(raw.environments ?? {}).map((e) => e.origin),
  ];
  const ports = await Promise.all(Array.from({ length: origins.length + 1 }, freePort));
  origins.forEach((o, i) => {
    o.port = ports[i];
  });
  if (raw.healthDoc) raw.healthDoc.endpoint = `http://localhost:${ports[origins.length]}`;
  change?.(raw);
  const parsed = parseRouterConfig(raw);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const configFile = join(dir, 'router.config.json');
  writeFileSync(configFile, JSON.stringify(raw));
  return { config: parsed.data, configFile, dir };
}

/**
 * localConfigOnFreePorts, then startLocal in its folder (the bundles in dist/, the log in edge.log, the edge on a
 * free port): the drill, the benchmark and the tests that need the whole stack. `close` stops it and removes the
 * folder.
 */
export async function startLocalOnFreePorts(
  prefix: string,
  opts: {
    change?: (raw: RouterConfig) => void;
    runtime?: 'lambda-edge' | 'cloudfront-functions';
    /** each request the edge sends to an origin (EdgeOptions.onAttempt) */
    onAttempt?: (target: string) => void;
  } = {},
): Promise<{
  stack: LocalStack;
  config: RouterConfig;
  configFile: string;
  dir: string;
  close(): Promise<void>;
}> {
  const { config, configFile, dir } = await localConfigOnFreePorts(prefix, opts.change);
  try {
    const stack = await startLocal({
      config,
      configFile,
      dist: join(dir, 'dist'),
      port: 0,
      log: join(dir, 'edge.log'),
      runtime: opts.runtime,
      onAttempt: opts.onAttempt,
    });
    const close = async () => {
      await stack.close();
      rmSync(dir, { recursive: true, force: true });
    };
    return { stack, config, configFile, dir, close };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Builds the bundles for `configFile` into `dist`, then starts everything. */
export async function startLocal(opts: {
  config: RouterConfig;
  configFile: string;
  dist: string;
  port: number;
  /** where decisions and the functions' events go, one readable line each (local/log.ts) */
  log: string;
  /** where the function's EMF metric lines go; default metrics.log beside `log` */
  metrics?: string;
  /** the bundles that route: Lambda@Edge (default), or CloudFront Functions in the runtime harness */
  runtime?: 'lambda-edge' | 'cloudfront-functions';
  /** each request the edge sends to an origin (EdgeOptions.onAttempt) */
  onAttempt?: (target: string) => void;
}): Promise<LocalStack> {
  const { config } = opts;
  const src = config.healthDoc;
  if (!src) throw new Error('the router config has no healthDoc: nothing to route on');
  // a local S3 when the config names an endpoint on this machine; otherwise the real bucket, with the AWS
  // credentials of the environment (pointing the local edge at real origins and a real bucket is a config change)
  const local =
    src.endpoint !== undefined && /^(localhost|127\.0\.0\.1)$/.test(new URL(src.endpoint).hostname);
  if (local) localS3Credentials();
  // every port this stack listens on, checked before the build
  if (local) await ensureFree(Number(new URL(src.endpoint as string).port || 80), 'the local S3');
  await ensureFree(opts.port, 'the local edge');
  // (a per-try copy is the same backend)
  const localOrigins = [...distributionOrigins(config)].filter(
    ([, o]) => o.domainName === 'localhost' && !o.perTry,
  );
  for (const [id, o] of localOrigins) await ensureFree(o.port ?? 80, `the ${id} backend`);
  execFileSync(
    process.execPath,
    [join(ROOT, 'esbuild.config.mjs'), '--config', opts.configFile, '--outdir', opts.dist],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );

  const server = local
    ? new S3rver({
        port: Number(new URL(src.endpoint as string).port || 80),
        address: '127.0.0.1',
        silent: true,
        directory: mkdtempSync(join(tmpdir(), 'edge-router-local-s3-')),
        configureBuckets: [{ name: src.bucket, configs: [] }],
      })
    : undefined;
  await server?.run();
  // s3rver ignores If-Match and If-None-Match: the CLI and the health checker write one document, so enforce them
  if (server) enforceConditionalWrites(server);
  const s3 = s3Client(src);
  const putDoc = async (doc: HealthDoc) => {
    await s3.send(
      new PutObjectCommand({
        Bucket: src.bucket,
        Key: src.key,
        Body: `${JSON.stringify(doc, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  };
  // a fresh local S3 starts with every region up; a real bucket keeps its document
  if (local) await putDoc(everyTargetUp(config, 1, new Date().toISOString()));
  // and with a signing key of its own (tokens, affinity cookies), also written next to the log for the CLI
  const keysKey = keysKeyOf(config);
  const keysFile = join(dirname(opts.log), 'keys.json');
  let keysDoc: KeysDoc | undefined;
  if (local && keysKey) {
    keysDoc = {
      version: 1,
      keys: [{ id: 'local', secret: newSecret(), createdAt: new Date().toISOString() }],
    };
    writeFileSync(keysFile, `${JSON.stringify(keysDoc, null, 2)}\n`, { mode: 0o600 });
    await s3.send(
      new PutObjectCommand({
        Bucket: src.bucket,
        Key: keysKey,
        Body: JSON.stringify(keysDoc),
        ContentType: 'application/json',
      }),
    );
  }

  const backends: Backend[] = [];
  // a demo API per local origin: a canary deployment's answers with its origin id, `canary.<region>`
  for (const [id, o] of localOrigins) backends.push(await startBackend(id, o.port ?? 80));
  // the store is fed from the page's own read of S3 (below); the page shows its serial beside S3's
  // the container's ejections (passive health), once the function is made below
  let passive: { ejections(now: number): { target: string; canary: boolean; untilMs: number }[] } | undefined;
  const status = createStatus(
    config,
    opts.runtime === 'cloudfront-functions'
      ? { store: () => viewerRequest?.store() ?? {} }
      : { ejections: () => passive?.ejections(Date.now()) ?? [] },
  );
  // The built bundle's own parts, with its logs and metrics (one JSON line each, as CloudWatch would get them) in a
  // file rather than on the terminal.
  const log = openLogs(opts.log, opts.metrics ?? join(dirname(opts.log), 'metrics.log'));
  const mod = require(join(opts.dist, 'origin-request', 'index.js'));
  const telemetry = new mod.Telemetry({ runtime: 'local', write: (line: string) => log.write(line) });
  const docs = new mod.DocCache({ config, fetch: mod.s3Fetcher(src), telemetry });
  const keys = keysKey
    ? new mod.KeysCache({ config, fetch: mod.s3Fetcher({ ...src, key: keysKey }), telemetry })
    : undefined;
  // CloudFront Functions: the built file in the runtime harness, its key value store filled from the document in S3
  // (what `edge-router doc` writes do to a real store)
  let stored: { doc: HealthDoc | null | undefined; store: Record<string, string> } = {
    doc: undefined,
    store: {},
  };
  // the publisher's own compile of the config, as `edge-router doc` makes it
  const router = compileRouter(config);
  const viewerRequest =
    opts.runtime === 'cloudfront-functions'
      ? {
          // the distribution's origins, one per region, environment and canary, which the function selects by id
          harness: new CffHarness(join(opts.dist, 'viewer-request', 'index.js'), {
            origins: [...distributionOrigins(config).keys()],
          }),
          store: () => {
            const doc = status.doc();
            if (doc !== stored.doc) {
              const entries = [
                ...(doc ? planEntries(router, doc) : []),
                ...(keysDoc ? keysEntries(keysDoc) : []),
              ];
              stored = { doc, store: asStore(entries) };
            }
            return stored.store;
          },
        }
      : undefined;
  // one function for origin-request and origin-response, as the infra app deploys it: one container's passive health
  // the router the build would bake for this config (the bundle compiles none itself)
  const fn = mod.createEdge({
    config,
    docs,
    keys,
    telemetry,
    router: mod.reviveRouter(compiledRouter(config), config),
  });
  passive = fn.passive;
  const edge = await startEdge({
    config,
    originRequest: fn.handler,
    originResponse: fn.handler,
    viewerRequest,
    viewerResponse:
      opts.runtime === 'cloudfront-functions'
        ? new CffHarness(join(opts.dist, 'viewer-response', 'index.js'))
        : undefined,
    port: opts.port,
    host: '127.0.0.1',
    status,
    onDecision: (d) => log.decision(d),
    onAttempt: opts.onAttempt,
  });
  // The health checker, in-process, as the config's first vantage: a killed backend is marked down by itself.
  const prober = config.health
    ? new Prober({
        config,
        vantage: config.health.vantages[0],
        s3,
        loc: { bucket: src.bucket, key: src.key, region: src.region, endpoint: src.endpoint },
        log: (line) => log.write(line),
      })
    : undefined;
  prober?.start();
  return {
    config,
    edge,
    status,
    backends,
    s3,
    putDoc,
    keysFile: keysDoc ? keysFile : undefined,
    async close() {
      await prober?.stop();
      status.close();
      await edge.close();
      telemetry.flush(); // the metrics counted since the last flush, as a container does not, but a log should
      await Promise.all(backends.map((b) => b.close()));
      s3.destroy();
      await server?.close();
      await log.close();
    },
  };
}
