// edge-router doc: the operator's safe writes to the live health document, and edge-router simulate.
// Every write: read → change → validate → refuse if it leaves a residency group or the world with no region →
// show the diff and the traffic impact → confirm → write over the ETag read (If-Match); on a conflict, re-read and
// show the new diff rather than overwrite. Then every replica (healthDoc.replicas) that is behind, never one that
// holds the same or a higher serial; `doc sync` catches up the ones that could not be written.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import diff from 'microdiff';
import {
  ConflictError,
  copyToReplicas,
  listVersions,
  MAX_CONFLICTS,
  type Replica,
  readDoc,
  readReplicas,
  replicasOf,
  type Stored,
  type StoreLocation,
  s3Client,
  serialOf,
  writeDoc,
  writeReplicas,
} from '../lib/doc-store';
import { kvsClient, planEntries, putPlan, type StoredPlan, storedPlan } from '../lib/kvs';
import { healthLines, readObservations } from '../lib/prober';
import {
  fingerprint,
  type HealthDoc,
  jsonPath,
  parseHealthDocText,
  type RegionHealth,
  type Router,
  type RouterConfig,
} from '../shared';
import { holdWords } from '../shared/health-check';
import type { KvsEntry } from '../shared/kvs-layout';
import { keysKeyOf } from '../shared/router';
import type { KeysDoc } from '../shared/schema';
import { parseTrafficCsv, simulate, type TrafficMix } from '../shared/simulate';
import { formatSimulation } from './format';
import { parseKeys } from './keys';
import { CliError, loadConfig, loadDoc, parseDuration, problemLines, readText } from './load';

interface StoreOptions {
  config: string;
  bucket?: string;
  key?: string;
  region?: string;
  endpoint?: string;
  traffic?: string;
  kvsArn?: string;
}
interface WriteOptions extends StoreOptions {
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
  /** how long the change holds (a duration: 30m, 8h, 7d); without it, until handed back */
  for?: string;
  /** who holds it (default: the login name) */
  by?: string;
  /** publish, rollback: the serial to write, higher than the live one (default: the live one + 1) */
  serial?: string;
}

/** Who an operator is: --by, else the login name. */
function operatorName(o: WriteOptions): string {
  if (o.by !== undefined) {
    if (!/^[\w.@+-]{1,64}$/.test(o.by))
      throw new CliError([`--by ${JSON.stringify(o.by)}: expected a name of 1-64 letters, digits or ._@+-`]);
    return o.by;
  }
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}

/** The hold an operator's change gets: by whom, since now, until --for from now (else until handed back). */
function newHold(o: WriteOptions, now: number): NonNullable<RegionHealth['hold']> {
  const by = operatorName(o);
  const since = new Date(now).toISOString();
  if (o.for === undefined) return { by, since };
  return { by, since, until: new Date(now + parseDuration(o.for, '--for') * 1000).toISOString() };
}

/**
 * Every region whose status, role or dial the change sets (or `touched`, which the command named) is held: the
 * health checker leaves its status alone until the operator hands it back (`doc status ID auto`) or the hold ends.
 * A published document's own holds are kept, and so is the live hold of a region the change leaves as it was.
 */
function holdChanges(
  base: HealthDoc | null,
  next: HealthDoc,
  o: WriteOptions,
  touched: readonly string[],
): string[] {
  const held: string[] = [];
  const now = Date.now();
  for (const [id, h] of Object.entries(next.regions)) {
    const b = base?.regions[id];
    const changed =
      touched.includes(id) ||
      (b?.status ?? 'up') !== h.status ||
      (b?.role ?? 'active') !== (h.role ?? 'active') ||
      (b?.dial ?? 100) !== (h.dial ?? 100);
    // a published document's own hold for a region it changes is kept
    const own = h.hold !== undefined && JSON.stringify(h.hold) !== JSON.stringify(b?.hold);
    // a region the change leaves as it was keeps its live hold: only `auto` (or the hold's end) hands it back, not a
    // published file that does not repeat it
    if (!changed && h.hold === undefined && b?.hold !== undefined) {
      h.hold = b.hold;
      if (b.pinned !== undefined) h.pinned = b.pinned;
    }
    if (!changed || (own && !touched.includes(id))) continue;
    h.hold = newHold(o, now);
    delete h.pinned;
    held.push(id);
  }
  return held;
}

/** The built-in traffic mix (data/traffic-mix.csv), found from the source tree or the bundle in dist/. */
function builtInMixFile(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const f = join(dir, 'data', 'traffic-mix.csv');
    if (existsSync(f)) return f;
  }
  throw new CliError(['data/traffic-mix.csv not found: give --traffic FILE']);
}

export function loadMix(file?: string): TrafficMix {
  const f = file ?? builtInMixFile();
  const text = readText(f);
  const { mix, errors } = parseTrafficCsv(text);
  if (errors.length) throw new CliError(errors.map((p) => `${f}: ${p.path}: ${p.message}`));
  if (mix.size === 0) throw new CliError([`${f}: no countries`]);
  return mix;
}

/** The KeyValueStore the CloudFront Functions runtime reads (--kvs-arn, else healthDoc.kvsArn), if any. */
export function kvsArnOf(o: { kvsArn?: string }, config: RouterConfig): string | undefined {
  return o.kvsArn ?? config.healthDoc?.kvsArn;
}

