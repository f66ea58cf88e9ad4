// The health checker at one vantage: every interval it probes every region and environment (HTTP GET of the probe
// path, with the Host header the edge would send), writes its observations next to the health document
// (observations/<vantage>.json), reads every vantage's, and, when a majority agrees (shared/health-check.ts), writes
// the document through the same safe path as the CLI: validated, over the ETag it read (If-Match), serial + 1; on a
// conflict it re-reads and decides again. Only `status` (with setBy and changedAt) of unpinned targets changes.
// After a write, every replica (healthDoc.replicas) that is behind gets the same document; one that cannot be
// written is logged (replica-failed) for `edge-router doc sync`.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { posix } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type HealthDoc, parseHealthDocText, type RouterConfig } from '../shared';
import {
  decideHealth,
  type HealthDecision,
  holdOf,
  holdWords,
  type ProbeResult,
  type VantageObservations,
  votesOf,
} from '../shared/health-check';

import {
  ConflictError,
  MAX_CONFLICTS,
  type Replica,
  readDoc,
  replicasOf,
  type StoreLocation,
  serialOf,
  writeDoc,
  writeReplicas,
} from './doc-store';

/** Results kept per target (enough for any rise or fall). */
const KEEP = 10;

export interface ProbeAnswer {
  readonly status?: number;
  readonly error?: string;
}

/** GETs `url` with a Host header, within `timeoutMs`; never throws. */
export function httpProbe(url: string, host: string, timeoutMs: number): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(u, {
      method: 'GET',
      headers: { host, 'user-agent': 'edge-router-prober' },
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

export interface ProberOptions {
  readonly config: RouterConfig;
  readonly vantage: string;
  readonly s3: S3Client;
  readonly loc: StoreLocation;
  readonly probe?: typeof httpProbe;
  readonly now?: () => number;
  /** one JSON line per flip, suppressed flip and failure */
  readonly log?: (line: string) => void;
  /** the copies written after the document (default: the config's healthDoc.replicas, under loc.key) */
  readonly replicas?: readonly Replica[];
  /** after a document write (the KeyValueStore sync, for instance) */
  readonly written?: (doc: HealthDoc) => Promise<void>;
}

/** Where the vantages' observations live: next to the document. */
export function observationsPrefix(key: string): string {
  const dir = posix.dirname(key);
  return dir === '.' ? 'observations/' : `${dir}/observations/`;
}

/** Every vantage's observations, from next to the document; an unreadable one is reported and skipped. */
export async function readObservations(
  s3: S3Client,
  loc: StoreLocation,
  unreadable?: (key: string, error: string) => void,
): Promise<VantageObservations[]> {
  const prefix = observationsPrefix(loc.key);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix }));
  const out: VantageObservations[] = [];
  for (const item of list.Contents ?? []) {
    if (!item.Key?.endsWith('.json')) continue;
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: item.Key }));
      out.push(JSON.parse((await r.Body?.transformToString()) ?? '') as VantageObservations);
    } catch (e) {
      unreadable?.(item.Key, String(e));
    }
  }
  return out;
}

/** What the vantages saw of a target: `<vantage> <last three, + or x> <status or error> <ms> ms; ...`. */
export function probeSummary(id: string, observations: readonly VantageObservations[]): string {
  return observations
    .map((o) => {
      const last = (o.targets[id] ?? []).slice(-3);
      if (!last.length) return undefined;
      const r = last[last.length - 1];
      const marks = last.map((x) => (x.ok ? '+' : 'x')).join('');
      return `${o.vantage} ${marks} ${r.status ?? r.error ?? '?'} ${r.ms} ms`;
    })
    .filter(Boolean)
    .join('; ');
}

/**
 * One line per target: status, who set it, its hold (by whom, since, until), when it changed, each vantage's latest
 * results, and, when the probes' verdict disagrees with a held status, that they do.
 */
