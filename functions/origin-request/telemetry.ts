// Logs and metrics of a Lambda@Edge container. No line per request on the happy path: events are logged
// as they happen (doc loads, failures, rejections), decisions other than `nearest` at most once a second,
// and metrics are counted in memory and flushed as ONE CloudWatch Embedded Metric Format line per container
// at most every `flushMs` (or after `flushCount` decisions).
// EMF: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
import type { Decision } from '../../shared/pick';

export const METRIC_NAMESPACE = 'EdgeRouter';

/** Metric names the infra dashboard and alarms are built on. */
export const METRICS = {
  decisions: 'Decisions',
  /** `Reason.<reason>`: decisions with that reason */
  reason: (r: string) => `Reason.${r}`,
  /** `Target.<id>`: decisions sent to that target */
  target: (id: string) => `Target.${id}`,
  docAge: 'DocAgeSeconds',
  docStale: 'DocStale',
  // and, from ObjectCache, for the health document (Doc) and the signing keys (Keys):
  // DocLoads, DocLoadFailures, DocRejections, KeysLoads, KeysLoadFailures, KeysRejections
  /** requested overrides that were not honoured (unauthorised, bad token, unknown target) */
  overrideIgnored: 'OverrideIgnored',
  overrideHonoured: 'OverrideHonoured',
  /** affinity cookies or home-region headers followed */
  affinityHonoured: 'AffinityHonoured',
  /** `AffinityIgnored.<cause>`: affinity values not followed (expired, bad-signature, region-down, …) */
  affinityIgnored: (cause: string) => `AffinityIgnored.${cause}`,
  /** responses that will set the affinity cookie */
  affinityIssued: 'AffinityIssued',
  /** origin groups' second attempts: the first origin failed, the request went to the decision's retry target */
  retries: 'Retries',
  /** passive health: targets this container ejected, refused to eject (last candidate, max share), and let back */
  ejections: 'Ejections',
  ejectionsRefused: 'EjectionsRefused',
  ejectionsEnded: 'EjectionsEnded',
  /** requests no retry can save sent to the retry target, their own target being stalled (outlier.stallMs) */
  stallDiversions: 'StallDiversions',
} as const;

export type Write = (line: string) => void;

export interface TelemetryOptions {
  readonly runtime: string;
  readonly write?: Write;
  readonly now?: () => number;
  readonly flushMs?: number;
  readonly flushCount?: number;
  /** minimum ms between two logged non-nearest decisions */
  readonly decisionLogMs?: number;
}

export class Telemetry {
  private readonly write: Write;
  private readonly now: () => number;
  private readonly flushMs: number;
  private readonly flushCount: number;
  private readonly decisionLogMs: number;
  private counts = new Map<string, number>();
  // decisions by reason and by target: plain keys on the hot path, metric names made at flush
  private byReason: Record<string, number> = {};
  private byTarget: Record<string, number> = {};
  private pending = 0;
  private lastFlush: number;
  private readonly lastSampled = new Map<string, { at: number; suppressed: number }>();
  private docAgeSeconds: number | undefined;
  private docStale = 0;

  constructor(private readonly opts: TelemetryOptions) {
    // Lambda sends stdout to CloudWatch Logs
    this.write = opts.write ?? ((line) => console.log(line));
    this.now = opts.now ?? Date.now;
    this.flushMs = opts.flushMs ?? 5000;
    this.flushCount = opts.flushCount ?? 10000;
    this.decisionLogMs = opts.decisionLogMs ?? 1000;
    this.lastFlush = this.now();
  }

  /** One JSON log line. */
  log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown> = {}): void {
    this.write(
      JSON.stringify({
        level,
        event,
        runtime: this.opts.runtime,
        time: new Date(this.now()).toISOString(),
        ...fields,
      }),
    );
  }

  count(metric: string, n = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + n);
  }

  docAge(seconds: number | undefined, stale: boolean): void {
    this.docAgeSeconds = seconds;
    if (stale) this.docStale++;
  }

  /**
   * Counts a decision. One that is not `nearest` is logged (sampled) with its steps in words: `explain` gives the
   * same decision with its trace, asked for only when the line is written.
   */
  decision(d: Decision, explain?: () => Decision): void {
    this.byReason[d.reason] = (this.byReason[d.reason] ?? 0) + 1;
    this.byTarget[d.target.id] = (this.byTarget[d.target.id] ?? 0) + 1;
    this.pending++;
    if (d.reason !== 'nearest') {
      this.sampled(
        'decision',
        () => {
          const e = explain ? explain() : d;
          return {
            target: d.target.id,
            reason: d.reason,
            serial: d.serial,
            stale: d.stale,
            ...(e.plan ? { plan: e.plan } : {}),
            trace: e.trace,
            ...(d.reason === 'error' ? { error: d.error } : {}),
          };
        },
        d.reason === 'error' ? 'error' : 'info',
      );
    }
    this.maybeFlush();
  }

  /**
   * A log line of this event at most once per decisionLogMs, saying how many were left out since the last; fields
   * given as a function are made only for a line that is written.
   */
  sampled(
    event: string,
    fields: Record<string, unknown> | (() => Record<string, unknown>),
    level: 'info' | 'warn' | 'error' = 'warn',
  ): void {
    const now = this.now();
    const last = this.lastSampled.get(event);
    if (last && now - last.at < this.decisionLogMs) {
      last.suppressed++;
      return;
    }
    const f = typeof fields === 'function' ? fields() : fields;
    this.log(level, event, { ...f, suppressedSinceLast: last?.suppressed ?? 0 });
    this.lastSampled.set(event, { at: now, suppressed: 0 });
  }

  maybeFlush(): void {
    if (this.pending >= this.flushCount || this.now() - this.lastFlush >= this.flushMs) this.flush();
  }

  /** Writes the counted metrics as one EMF line and starts counting again. */
  flush(): void {
    const now = this.now();
    const values: Record<string, number> = Object.fromEntries(this.counts);
    if (this.pending > 0) values[METRICS.decisions] = this.pending;
    for (const [r, n] of Object.entries(this.byReason)) values[METRICS.reason(r)] = n;
    for (const [id, n] of Object.entries(this.byTarget)) values[METRICS.target(id)] = n;
    this.lastFlush = now;
    this.pending = 0;
    this.byReason = {};
    this.byTarget = {};
    if (this.docAgeSeconds !== undefined) values[METRICS.docAge] = this.docAgeSeconds;
    if (this.docStale > 0) values[METRICS.docStale] = this.docStale;
    this.counts = new Map();
    this.docStale = 0;
    const names = Object.keys(values);
    if (names.length === 0) return;
    this.write(
      JSON.stringify({
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [
            {
              Namespace: METRIC_NAMESPACE,
              Dimensions: [['Runtime']],
              Metrics: names.map((Name) => ({ Name, Unit: Name === METRICS.docAge ? 'Seconds' : 'Count' })),
            },
          ],
        },
        Runtime: this.opts.runtime,
        ...values,
      }),
    );
  }
}