/** The plan's entries, or a CliError naming the document when it cannot be stored (before anything is written). */
export function planOf(router: Router, doc: HealthDoc, where: string): KvsEntry[] {
  try {
    return planEntries(router, doc);
  } catch (e) {
    throw new CliError([`${where}: ${e instanceof Error ? e.message : String(e)}: nothing written`], {
      cause: e,
    });
  }
}

/**
 * After the S3 write: the document's plan (planOf, made before the write) into the KeyValueStore, so that the two
 * never disagree for long. A failure here leaves S3 ahead; the message says how to catch up.
 */
export async function syncKvs(
  arn: string,
  entries: readonly KvsEntry[],
  doc: HealthDoc,
  walks: number,
): Promise<void> {
  const client = kvsClient();
  try {
    await putPlan(client, arn, entries);
    console.log(`KeyValueStore ${arn}: plan of serial ${doc.serial} (${walks} walks)`);
  } catch (e) {
    throw new CliError(
      [
        `KeyValueStore ${arn}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
        `S3 has serial ${doc.serial} but the KeyValueStore was not updated: run \`edge-router kvs sync\``,
      ],
      { cause: e },
    );
  } finally {
    client.destroy();
  }
}

/** What the store's plan is, beside S3's serial: in step, behind, mid-write, or planned for another config. */
export function planState(stored: StoredPlan, liveSerial: number, router: Router): string {
  const fp = fingerprint(router);
  const serials = stored.serials.join(', ');
  if (stored.walks === 0)
    return `no plan${stored.legacy ? " (only an older version's document)" : ''}: run \`edge-router kvs sync\``;
  const of = `plan of serial${stored.serials.length > 1 ? 's' : ''} ${serials} in ${stored.walks} walks`;
  if (stored.fingerprints.length !== 1 || stored.fingerprints[0] !== fp)
    return `${of}, planned for config ${stored.fingerprints.join(', ')}; this config is ${fp}: run \`edge-router kvs sync\` with it`;
  if (stored.walks !== router.orders.length)
    return `${of}; this config has ${router.orders.length}: run \`edge-router kvs sync\``;
  if (stored.serials.length === 1 && stored.serials[0] === liveSerial) return `${of} (in step with S3)`;
  return `${of}, S3 has serial ${liveSerial} (not in step: run \`edge-router kvs sync\`)`;
}

function location(o: StoreOptions, config: RouterConfig): StoreLocation {
  const src = config.healthDoc;
  const bucket = o.bucket ?? src?.bucket;
  const key = o.key ?? src?.key;
  if (!bucket || !key) throw new CliError([`no --bucket/--key, and ${o.config} has no healthDoc`]);
  return {
    bucket,
    key,
    region: o.region ?? src?.region ?? 'us-east-1',
    endpoint: o.endpoint ?? src?.endpoint,
  };
}

/**
 * The replicas a write to `loc` goes on to: the config's, when `loc` is the config's document. A --bucket or --key
 * that names another document has no replicas (the config's are copies of its own document, not of that one).
 */
function replicasFor(o: StoreOptions, config: RouterConfig, loc: StoreLocation): Replica[] {
  const src = config.healthDoc;
  const replicas = replicasOf(src, loc.key);
  if (replicas.length === 0 || (loc.bucket === src?.bucket && loc.key === src?.key)) return replicas;
  console.log(
    `note: s3://${loc.bucket}/${loc.key} is not healthDoc's document in ${o.config}: its ${replicas.length} replica(s) are left alone`,
  );
  return [];
}

const copyName = (r: Replica) => `replica ${r.region} s3://${r.loc.bucket}/${r.loc.key}`;

/** An S3 error as describeS3Error says it, without the object it names (the caller names it); then the next steps. */
function s3Why(r: Replica, e: unknown, configFile: string): { why: string; next: string[] } {
  const [first, ...next] = describeS3Error(r.loc, e, configFile).lines;
  const name = e instanceof Error ? e.name : '';
  return {
    why: first.replace(/^s3:\/\/\S+: /, ''),
    next:
      name === 'NoSuchBucket'
        ? [`no bucket ${r.loc.bucket}: it is ${r.path}.bucket of ${configFile}`]
        : next.filter((l) => !l.startsWith('doc history')),
  };
}

/** A replica that could not be written, named with its region, bucket and place in the config, then the next steps. */
function replicaError(r: Replica, e: unknown, configFile: string): string {
  if (e instanceof ConflictError)
    return `${copyName(r)} (${r.path}): not written: it kept changing (${MAX_CONFLICTS} conflicts)`;
  const { why, next } = s3Why(r, e, configFile);
  return [`${copyName(r)} (${r.path}): not written: ${why}`, ...next.map((l) => `  ${l}`)].join('\n');
}

/**
 * doc get: each replica's serial beside the primary's, and how far behind it is (serials, and how much older its
 * updatedAt is); a replica behind, missing, unreadable, ahead or with other content is a warning with the next step.
 */
