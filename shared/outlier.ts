// Passive health: the failures a Lambda@Edge container sees per target eject it locally, for a while, by Envoy's
// outlier-detection rules and with Envoy's names
// (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier):
//   consecutive5xx         failures in a row (5xx, or no answer) that eject a target (Envoy: consecutive_5xx)
//   baseEjectionTimeMs     an ejection lasts this long times the number of times the target was ejected
//                          (Envoy: base_ejection_time), at most maxEjectionTimeMs (max_ejection_time)
//   maxEjectionPercent     at most this share of the targets ejected at once (max_ejection_percent)
// Never the last candidate: a failure that would leave no target un-ejected ejects nothing. A target comes back
// when its ejection ends, or sooner when the health document says it is up after it said down.
// And one rule Envoy does not have, for the requests no retry can save (StallWatch):
//   stallMs                a target that has not answered well (below 500) within this long of the first request this
//                          container sent it since its last good answer is stalled: it takes no request that CloudFront
//                          cannot send again (those go to the decision's retry target) until it answers well
// Pure and deterministic: time is given, so the rules are table-tested (test/outlier.test.ts).

export interface OutlierRules {
  readonly consecutive5xx: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  /** 0: no stall rule */
  readonly stallMs: number;
}

/** Envoy's defaults, but for regions: 50 % may be ejected (Envoy's 10 % would never eject one of four). */
export const DEFAULT_OUTLIER: OutlierRules = {
  consecutive5xx: 5,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 50,
  // well above a region's normal answer from its nearest edge, and half the per-try timeout (1 s): a hung region's
  // POSTs go elsewhere after 0.5 s, before the GETs' per-try timeouts have ejected it
  stallMs: 500,
};

interface TargetState {
  consecutive: number;
  /** times ejected so far (the multiplier of the next ejection) */
  ejections: number;
  /** ejected until then (ms), or 0 */
  until: number;
}

export type OutlierEvent =
  | {
      readonly kind: 'ejected';
      readonly target: string;
      readonly untilMs: number;
      readonly ejections: number;
    }
  | {
      readonly kind: 'not-ejected';
      readonly target: string;
      readonly why: 'last-candidate' | 'max-ejection-percent';
    }
  | { readonly kind: 'returned'; readonly target: string; readonly why: 'ejection-ended' | 'document-up' };

export class OutlierDetector {
  private readonly state = new Map<string, TargetState>();

  /**
   * `keep`: how many targets always stay in (1: never the last candidate; 0 for canary deployments, whose region's
   * stable origin takes their viewers).
   */
  constructor(
    private readonly targets: readonly string[],
    private readonly rules: OutlierRules = DEFAULT_OUTLIER,
    private readonly keep = 1,
  ) {}

  private of(target: string): TargetState {
    let s = this.state.get(target);
    if (!s) {
      s = { consecutive: 0, ejections: 0, until: 0 };
      this.state.set(target, s);
    }
    return s;
  }

  /** Whether `target` is ejected at `now`. */
  isEjected(target: string, now: number): boolean {
    const s = this.state.get(target);
    return s !== undefined && s.until > now;
  }

  /** When `target`'s ejection ends (ms), or 0. */
  ejectedUntil(target: string): number {
    return this.state.get(target)?.until ?? 0;
  }

  /** The targets ejected at `now`. */
  ejected(now: number): string[] {
    return this.targets.filter((t) => this.isEjected(t, now));
  }

  /** An answer below 500: the count of failures in a row starts again. */
  success(target: string): void {
    const s = this.state.get(target);
    if (s) s.consecutive = 0;
  }

