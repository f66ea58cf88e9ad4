// The failover drill's verdict, pure: from the requests sent and the events that happened, how long each event
// took to move the watched viewer's traffic, what failed meanwhile, and whether the event met its goal.
import { FAILOVER_METHODS } from '../shared/origin-timeouts';

/** One request of the drill's steady traffic. */
export interface Sample {
  /** sent (ms) */
  readonly at: number;
  /** answered, or failed (ms) */
  readonly done: number;
  readonly viewer: string;
  readonly method: string;
  /** the region (or origin id) that answered, when one did */
  readonly region?: string;
  readonly ok: boolean;
}

export interface Goal {
  /** the watched viewer's traffic has moved (away from, or back to, the region) within this long; undefined: no goal */
  readonly movedWithinMs?: number;
  /** at most this many failed GET/HEAD requests in the event's window; undefined: no goal */
  readonly maxFailedIdempotent?: number;
  /** at most this many failed requests of any method; undefined: no goal */
  readonly maxFailed?: number;
  /** at most this many failed requests CloudFront cannot send again (POST, PUT, …); undefined: no goal */
  readonly maxFailedOther?: number;
  /** the window's p99 at most this much above the p99 before the event (ms); undefined: no goal */
  readonly maxP99AboveBeforeMs?: number;
  /** the goal in words, for the table: `moved ≤ 3 s, 0 failed` */
  readonly words: string;
}

export interface DrillEvent {
  readonly name: string;
  /** when it happened (ms) */
  readonly at: number;
  /** the event sends traffic away from the region (true) or back to it (false) */
  readonly away: boolean;
  readonly goal: Goal;
}

export interface Verdict {
  readonly event: string;
  readonly runtime: string;
  /**
   * ms from the event until the traffic had moved; null: it never did. Away from the region: until the edge sent it
   * no request any more (its last attempt, first or second, in the window; the watched viewer's last answer as before
   * the event when no attempts are given). Back to it: until the watched viewer was answered from it again.
   */
  readonly movedAfterMs: number | null;
  readonly requests: number;
  readonly failed: number;
  /** failed GET and HEAD requests (CloudFront fails over only requests it can send again) */
  readonly failedIdempotent: number;
  /** failed requests CloudFront cannot send again (POST, PUT, …) */
  readonly failedOther: number;
  /** the 99th percentile of the window's request latencies (ms) */
  readonly p99Ms: number;
  /** the same of the window's GET and HEAD requests alone (those CloudFront can send again) */
  readonly p99IdempotentMs: number;
  /** the same of the requests answered in the BEFORE_MS before the event */
  readonly p99BeforeMs: number;
  readonly goal: string;
  readonly pass: boolean;
  /** why it failed, in words; empty when it passed */
  readonly misses: readonly string[];
}

const IDEMPOTENT = new Set(FAILOVER_METHODS);
/** how far back the latency before an event is taken (ms) */
export const BEFORE_MS = 3000;
/** an attempt to the region this close to the window's end: the edge is still sending to it (ms) */
export const STILL_SENDING_MS = 1000;

/** A request the edge sent to an origin: when, and to which target (local/edge.ts onAttempt). */
export interface Attempt {
  readonly at: number;
  readonly target: string;
}

/**
 * Away from `region`, by the edge's attempts: ms from `from` until its last attempt to `region` before `until`; 0 with
 * none; null (never moved) with one within STILL_SENDING_MS of `until`.
 */
function movedBySends(
  attempts: readonly Attempt[],
  region: string,
  from: number,
  until: number,
): number | null {
  const last = attempts.filter((a) => a.target === region && a.at >= from && a.at < until).pop();
  if (last === undefined) return 0;
  return until - last.at < STILL_SENDING_MS ? null : last.at - from;
}

/**
 * By the watched viewer's answers in the window: ms from the event until the last one as before it (away: from
 * `region`, or a failure; back: from elsewhere); 0 with none; null (never moved) when that one is the window's last
 * or the viewer sent nothing.
 */
function movedByAnswers(watched: readonly Sample[], region: string, e: DrillEvent): number | null {
  if (watched.length === 0) return null;
  const asBefore = (s: Sample) => (e.away ? !s.ok || s.region === region : s.ok && s.region !== region);
  const last = watched.filter(asBefore).pop();
  if (last === undefined) return 0;
  return last === watched[watched.length - 1] ? null : last.done - e.at;
}

/** The nearest-rank percentile of `values` (0 for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Each event's verdict. An event's window holds the requests answered (or failed) after it and before the next
 * event (or `end`), so that a request in flight when a backend is killed counts for the kill. The watched viewer
 * has moved after the last of its answers in the window that is as before the event: for an event `away`, an
 * answer from `region` or a failure; else an answer from anywhere else. When that answer is the window's last,
 * the traffic never moved. With `attempts`, an event away has moved after the edge's last attempt to `region` in the
 * window (0: none; never, when one is within STILL_SENDING_MS of the window's end): a retry that answers the viewer
 * from elsewhere does not hide the requests still sent to the failed region.
 */
