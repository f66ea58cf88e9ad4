// Passive health of one Lambda@Edge container: what its own requests saw of each origin, by Envoy's outlier rules
// (shared/outlier.ts). The same function handles origin-request and origin-response (the infra app associates one
// function with both), so a container sees both ends of its requests:
//   - a failure: an origin group's second attempt (the first origin failed a GET/HEAD/OPTIONS: a failover status,
//     no connection or no answer, and CloudFront invoked origin-request again), or an origin-response of 5xx that
//     CloudFront does not fail over (a POST, a status outside failoverStatusCodes, or the second attempt's own);
//   - a success: an origin-response below 500.
// Each failure is counted once: a first attempt's response that CloudFront will fail over is left to the second
// invocation, which names the origin that failed.
// Stalls (outlier.stallMs, shared/outlier.ts StallWatch): a target sent a request and not answered well for stallMs
// takes no request CloudFront cannot send again (POST, PUT, …; any request without originGroups) from this container:
// the handler sends those to the decision's retry target (stalledDecision). Retriable requests still go, each held
// at most the per-try timeout, so their failures eject it and their answers end the stall.
// Ejected regions are planned as down and ejected canaries as canary down (plan(router, doc, ejected)), so every
// rule of the policy (residency, roles, dials, fail-open, retry targets) applies to what is left.
import { TARGET_ID } from '../../shared/ids';
import { FAILOVER_METHODS } from '../../shared/origin-timeouts';
import { OutlierDetector, type OutlierEvent, type OutlierRules, StallWatch } from '../../shared/outlier';
import type { Ejections } from '../../shared/plan';
import type { Router } from '../../shared/router';
import type { HealthDoc } from '../../shared/schema';
import { ATTEMPT_HEADER, REASON_HEADER, REGION_HEADER } from '../route-headers';
import { METRICS, type Telemetry } from './telemetry';

export interface TargetRef {
  readonly target: string;
  /** the region's canary deployment, not its stable origin */
  readonly canary: boolean;
}

export class PassiveHealth {
  private readonly regions: OutlierDetector;
  private readonly canaries: OutlierDetector;
  private readonly stalls: StallWatch;
  // the ejections as planned, and when that set changes next (an ejection ends)
  private planned: { readonly regions: string[]; readonly canaries: string[] } = {
    regions: [],
    canaries: [],
  };
  private key = '';
  private dirty = false;
  private nextEnd = Number.POSITIVE_INFINITY;

  private readonly onEvent: (e: OutlierEvent & { readonly canary: boolean }) => void;

  constructor(
    private readonly router: Router,
    rules: OutlierRules,
    private readonly opts: {
      /** config originGroups: which first-attempt failures CloudFront fails over */
      readonly grouped?: { readonly failoverStatusCodes: readonly number[] };
      readonly onEvent?: (e: OutlierEvent & { readonly canary: boolean }) => void;
      /** the longest a request waits for an origin (ms): a stall ends after it (StallWatch giveUpMs) */
      readonly longestWaitMs?: number;
    } = {},
  ) {
    this.onEvent = opts.onEvent ?? (() => {});
    this.stalls = new StallWatch(rules.stallMs, opts.longestWaitMs ?? 60_000);
    this.regions = new OutlierDetector(router.regions, rules);
    // a canary's viewers go to its region's stable origin: every canary may be ejected
    const canaryIds = router.canaries.map((i) => router.regions[i]);
    this.canaries = new OutlierDetector(canaryIds, { ...rules, maxEjectionPercent: 100 }, 0);
  }

  private detector(canary: boolean): OutlierDetector {
    return canary ? this.canaries : this.regions;
  }

  failure(t: TargetRef, now: number): void {
    const e = this.detector(t.canary).failure(t.target, now);
    if (!e) return;
    if (e.kind === 'ejected') this.dirty = true;
    this.onEvent({ ...e, canary: t.canary });
  }

  success(t: TargetRef, now: number): void {
    this.detector(t.canary).success(t.target);
    this.stalls.answered(stallKey(t), now);
  }

  /** This container sent a request to `t` at `now`. */
  sent(t: TargetRef, now: number): void {
    this.stalls.sent(stallKey(t), now);
  }

  /**
   * Whether a request to `t` made by `method` should go elsewhere: `t` is stalled and CloudFront cannot send the
   * request again (not a GET, HEAD or OPTIONS of an origin group). `first`: the first time this stall is reported.
   */
  stalled(
    t: TargetRef,
    method: string,
    now: number,
  ): { readonly forMs: number; readonly first: boolean } | undefined {
    if (this.opts.grouped && FAILOVER_METHODS.includes(method)) return undefined;
    return this.stalls.stalled(stallKey(t), now);
  }

  /** An origin-response: the request as the origin-request function sent it, and the origin's status. */
  response(request: Parameters<typeof responseSeen>[0], status: number, now: number): void {
    const seen = responseSeen(request, status, this.opts.grouped);
    if (!seen) return;
    if (seen.failed) this.failure(seen.target, now);
    else this.success(seen.target, now);
  }