async function replicaLines(
  replicas: readonly Replica[],
  primary: Stored,
  live: HealthDoc,
  config: RouterConfig,
  configFile: string,
): Promise<string[]> {
  const sync = 'run `edge-router doc sync`';
  return (await readReplicas(replicas)).map(({ replica, stored, error }) => {
    const name = copyName(replica);
    if (error !== undefined) return `warning: ${name}: unreadable: ${s3Why(replica, error, configFile).why}`;
    if (!stored) return `warning: ${name}: missing: ${sync}`;
    const serial = serialOf(stored.text);
    if (serial !== undefined && serial > live.serial)
      return `warning: ${name}: serial ${serial}, ahead of the primary by ${serial - live.serial}: the edges that read it do not see the primary's document, and doc sync leaves it: publish above it (edge-router doc publish FILE --serial ${serial + 1})`;
    const parsed = parseHealthDocText(stored.text, config);
    if (!parsed.success) {
      const [p] = parsed.errors;
      return `warning: ${name}: unreadable: not a valid document (${p.path}: ${p.message}): ${sync}`;
    }
    const d = parsed.data;
    if (d.serial === live.serial)
      return stored.text === primary.text
        ? `${name}: serial ${d.serial}, in step`
        : `warning: ${name}: serial ${d.serial} with other content than the primary's: write a new serial (edge-router doc publish FILE)`;
    const older = Math.round((Date.parse(live.updatedAt) - Date.parse(d.updatedAt)) / 1000);
    const n = live.serial - d.serial;
    return `warning: ${name}: serial ${d.serial}, behind by ${n} serial${n === 1 ? '' : 's'} (updated ${d.updatedAt}, ${older} s before the primary): ${sync}`;
  });
}

/** doc sync: the primary's signing keys to every replica whose keys differ (they have no serial). */
async function syncKeys(
  client: S3Client,
  loc: StoreLocation,
  keysKey: string,
  replicas: readonly Replica[],
  configFile: string,
): Promise<string[]> {
  const where = `s3://${loc.bucket}/${keysKey}`;
  const stored = await readDoc(client, { ...loc, key: keysKey });
  if (!stored) {
    console.log(`keys ${where}: none at the primary: nothing to copy`);
    return [];
  }
  parseKeys(stored.text, where); // a keys object the edges would refuse is not spread
  const targets = replicas.map((r) => ({ ...r, loc: { ...r.loc, key: keysKey } }));
  const problems: string[] = [];
  for (const r of await copyToReplicas(targets, stored.text, (current) => current.text === stored.text)) {
    if (r.outcome === 'failed') problems.push(replicaError(r.replica, r.error, configFile));
    else
      console.log(
        `${copyName(r.replica)}: ${r.outcome === 'kept' ? 'the same keys already' : 'keys copied'}`,
      );
  }
  return problems;
}

/**
 * Writes a document the primary now holds (serial `serial`, exactly `text`) to every replica that is behind, prints a
 * line per replica in step, and returns the others' (each a problem, possibly of several lines): a replica not
 * written, one with other content under the same serial, and one ahead of the primary (the primary re-read once, so
 * that a writer who has written a higher serial everywhere since is no problem).
 */
async function fanOut(
  replicas: readonly Replica[],
  text: string,
  serial: number,
  primary: { client: S3Client; loc: StoreLocation },
  configFile: string,
): Promise<string[]> {
  if (replicas.length === 0) return [];
  const results = await writeReplicas(replicas, text, serial);
  let primarySerial: number | undefined;
  const problems: string[] = [];
  for (const r of results) {
    const name = copyName(r.replica);
    if (r.outcome === 'failed') {
      problems.push(replicaError(r.replica, r.error, configFile));
      continue;
    }
    if (r.outcome === 'written') {
      const was = r.before ? serialOf(r.before.text) : undefined;
      console.log(
        `${name}: serial ${serial} (was ${r.before ? (was === undefined ? 'not a document' : `serial ${was}`) : 'missing'})`,
      );
      continue;
    }
    const held = serialOf(r.current.text) ?? -1; // kept: it has one, as high as `serial` or higher
    if (held === serial) {
      if (r.current.text === text) console.log(`${name}: serial ${serial} already`);
      else {
        problems.push(
          `${name}: holds serial ${serial} with other content than the primary's: left alone (a replica never takes a serial it holds); write a new serial (edge-router doc publish FILE)`,
        );
      }
      continue;
    }
    primarySerial ??=
      serialOf((await readDoc(primary.client, primary.loc).catch(() => null))?.text ?? '') ?? 0;
    if (held <= primarySerial) {
      console.log(`${name}: holds serial ${held}, newer than ${serial} (another writer's): left alone`);
      continue;
    }
    problems.push(
      `${name}: holds serial ${held}, ahead of the primary (serial ${primarySerial}): left alone; the edges that read it do not see the primary's document: publish above it (edge-router doc publish FILE --serial ${held + 1})`,
    );
  }
  return problems;
}

/** The problems of a fan-out as an error: the primary is written, and what to run next. */
function replicaTrouble(problems: readonly string[], done: string): CliError {
  return new CliError([
    ...problems.flatMap((p) => p.split('\n')),
    `${done}, but ${problems.length} replica(s) are not in step with it: the edges that read them still see another document: run \`edge-router doc sync\` when they can be written`,
  ]);
}