export function verdicts(o: {
  runtime: string;
  events: readonly DrillEvent[];
  samples: readonly Sample[];
  end: number;
  watched: string;
  region: string;
  attempts?: readonly Attempt[];
}): Verdict[] {
  return o.events.map((e, k) => {
    const until = o.events[k + 1]?.at ?? o.end;
    const window = o.samples.filter((s) => s.done >= e.at && s.done < until);
    const watched = window.filter((s) => s.viewer === o.watched);
    const movedAfterMs =
      e.away && o.attempts
        ? movedBySends(o.attempts, o.region, e.at, until)
        : movedByAnswers(watched, o.region, e);
    const failed = window.filter((s) => !s.ok).length;
    const failedIdempotent = window.filter((s) => !s.ok && IDEMPOTENT.has(s.method)).length;
    const failedOther = failed - failedIdempotent;
    const latency = (ss: readonly Sample[]) =>
      percentile(
        ss.map((s) => s.done - s.at),
        99,
      );
    const p99Ms = latency(window);
    const p99IdempotentMs = latency(window.filter((s) => IDEMPOTENT.has(s.method)));
    const p99BeforeMs = latency(o.samples.filter((s) => s.done >= e.at - BEFORE_MS && s.done < e.at));
    const misses: string[] = [];
    if (e.goal.movedWithinMs === undefined) {
      // no goal for moving (a slow region may keep its traffic)
    } else if (movedAfterMs === null) misses.push('the traffic did not move');
    else if (movedAfterMs > e.goal.movedWithinMs)
      misses.push(`moved after ${(movedAfterMs / 1000).toFixed(2)} s, goal ${e.goal.movedWithinMs / 1000} s`);
    if (e.goal.maxFailedIdempotent !== undefined && failedIdempotent > e.goal.maxFailedIdempotent)
      misses.push(`${failedIdempotent} failed GET/HEAD, goal ${e.goal.maxFailedIdempotent}`);
    if (e.goal.maxFailedOther !== undefined && failedOther > e.goal.maxFailedOther)
      misses.push(`${failedOther} failed POST/PUT/…, goal ${e.goal.maxFailedOther}`);
    if (e.goal.maxFailed !== undefined && failed > e.goal.maxFailed)
      misses.push(`${failed} failed, goal ${e.goal.maxFailed}`);
    if (e.goal.maxP99AboveBeforeMs !== undefined && p99Ms > p99BeforeMs + e.goal.maxP99AboveBeforeMs)
      misses.push(`p99 ${p99Ms} ms, goal ≤ ${p99BeforeMs} + ${e.goal.maxP99AboveBeforeMs} ms`);
    return {
      event: e.name,
      runtime: o.runtime,
      movedAfterMs,
      requests: window.length,
      failed,
      failedIdempotent,
      failedOther,
      p99Ms,
      p99IdempotentMs,
      p99BeforeMs,
      goal: e.goal.words,
      pass: misses.length === 0,
      misses,
    };
  });
}

/** The verdicts as a Markdown table (the README quotes it). */
export function verdictTable(vs: readonly Verdict[]): string {
  const rows = vs.map((v) => [
    v.runtime,
    v.event,
    v.movedAfterMs === null ? 'did not move' : `${(v.movedAfterMs / 1000).toFixed(2)} s`,
    `${v.failed} of ${v.requests}`,
    String(v.failedIdempotent),
    String(v.failedOther),
    `${v.p99Ms} ms (${v.p99BeforeMs} ms)`,
    `${v.p99IdempotentMs} ms`,
    v.goal,
    v.pass ? 'pass' : `FAIL: ${v.misses.join('; ')}`,
  ]);
  const head = [
    'runtime',
    'event',
    'moved after',
    'failed',
    'failed GET/HEAD',
    'failed POST',
    'p99 (before)',
    'p99 GET/HEAD',
    'goal',
    'verdict',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * What `npm run drill` prints and its exit code: with `json`, one object per event and runtime on stdout, else the
 * table; 1 when an event missed its goal (with a line for stderr), 0 when all met theirs.
 */
export function drillOutcome(
  all: readonly Verdict[],
  json: boolean,
): { stdout: string[]; stderr: string[]; code: 0 | 1 } {
  const stdout = json ? all.map((v) => JSON.stringify(v)) : [`\n${verdictTable(all)}`];
  const missed = all.filter((v) => !v.pass).length;
  return missed
    ? { stdout, stderr: [`drill: ${missed} of ${all.length} events missed their goal`], code: 1 }
    : { stdout, stderr: [], code: 0 };
}