export function healthLines(
  doc: HealthDoc,
  config: RouterConfig,
  observations: readonly VantageObservations[],
  now = Date.now(),
): string[] {
  const ids = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];
  const width = Math.max(...ids.map((i) => i.length));
  const votes = votesOf(config, observations, now);
  return ids.map((id) => {
    const h = doc.regions[id];
    const status = h?.status ?? 'up';
    const hold = holdOf(h, now);
    const verdict = votes[id]?.verdict;
    const seen = probeSummary(id, observations);
    const held = hold ? `  ${holdWords(hold)}` : h?.hold ? `  hold ended ${h.hold.until}` : '';
    const disagree = hold && verdict && verdict !== status ? `  (the probes see it ${verdict})` : '';
    return `  ${id.padEnd(width)}  ${status.padEnd(4)}  set by ${(h?.setBy ?? '-').padEnd(8)}  changed ${h?.changedAt ?? '-'}${held}${disagree}${seen ? `  ${seen}` : ''}`;
  });
}

/** One CloudWatch embedded-metric-format line in the EdgeRouter namespace (a *Ms metric in milliseconds). */
function emf(at: number, dimensions: Record<string, string>, values: Record<string, number>): string {
  return JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: 'EdgeRouter',
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.keys(values).map((Name) => ({
            Name,
            Unit: Name.endsWith('Ms') ? 'Milliseconds' : 'Count',
          })),
        },
      ],
    },
    ...dimensions,
    ...values,
  });
}

export class Prober {
  private readonly history: Record<string, ProbeResult[]> = {};
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  /** the highest serial this checker has read or written: it never writes on top of a lower one */
  private highest = 0;

  constructor(private readonly opts: ProberOptions) {
    if (!opts.config.health) throw new Error('the router config has no health section');
  }

  private get now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private log(event: string, detail: Record<string, unknown>): void {
    this.opts.log?.(JSON.stringify({ event, vantage: this.opts.vantage, ...detail }));
  }

  /** Probes every region and environment once. */
  async probeAll(): Promise<void> {
    const { config } = this.opts;
    const probe = config.health?.probe;
    if (!probe) return;
    const [lo, hi] = probe.expect.split('-').map(Number);
    const targets = [...Object.entries(config.regions), ...Object.entries(config.environments ?? {})];
    await Promise.all(
      targets.map(async ([id, t]) => {
        const o = t.origin;
        const protocol = o.protocol ?? 'https';
        const port = o.port ?? (protocol === 'https' ? 443 : 80);
        const url = `${protocol}://${o.domainName}:${port}${o.path ?? ''}${probe.path}`;
        const start = this.now;
        const answer = await (this.opts.probe ?? httpProbe)(url, o.domainName, probe.timeoutMs);
        const ok = answer.status !== undefined && answer.status >= lo && answer.status <= hi;
        const result: ProbeResult = {
          at: start,
          ok,
          ms: Math.max(0, this.now - start),
          ...(answer.status !== undefined ? { status: answer.status } : {}),
          ...(answer.error ? { error: answer.error } : {}),
        };
        const list = this.history[id] ?? [];
        this.history[id] = list;
        list.push(result);
        if (list.length > KEEP) list.splice(0, list.length - KEEP);
      }),
    );
  }

  /** This vantage's observations as written. */
  observations(): VantageObservations {
    return { vantage: this.opts.vantage, at: this.now, targets: this.history };
  }

  private async publish(): Promise<void> {
    const { s3, loc, vantage } = this.opts;
    await s3.send(
      new PutObjectCommand({
        Bucket: loc.bucket,
        Key: `${observationsPrefix(loc.key)}${vantage}.json`,
        Body: JSON.stringify(this.observations()),
        ContentType: 'application/json',
      }),
    );
  }

  private readAll(): Promise<VantageObservations[]> {
    return readObservations(this.opts.s3, this.opts.loc, (key, error) =>
      this.log('observations-unreadable', { key, error }),
    );
  }