/**
 * What the edge reads, read the way the edge reads it: the live document from S3 (healthDoc), and the signing keys
 * next to it (override.keysKey), for explain --live. No document: null (the edge routes with every region up).
 */
export async function readLive(
  config: RouterConfig,
  o: { config: string; endpoint?: string },
): Promise<{ doc: HealthDoc | null; keys?: KeysDoc; where: string }> {
  const loc = location({ config: o.config, endpoint: o.endpoint }, config);
  const client = s3Client(loc);
  try {
    const stored = await readDoc(client, loc);
    const doc = stored ? parseLive(loc, stored, config) : null;
    const keysKey = keysKeyOf(config);
    let keys: KeysDoc | undefined;
    if (keysKey) {
      const k = await readDoc(client, { ...loc, key: keysKey });
      if (k) keys = parseKeys(k.text, `s3://${loc.bucket}/${keysKey}`);
    }
    return {
      doc,
      keys,
      where: `s3://${loc.bucket}/${loc.key}`,
    };
  } catch (e) {
    throw describeS3Error(loc, e, o.config);
  } finally {
    client.destroy();
  }
}

/**
 * An AWS error as an operator can act on it: what failed, then the next step. Missing credentials name the
 * variables (and, for the local stack, the export line); a missing bucket names the config that named it; a refused
 * connection names the endpoint and asks whether the local stack is running.
 */
export function describeS3Error(loc: StoreLocation, e: unknown, configFile?: string): CliError {
  if (e instanceof CliError) return e;
  const name = e instanceof Error ? e.name : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string } | undefined)?.code;
  const where = `s3://${loc.bucket}/${loc.key}`;
  const local =
    loc.endpoint !== undefined && /^https?:\/\/(localhost|127\.0\.0\.1)(:|\/|$)/.test(loc.endpoint);
  const at = loc.endpoint ?? `S3 in ${loc.region}`;
  const refused = code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message);
  const timedOut = name === 'TimeoutError' || /timed? ?out|ETIMEDOUT/i.test(message);
  const noCredentials = name === 'CredentialsProviderError' || /could not load credentials/i.test(message);
  // the first line says what failed in words (S3's own error codes kept: they are what its documentation names)
  const what = noCredentials
    ? 'could not load AWS credentials'
    : refused
      ? `connection refused by ${at}`
      : timedOut
        ? `no answer from ${at} in time`
        : name === 'Error'
          ? message
          : `${name}: ${message}`;
  const lines = [`${where}: ${what}`];
  if (noCredentials) {
    lines.push(
      'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE',
    );
    if (local)
      lines.push(
        `for the local stack at ${loc.endpoint}: export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER`,
      );
  } else if (name === 'NoSuchBucket') {
    lines.push(
      `no bucket ${loc.bucket} at ${loc.endpoint ?? `S3 in ${loc.region}`}: it is healthDoc.bucket of ${configFile ?? 'the config'} (or --bucket)${local ? '' : '; for the local stack (npm start), give --config examples/local.config.json'}`,
    );
  } else if (refused) {
    lines.push(`nothing answers at ${at}${local ? ': is the local stack running (npm start)?' : ''}`);
  } else if (timedOut) {
    lines.push(
      `no answer from ${at} in time${local ? ': is the local stack (npm start) running, and is that port its S3?' : ''}`,
    );
  } else if (name === 'NotImplemented' || name === 'MethodNotAllowed') {
    lines.push(
      'doc history and doc rollback need S3 object versions (a versioned bucket): this store does not list them',
    );
  }
  return new CliError(lines, { cause: e });
}

function emptyDoc(): HealthDoc {
  return { version: 1, serial: 0, updatedAt: new Date(0).toISOString(), regions: {} };
}

function parseLive(loc: StoreLocation, stored: Stored, config: RouterConfig): HealthDoc {
  const parsed = parseHealthDocText(stored.text, config);
  if (!parsed.success) {
    throw new CliError([
      ...problemLines(`s3://${loc.bucket}/${loc.key}`, parsed.errors),
      'the live document is not valid: fix it with `edge-router doc publish FILE` or `doc rollback`',
    ]);
  }
  return parsed.data;
}

/** Residency groups, or the whole world, left with no region that can serve (up, and not a pilot light). */
export function servingProblems(router: Router, doc: HealthDoc | null): string[] {
  const serves = (id: string) => {
    const h = doc?.regions[id];
    return h?.status !== 'down' && h?.role !== 'pilot';
  };
  const problems: string[] = [];
  for (const g of router.config.residency ?? []) {
    if (!g.regions.some(serves)) {
      problems.push(
        `residency group "${g.name}" (${g.countries.join(' ')}) would have no region serving: ${g.regions.join(', ')}`,
      );
    }
  }
  if (!router.regions.some((id) => serves(id))) problems.push('no region in the world would be serving');
  return problems;
}