  /** A 5xx, or no answer at all. Returns what it did when it changed an ejection. */
  failure(target: string, now: number): OutlierEvent | undefined {
    if (!this.targets.includes(target)) return undefined;
    const s = this.of(target);
    if (s.until > now) return undefined; // already out: a request in flight when it was ejected
    s.consecutive++;
    if (s.consecutive < this.rules.consecutive5xx) return undefined;
    const out = this.ejected(now);
    if (out.length + 1 > this.targets.length - this.keep)
      return { kind: 'not-ejected', target, why: 'last-candidate' };
    if (((out.length + 1) * 100) / this.targets.length > this.rules.maxEjectionPercent)
      return { kind: 'not-ejected', target, why: 'max-ejection-percent' };
    s.ejections++;
    s.consecutive = 0;
    s.until = now + Math.min(this.rules.baseEjectionTimeMs * s.ejections, this.rules.maxEjectionTimeMs);
    return { kind: 'ejected', target, untilMs: s.until, ejections: s.ejections };
  }

  /**
   * The health document changed: a target it says is up, after a document that said it was down, comes back at once
   * (the health checker has confirmed the recovery).
   */
  documentSays(
    target: string,
    before: 'up' | 'down' | undefined,
    now: 'up' | 'down',
  ): OutlierEvent | undefined {
    const s = this.state.get(target);
    if (!s || before !== 'down' || now !== 'up' || s.until === 0) return undefined;
    s.until = 0;
    s.consecutive = 0;
    return { kind: 'returned', target, why: 'document-up' };
  }
}

/** The passive-health rules in force (on by default), or undefined when the config turns them off. */
export function outlierRules(config: {
  readonly outlier?: Partial<OutlierRules> & { enabled?: boolean };
}): OutlierRules | undefined {
  const o = config.outlier ?? {};
  if (o.enabled === false) return undefined;
  return {
    consecutive5xx: o.consecutive5xx ?? DEFAULT_OUTLIER.consecutive5xx,
    baseEjectionTimeMs: o.baseEjectionTimeMs ?? DEFAULT_OUTLIER.baseEjectionTimeMs,
    maxEjectionTimeMs: o.maxEjectionTimeMs ?? DEFAULT_OUTLIER.maxEjectionTimeMs,
    maxEjectionPercent: o.maxEjectionPercent ?? DEFAULT_OUTLIER.maxEjectionPercent,
    stallMs: o.stallMs ?? DEFAULT_OUTLIER.stallMs,
  };
}

/**
 * Which targets are stalled: sent a request by this container and not answered well (below 500) for stallMs since the
 * first such request. A hung region answers nothing, a failing one only 5xx; either is stalled within stallMs, long
 * before its failures (a per-try timeout each) can eject it. An answer below 500 ends the stall.
 *
 * A container need not see the answers to its own requests (Lambda may give an origin-response to another container,
 * or the function may not handle origin-response at all), so a target is stalled only when another target has
 * answered well in this container since that first request; and a stall ends `giveUpMs` (the longest wait) after
 * it, when every request sent then has been answered or has failed: the next request to the target starts watching
 * again. Bounded: one entry per target.
 */
export class StallWatch {
  /** per target: the first request since its last good answer (ms), and whether that stall was reported */
  private readonly since = new Map<string, { at: number; told: boolean }>();
  /** the last good answer this container saw, from any target */
  private lastAnswer = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly stallMs: number,
    private readonly giveUpMs: number,
  ) {}

  /** A request was sent to `target` at `now`. */
  sent(target: string, now: number): void {
    const s = this.since.get(target);
    if (s === undefined || now - s.at >= this.giveUpMs) this.since.set(target, { at: now, told: false });
  }

  /** `target` answered below 500 at `now`: not stalled. */
  answered(target: string, now: number): void {
    this.lastAnswer = Math.max(this.lastAnswer, now);
    this.since.delete(target);
  }

  /**
   * How long (ms) `target` has been waited on without a good answer, when that is at least stallMs (it is stalled),
   * else undefined. `first`: true the first time a stall is reported (for one log line per stall).
   */
  stalled(target: string, now: number): { readonly forMs: number; readonly first: boolean } | undefined {
    if (this.stallMs <= 0) return undefined;
    const s = this.since.get(target);
    if (s === undefined) return undefined;
    const forMs = now - s.at;
    if (forMs < this.stallMs || forMs >= this.giveUpMs || this.lastAnswer < s.at) return undefined;
    const first = !s.told;
    s.told = true;
    return { forMs, first };
  }
}