  /** Reads the document and every vantage's observations, decides, and writes the flips (If-Match). */
  async decideAndWrite(): Promise<HealthDecision> {
    const { s3, loc, config } = this.opts;
    const observations = await this.readAll();
    for (let attempt = 1; attempt <= MAX_CONFLICTS; attempt++) {
      const stored = await readDoc(s3, loc);
      let doc: HealthDoc | null = null;
      if (stored) {
        const parsed = parseHealthDocText(stored.text, config);
        if (!parsed.success) {
          this.log('doc-invalid', { error: parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ') });
          return { flips: [], suppressed: [], doc: null };
        }
        doc = parsed.data;
      }
      const serial = doc?.serial ?? 0;
      if (serial < this.highest) {
        // a restored or replayed old document: the edges refuse it, and a flip on top of it would carry its content
        // under a new serial. An operator publishes a good one above the last (doc publish FILE --serial N).
        this.log('doc-regressed', { serial, highest: this.highest, action: 'nothing written' });
        return { flips: [], suppressed: [], doc: null };
      }
      this.highest = serial;
      const now = this.now;
      const decision = decideHealth(config, doc, observations, now);
      for (const s of decision.suppressed) this.log('flip-suppressed', { ...s });
      if (!decision.doc) return decision;
      const next = {
        ...decision.doc,
        serial: (doc?.serial ?? 0) + 1,
        updatedAt: new Date(now).toISOString(),
      };
      const checked = parseHealthDocText(JSON.stringify(next), config);
      if (!checked.success)
        throw new Error(`the changed document is not valid: ${JSON.stringify(checked.errors)}`);
      const text = `${JSON.stringify(next, null, 2)}\n`;
      try {
        await writeDoc(s3, loc, text, stored?.etag ?? null);
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        this.log('conflict', { attempt });
        continue;
      }
      this.highest = next.serial;
      for (const f of decision.flips) this.log('flip', { ...f, serial: next.serial });
      await this.fanOut(text, next.serial);
      await this.opts.written?.(next);
      return { ...decision, doc: next };
    }
    this.log('gave-up', { why: `${MAX_CONFLICTS} conflicts in a row` });
    return { flips: [], suppressed: [], doc: null };
  }

  /** The document just written to the primary, to every replica that is behind; a line per replica. */
  private async fanOut(text: string, serial: number): Promise<void> {
    const replicas = this.opts.replicas ?? replicasOf(this.opts.config.healthDoc, this.opts.loc.key);
    for (const r of await writeReplicas(replicas, text, serial)) {
      const where = { replica: r.replica.region, bucket: r.replica.loc.bucket, key: r.replica.loc.key };
      if (r.outcome === 'written') this.log('replica-written', { ...where, serial });
      else if (r.outcome === 'kept')
        this.log('replica-kept', {
          ...where,
          serial,
          holds: serialOf(r.current.text),
          why: 'as new or newer',
        });
      else
        this.log('replica-failed', {
          ...where,
          serial,
          error: r.error instanceof Error ? `${r.error.name}: ${r.error.message}` : String(r.error),
          next: 'edge-router doc sync',
        });
    }
  }

  /** One round: probe, publish, decide; then the round's metrics. */
  async tick(): Promise<HealthDecision> {
    await this.probeAll();
    await this.publish();
    const decision = await this.decideAndWrite();
    this.emitMetrics(decision);
    return decision;
  }

  /**
   * CloudWatch embedded metric format (namespace EdgeRouter): per target and vantage the probe's latency and
   * failures; per vantage the flips written and the flips suppressed (quorum met, but a pin, the dwell or a guard rail).
   */
  private emitMetrics(decision: HealthDecision): void {
    const log = this.opts.log;
    if (!log) return;
    const Vantage = this.opts.vantage;
    for (const [Target, results] of Object.entries(this.history)) {
      const last = results[results.length - 1];
      if (!last) continue;
      log(emf(this.now, { Vantage, Target }, { ProbeLatencyMs: last.ms, ProbeFailures: last.ok ? 0 : 1 }));
    }
    log(
      emf(
        this.now,
        { Vantage },
        { HealthFlips: decision.flips.length, HealthFlipsSuppressed: decision.suppressed.length },
      ),
    );
  }

  /** Probes every intervalSeconds until stop(); a failed round is logged, never thrown. */
  start(): void {
    const every = (this.opts.config.health?.probe.intervalSeconds ?? 10) * 1000;
    const round = async () => {
      try {
        this.running = this.tick();
        await this.running;
      } catch (e) {
        this.log('round-failed', { error: String(e) });
      }
      if (this.timer !== undefined) this.timer = setTimeout(round, every);
    };
    this.timer = setTimeout(round, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