export function diffLines(before: unknown, after: unknown): string[] {
  return diff(before as Record<string, unknown>, after as Record<string, unknown>).map((d) => {
    const path = jsonPath(d.path);
    if (d.type === 'CREATE') return `+ ${path}: ${JSON.stringify(d.value)}`;
    if (d.type === 'REMOVE') return `- ${path}: ${JSON.stringify(d.oldValue)}`;
    return `~ ${path}: ${JSON.stringify(d.oldValue)} → ${JSON.stringify(d.value)}`;
  });
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new CliError(['no terminal to confirm the write: pass --yes (or --dry-run to only look)']);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Reads, changes, checks, shows and writes; the change is applied again to a fresher document on a conflict. */
export async function writeChange(
  o: WriteOptions,
  what: string,
  change: (doc: HealthDoc, router: Router) => HealthDoc,
  /** publish and rollback may replace a live document that is not valid */
  replacesInvalid = false,
  /** regions the command names: held even when their values do not change; null: nothing is held (auto) */
  touched: readonly string[] | null = [],
): Promise<void> {
  const { router, data: config } = loadConfig(o.config);
  const loc = location(o, config);
  const replicas = replicasFor(o, config, loc);
  const mix = loadMix(o.traffic);
  const client = s3Client(loc);
  const where = `s3://${loc.bucket}/${loc.key}`;
  try {
    for (let attempt = 1; attempt <= MAX_CONFLICTS; attempt++) {
      const stored = await readDoc(client, loc);
      let base: HealthDoc | null = null;
      let lastSerial = 0;
      if (stored) {
        try {
          base = parseLive(loc, stored, config);
          lastSerial = base.serial;
        } catch (e) {
          if (!replacesInvalid || !(e instanceof CliError)) throw e;
          for (const l of e.lines.slice(0, -1)) console.log(`warning: ${l}`);
          console.log('warning: replacing a live document that is not valid');
          const serial = (JSON.parse(stored.text) as { serial?: unknown } | null)?.serial;
          lastSerial = typeof serial === 'number' && Number.isInteger(serial) && serial >= 0 ? serial : 0;
        }
      }
      const next = change(structuredClone(base ?? emptyDoc()), router);
      const held = touched === null ? [] : holdChanges(base, next, o, touched);
      next.serial = nextSerial(o, lastSerial);
      next.updatedAt = new Date().toISOString();
      const checked = parseHealthDocText(JSON.stringify(next), config);
      if (!checked.success)
        throw new CliError(problemLines(`${what} (the changed document)`, checked.errors));
      const before = servingProblems(router, base);
      const added = servingProblems(router, next).filter((p) => !before.includes(p));
      if (added.length && !o.force) {
        throw new CliError([
          ...added.map((p) => `refused: ${p}`),
          'nothing written (pass --force to write it anyway)',
        ]);
      }
      // a plan the KeyValueStore cannot hold is refused before S3 is written: the two stay in step
      const arn = kvsArnOf(o, config);
      const entries = arn ? planOf(router, next, `${what} (the changed document)`) : [];
      const changes = diffLines(base ?? emptyDoc(), next).filter((l) => !/\$\.(serial|updatedAt)/.test(l));
      console.log(`${where}: ${what}`);
      console.log(
        stored
          ? `live: serial ${base?.serial}, ETag ${stored.etag}`
          : 'live: no document yet (every region up)',
      );
      for (const l of changes.length ? changes : ['(no change to regions or canary)']) console.log(`  ${l}`);
      console.log('');
      console.log(formatSimulation(simulate(router, base, next, mix, Date.now()), { brief: true }));
      for (const p of added) console.log(`warning (--force): ${p}`);
      if (o.dryRun) {
        console.log('dry run: nothing written');
        return;
      }
      if (!o.yes && !(await confirm(`write serial ${next.serial} to ${where}? [y/N] `))) {
        throw new CliError(['not confirmed: nothing written']);
      }
      const text = `${JSON.stringify(next, null, 2)}\n`;
      let etag: string;
      try {
        etag = await writeDoc(client, loc, text, stored?.etag ?? null);
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        console.log(
          `conflict: the live document changed since it was read; re-reading (attempt ${attempt + 1})`,
        );
        continue;
      }
      console.log(`wrote serial ${next.serial} to ${where} (ETag ${etag})`);
      for (const id of held)
        console.log(`${id}: ${holdWords(next.regions[id].hold as NonNullable<RegionHealth['hold']>)}`);
      // the primary counts as written from here: a replica or the KeyValueStore that fails is said, with the next step
      const problems = await fanOut(replicas, text, next.serial, { client, loc }, o.config);
      const done = `serial ${next.serial} is written to ${where}`;
      if (arn) {
        try {
          await syncKvs(arn, entries, next, router.orders.length);
        } catch (e) {
          if (e instanceof CliError && problems.length)
            throw new CliError([...e.lines, ...replicaTrouble(problems, done).lines], { cause: e });
          throw e;
        }
      }
      if (problems.length) throw replicaTrouble(problems, done);
      return;
    }
    throw new CliError([
      `${where}: the live document kept changing (${MAX_CONFLICTS} conflicts): nothing written`,
    ]);
  } catch (e) {
    throw describeS3Error(loc, e, o.config);
  } finally {
    client.destroy();
  }
}

function regionOf(router: Router, id: string): string {
  if (!router.regions.includes(id) && !router.environments.includes(id)) {
    throw new CliError([`${id}: not a region or environment of the router config`]);
  }
  return id;
}

function entry(doc: HealthDoc, id: string) {
  doc.regions[id] ??= { status: 'up' };
  return doc.regions[id];
}

function storeOptions(c: Command): Command {
  return c
    .option(
      '--config <file>',
      'router config: the regions, and where the document lives',
      'router.config.json',
    )
    .option('--bucket <name>', 'S3 bucket (default: healthDoc.bucket of the config)')
    .option('--key <key>', 'object key (default: healthDoc.key)')
    .option('--region <region>', 'bucket region (default: healthDoc.region)')
    .option('--endpoint <url>', 'an S3-compatible endpoint (default: healthDoc.endpoint)')
    .option('--kvs-arn <arn>', 'also keep this CloudFront KeyValueStore in step (default: healthDoc.kvsArn)')
    .option(
      '--traffic <csv>',
      'traffic mix for the impact, lines "country,weight" (default: data/traffic-mix.csv)',
    );
}

/**
 * The serial a write gives the document: the live one + 1, or --serial, which must be higher. Never lower or equal:
 * the edges refuse a document that goes backwards.
 */
function nextSerial(o: WriteOptions, live: number): number {
  if (o.serial === undefined) return live + 1;
  const n = /^\d{1,15}$/.test(o.serial) ? Number(o.serial) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new CliError([`--serial ${JSON.stringify(o.serial)}: expected a whole number`]);
  if (n <= live)
    throw new CliError([`--serial ${n} is not higher than the live serial ${live}: nothing written`]);
  return n;
}

const SERIAL_OPTION = [
  '--serial <n>',
  'write this serial, higher than the live one (to go past the serial the edges hold, after an old document was restored)',
] as const;

function writeCommand(parent: Command, spec: string, description: string): Command {
  return storeOptions(parent.command(spec).description(description))
    .option('--dry-run', 'show the diff and the impact, write nothing')
    .option('--yes', 'do not ask before writing (for scripts)')
    .option('--force', 'write even if a residency group or the world is left with no region')
    .option(
      '--for <duration>',
      'hold the change this long (30m, 8h, 7d), then hand it back to the health checker',
    )
    .option('--by <name>', 'who holds the change (default: your login name)');
}

const PERCENT = /^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$/;

function percentArg(v: string, what: string): number {
  if (!PERCENT.test(v)) throw new CliError([`${what} ${JSON.stringify(v)}: expected 0-100 in steps of 0.01`]);
  return Number(v);
}

export function addDocCommands(cli: Command): void {
  const doc = cli.command('doc').description('read and change the live health document in S3, safely');

  storeOptions(
    doc
      .command('get')
      .description("print the live document, its serial, ETag and age, and each replica's serial and lag"),
  ).action(async (o: StoreOptions) => {
    const { router, data: config } = loadConfig(o.config);
    const loc = location(o, config);
    const client = s3Client(loc);
    try {
      const stored = await readDoc(client, loc);
      if (!stored)
        throw new CliError([
          `s3://${loc.bucket}/${loc.key}: no document (the edge routes with every region up)`,
        ]);
      const live = parseLive(loc, stored, config);
      const age = stored.lastModified
        ? Math.round((Date.now() - stored.lastModified.getTime()) / 1000)
        : undefined;
      console.error(
        `serial ${live.serial}, ETag ${stored.etag}, updated ${live.updatedAt}${age === undefined ? '' : `, written ${age} s ago`}`,
      );
      const replicas = replicasFor(o, config, loc);
      for (const line of await replicaLines(replicas, stored, live, config, o.config)) console.error(line);
      const arn = kvsArnOf(o, config);
      if (arn) {
        const kvs = kvsClient();
        try {
          console.error(
            `KeyValueStore ${arn}: ${planState(await storedPlan(kvs, arn), live.serial, router)}`,
          );
        } catch (e) {
          console.error(`KeyValueStore ${arn}: cannot read: ${e instanceof Error ? e.message : e}`);
        } finally {
          kvs.destroy();
        }
      }
      // the operator's view of the health checker: who set each status, and what the vantages see
      const observations = config.health ? await readObservations(client, loc).catch(() => []) : [];
      for (const line of healthLines(live, config, observations)) console.error(line);
      console.log(JSON.stringify(live, null, 2));
    } catch (e) {
      throw describeS3Error(loc, e, o.config);
    } finally {
      client.destroy();
    }
  });

  writeCommand(
    doc,
    'status <id> <status>',
    'mark a region (or environment) up or down, held until handed back with `auto`; --canary: its canary',
  )
    .option('--canary', 'set the canaryStatus instead')
    .option('--pin', 'hold with no end (what a change does anyway; kept for scripts)')
    .action(async (id: string, status: string, o: WriteOptions & { canary?: boolean; pin?: boolean }) => {
      if (status !== 'up' && status !== 'down' && status !== 'auto')
        throw new CliError([`status ${JSON.stringify(status)}: expected up, down or auto`]);
      if (o.pin && o.for !== undefined) throw new CliError(['--pin and --for: one or the other']);
      if (o.canary && status === 'auto') throw new CliError(['--canary: expected up or down']);
      if (status === 'auto') {
        // hand the status back: the health checker sets it from its probes from its next round
        await writeChange(
          o,
          `status ${id} auto`,
          (d, router) => {
            const e = entry(d, regionOf(router, id));
            if (!e.hold && !e.pinned)
              throw new CliError([`${id}: not held: the health checker already sets it`]);
            delete e.hold;
            delete e.pinned;
            return d;
          },
          false,
          null,
        );
        console.log(`${id}: handed back to the health checker (it sets the status from its probes)`);
        return;
      }
      await writeChange(
        o,
        `${o.canary ? 'canaryStatus' : 'status'} ${id} ${status}`,
        (d, router) => {
          const e = entry(d, regionOf(router, id));
          if (o.canary) {
            e.canaryStatus = status;
            return d;
          }
          if (e.status !== status) e.changedAt = new Date().toISOString();
          e.status = status;
          e.setBy = 'operator';
          return d;
        },
        false,
        o.canary ? [] : [id],
      );
    });

  writeCommand(
    doc,
    'dial <id> <percent>',
    'set the share of its natural traffic a region accepts (0-100)',
  ).action(async (id: string, pct: string, o: WriteOptions) => {
    const dial = percentArg(pct, 'dial');
    await writeChange(
      o,
      `dial ${id} ${dial}`,
      (d, router) => {
        const e = entry(d, regionOf(router, id));
        if (dial === 100) delete e.dial;
        else e.dial = dial;
        return d;
      },
      false,
      [id],
    );
  });

  writeCommand(
    doc,
    'role <id> <role>',
    'promote or demote a region: active, standby (warm) or pilot (pilot light)',
  ).action(async (id: string, role: string, o: WriteOptions) => {
    if (role !== 'active' && role !== 'standby' && role !== 'pilot') {
      throw new CliError([`role ${JSON.stringify(role)}: expected active, standby or pilot`]);
    }
    await writeChange(
      o,
      `role ${id} ${role}`,
      (d, router) => {
        const e = entry(d, regionOf(router, id));
        if (role === 'active') delete e.role;
        else e.role = role;
        return d;
      },
      false,
      [id],
    );
  });

  writeCommand(
    doc,
    'canary <percent>',
    'set the canary: percent, and optionally regions, seed and a ramp schedule',
  )
    .option('--regions <ids>', 'comma-separated regions (default: every region with a canaryOrigin)')
    .option('--seed <seed>', 'a new seed reshuffles who is in the canary')
    .option(
      '--schedule <steps>',
      'a ramp: comma-separated ISO-time=percent, e.g. 2026-12-01T09:00Z=5,2026-12-01T12:00Z=25',
    )
    .action(async (pct: string, o: WriteOptions & { regions?: string; seed?: string; schedule?: string }) => {
      const percent = percentArg(pct, 'percent');
      const schedule = o.schedule?.split(',').map((step) => {
        const i = step.lastIndexOf('=');
        const at = step.slice(0, i).trim();
        if (i < 1 || Number.isNaN(Date.parse(at))) {
          throw new CliError([`--schedule step ${JSON.stringify(step)}: expected ISO-time=percent`]);
        }
        return {
          at: new Date(at).toISOString(),
          percent: percentArg(step.slice(i + 1).trim(), '--schedule percent'),
        };
      });
      await writeChange(o, `canary ${percent}%`, (d, router) => {
        const regions = o.regions?.split(',').map((id) => {
          regionOf(router, id.trim());
          if (!router.config.regions[id.trim()]?.canaryOrigin)
            throw new CliError([`${id}: has no canaryOrigin in the config`]);
          return id.trim();
        });
        // a canary that can send no one is refused: no region in scope has a canary deployment
        const scope = regions ?? d.canary?.regions ?? router.regions;
        if (percent > 0 && !scope.some((id) => router.config.regions[id]?.canaryOrigin) && !o.force)
          throw new CliError([
            `no region in the canary has a canaryOrigin in the config (${scope.join(', ')}): ${percent}% would send no one`,
            'nothing written (pass --force to write it anyway)',
          ]);
        d.canary = {
          percent,
          ...(regions ? { regions } : d.canary?.regions ? { regions: d.canary.regions } : {}),
          ...(o.seed !== undefined
            ? { seed: o.seed }
            : d.canary?.seed !== undefined
              ? { seed: d.canary.seed }
              : {}),
          ...(schedule ? { schedule } : {}),
        };
        return d;
      });
    });

  writeCommand(
    doc,
    'publish <file>',
    'replace the live document with a file (serial and updatedAt are set for you)',
  )
    .option(...SERIAL_OPTION)
    .action(async (file: string, o: WriteOptions) => {
      const { data: config, warnings } = loadConfig(o.config);
      const loaded = loadDoc(file, config);
      // what validate warns about (an unknown region, say), before anything is written
      for (const w of [...warnings, ...loaded.warnings])
        console.error(`warning: ${w.replace(/^.*?: warning: /, `${file}: `)}`);
      const next = loaded.data;
      await writeChange(
        o,
        `publish ${file}`,
        (live) => {
          // a file made from an older document (doc get, then edited) would undo what was written since
          if (next.serial < live.serial && !o.force)
            throw new CliError([
              `${file} has serial ${next.serial}, older than the live serial ${live.serial}: the document changed since the file was made`,
              'nothing written: start again from `edge-router doc get`, or pass --force to publish it anyway (as a new serial)',
            ]);
          return structuredClone(next);
        },
        true,
      );
    });

  storeOptions(
    doc
      .command('sync')
      .description(
        "copy the primary's document to every replica that is behind (never to one as new or newer), and its signing keys where they differ",
      ),
  ).action(async (o: StoreOptions) => {
    const { data: config } = loadConfig(o.config);
    const loc = location(o, config);
    const replicas = replicasFor(o, config, loc);
    if (replicas.length === 0) {
      console.log(`${o.config}: no replicas (healthDoc.replicas): nothing to sync`);
      return;
    }
    const client = s3Client(loc);
    const where = `s3://${loc.bucket}/${loc.key}`;
    try {
      const stored = await readDoc(client, loc);
      if (!stored) throw new CliError([`${where}: no document at the primary: nothing to copy`]);
      const live = parseLive(loc, stored, config);
      console.log(`${where}: serial ${live.serial}, to ${replicas.length} replica(s)`);
      const problems = await fanOut(replicas, stored.text, live.serial, { client, loc }, o.config);
      const keysKey = keysKeyOf(config);
      if (keysKey) problems.push(...(await syncKeys(client, loc, keysKey, replicas, o.config)));
      if (problems.length)
        throw new CliError([
          ...problems.flatMap((p) => p.split('\n')),
          'not every replica is in step with the primary (see above): run `edge-router doc sync` again once they can be written',
        ]);
    } catch (e) {
      throw describeS3Error(loc, e, o.config);
    } finally {
      client.destroy();
    }
  });

  storeOptions(
    doc.command('history').description('the versions of the live document (a versioned bucket)'),
  ).action(async (o: StoreOptions) => {
    const { data: config } = loadConfig(o.config);
    const loc = location(o, config);
    const client = s3Client(loc);
    try {
      const versions = await listVersions(client, loc);
      for (const v of versions) {
        const stored = await readDoc(client, loc, v.versionId);
        const parsed = stored ? parseHealthDocText(stored.text, config) : undefined;
        const serial = parsed?.success ? `serial ${parsed.data.serial}` : 'invalid';
        console.log(
          `${v.versionId}  ${v.lastModified?.toISOString() ?? '?'}  ${serial}${v.isLatest ? '  (live)' : ''}`,
        );
      }
      if (versions.length === 0) console.log('no versions (is the bucket versioned?)');
    } catch (e) {
      throw describeS3Error(loc, e, o.config);
    } finally {
      client.destroy();
    }
  });

  writeCommand(
    doc,
    'rollback',
    'publish an earlier version again, as a new serial (default: the one before the live one)',
  )
    .option('--to <versionId>', 'the version to go back to (see doc history)')
    .option(...SERIAL_OPTION)
    .action(async (o: WriteOptions & { to?: string }) => {
      const { data: config } = loadConfig(o.config);
      const loc = location(o, config);
      const client = s3Client(loc);
      let previous: HealthDoc;
      let version: string;
      try {
        const versions = await listVersions(client, loc);
        const live = versions.findIndex((v) => v.isLatest);
        const target = o.to ? versions.find((v) => v.versionId === o.to) : versions[live + 1];
        if (!target)
          throw new CliError([
            o.to
              ? `no version ${o.to} of s3://${loc.bucket}/${loc.key}`
              : 'no earlier version to roll back to',
          ]);
        version = target.versionId;
        const stored = await readDoc(client, loc, version);
        if (!stored) throw new CliError([`version ${version} is gone`]);
        previous = parseLive(loc, stored, config);
      } catch (e) {
        throw describeS3Error(loc, e, o.config);
      } finally {
        client.destroy();
      }
      await writeChange(
        o,
        `rollback to version ${version} (serial ${previous.serial})`,
        () => structuredClone(previous),
        true,
      );
    });

  cli
    .command('simulate')
    .description('the traffic impact of a change: share per target before and after, and what moves where')
    .requiredOption('--config <file>', 'router config')
    .requiredOption('--from <file>', 'the health document now')
    .requiredOption('--to <file>', 'the health document after the change')
    .option(
      '--traffic <csv>',
      'traffic mix, lines "country,weight" (default: data/traffic-mix.csv, population)',
    )
    .option('--at <iso>', 'time for canary schedules (default: now)')
    .option('--all', 'every country that moves (default: the 10 that move the most traffic)')
    .option('--json', 'print the report as JSON')
    .action(
      (o: {
        config: string;
        from: string;
        to: string;
        traffic?: string;
        at?: string;
        all?: boolean;
        json?: boolean;
      }) => {
        const { router, data: config } = loadConfig(o.config);
        const from = loadDoc(o.from, config).data;
        const to = loadDoc(o.to, config).data;
        const at = o.at === undefined ? Date.now() : Date.parse(o.at);
        if (Number.isNaN(at)) throw new CliError([`--at ${JSON.stringify(o.at)}: not an ISO 8601 time`]);
        const report = simulate(router, from, to, loadMix(o.traffic), at);
        console.log(o.json ? JSON.stringify(report, null, 2) : formatSimulation(report, { brief: !o.all }));
      },
    );
}
