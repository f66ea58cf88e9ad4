// An origin group's second attempt in Lambda@Edge, one rule for the handler and the tests. (Not in shared/pick.ts:
// that file also builds for cloudfront-js-2.0, where CloudFront itself sends the retry to the group's second
// origin, Decision.next.)
import type { Decision } from './pick';

/**
 * An origin group's second attempt (Lambda@Edge, where CloudFront invokes the origin-request function again for the
 * group's second origin): the decision's retry target (`next`), never the origin that failed. `failed` is what the
 * first attempt chose (its x-route-region and x-route-reason on the request); without it, the decision's own target.
 * A canary that failed is retried on its region's stable origin. With no other target, the decision stands.
 */
export function retryDecision(d: Decision, failed?: { target: string; canary: boolean }): Decision {
  const first = failed ?? { target: d.target.id, canary: d.reason === 'canary' };
  const same = d.target.id === first.target && (d.reason === 'canary') === first.canary;
  if (!same) return d;
  return toNext(
    d,
    (next) =>
      `retry: ${first.target}${first.canary ? ' (canary)' : ''} failed; the second attempt goes to ${next}`,
  );
}

/**
 * A request no retry can save, whose target is stalled in this container (shared/outlier.ts StallWatch): sent to the
 * decision's retry target instead, as a retry would be. With no other target, the decision stands.
 */
export function stalledDecision(d: Decision, forMs: number): Decision {
  const canary = d.reason === 'canary';
  return toNext(
    d,
    (next) =>
      `stalled: ${d.target.id}${canary ? ' (canary)' : ''} has answered nothing below 500 for ${forMs} ms; this request cannot be sent again, so it goes to ${next}`,
  );
}

/** The decision sent to its retry target (`next`), with reason failover and `line` in the trace. */
function toNext(d: Decision, line: (next: string) => string): Decision {
  if (!d.next || (d.next.id === d.target.id && d.reason !== 'canary')) return d;
  return {
    ...d,
    target: d.next,
    reason: 'failover',
    next: undefined,
    // an affinity cookie names the region that answers: none is set for a retry
    setAffinity: undefined,
    trace: d.trace.length ? [...d.trace, line(d.next.id)] : d.trace,
  };
}