  /** A new health document: a region it says is up after the last one said down comes back at once. */
  documentChanged(before: HealthDoc | null | undefined, after: HealthDoc | null | undefined): void {
    for (const id of this.router.regions) {
      const was = before?.regions?.[id];
      const is = after?.regions?.[id];
      if (!is) continue;
      const r = this.regions.documentSays(id, was?.status, is.status);
      const c = this.canaries.documentSays(id, was?.canaryStatus, is.canaryStatus ?? 'up');
      for (const [e, canary] of [
        [r, false],
        [c, true],
      ] as const) {
        if (!e) continue;
        this.dirty = true;
        this.onEvent({ ...e, canary });
      }
    }
  }

  /**
   * What is ejected at `now`, as plan() takes it, and a key that changes whenever it does (the handler plans again on
   * a new key). Cheap on the request path: the lists are rebuilt only when an ejection starts or ends.
   */
  current(now: number): { readonly ejected: Ejections | undefined; readonly key: string } {
    if (this.dirty || now >= this.nextEnd) this.rebuild(now);
    return { ejected: this.key ? this.planned : undefined, key: this.key };
  }

  /** What is ejected at `now` and until when (ms): for the status page and the tests. */
  ejections(now: number): { target: string; canary: boolean; untilMs: number }[] {
    return [
      ...this.regions
        .ejected(now)
        .map((target) => ({ target, canary: false, untilMs: this.regions.ejectedUntil(target) })),
      ...this.canaries
        .ejected(now)
        .map((target) => ({ target, canary: true, untilMs: this.canaries.ejectedUntil(target) })),
    ];
  }

  private rebuild(now: number): void {
    const before = this.planned;
    const regions = this.regions.ejected(now);
    const canaries = this.canaries.ejected(now);
    for (const target of before.regions)
      if (!regions.includes(target) && this.regions.ejectedUntil(target) !== 0)
        this.onEvent({ kind: 'returned', target, why: 'ejection-ended', canary: false });
    for (const target of before.canaries)
      if (!canaries.includes(target) && this.canaries.ejectedUntil(target) !== 0)
        this.onEvent({ kind: 'returned', target, why: 'ejection-ended', canary: true });
    const ends = this.ejections(now).map((e) => e.untilMs);
    this.nextEnd = ends.length ? Math.min(...ends) : Number.POSITIVE_INFINITY;
    this.planned = { regions, canaries };
    this.key = regions.length || canaries.length ? `${regions.join(',')}|${canaries.join(',')}` : '';
    this.dirty = false;
  }
}

const stallKey = (t: TargetRef) => (t.canary ? `${t.target} canary` : t.target);

export interface ResponseSeen {
  readonly target: TargetRef;
  readonly failed: boolean;
}

/**
 * What an origin-response says of the origin that answered, or undefined when it counts for nothing here: a request
 * we did not route, or a first attempt's failure that CloudFront fails over (the second invocation counts that one).
 * `request` is the one the origin-request function sent (its x-route-* headers); `grouped`: config originGroups.
 */
export function responseSeen(
  request: { readonly method?: string; readonly headers?: Record<string, { value?: string }[] | undefined> },
  status: number,
  grouped: { readonly failoverStatusCodes: readonly number[] } | undefined,
): ResponseSeen | undefined {
  const h = request.headers ?? {};
  const target = h[REGION_HEADER]?.[0]?.value;
  if (typeof target !== 'string' || !TARGET_ID.test(target) || !Number.isFinite(status)) return undefined;
  const ref = { target, canary: h[REASON_HEADER]?.[0]?.value === 'canary' };
  const failed = status >= 500;
  const second = h[ATTEMPT_HEADER]?.[0]?.value === '2';
  if (
    failed &&
    grouped &&
    !second &&
    FAILOVER_METHODS.includes(String(request.method).toUpperCase()) &&
    grouped.failoverStatusCodes.includes(status)
  )
    return undefined;
  return { target: ref, failed };
}

/** Passive health's events as log lines and metrics: one line per ejection, refusal and return. */
export function passiveTelemetry(telemetry: Telemetry) {
  return (e: OutlierEvent & { readonly canary: boolean }): void => {
    const what = { target: e.target, ...(e.canary ? { canary: true } : {}) };
    if (e.kind === 'ejected') {
      telemetry.count(METRICS.ejections);
      telemetry.log('warn', 'ejected', {
        ...what,
        until: new Date(e.untilMs).toISOString(),
        ejections: e.ejections,
      });
    } else if (e.kind === 'not-ejected') {
      telemetry.count(METRICS.ejectionsRefused);
      telemetry.log('warn', 'not-ejected', { ...what, why: e.why });
    } else {
      telemetry.count(METRICS.ejectionsEnded);
      telemetry.log('info', 'ejection-ended', { ...what, why: e.why });
    }
  };
}
