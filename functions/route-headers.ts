// The x-route-* headers, one place for both Lambda@Edge functions: origin-request writes them on the request it
// sends, origin-response reads them back from the event's request.
import type { Decision } from '../shared/route';

/** Every header we set starts with this; any the viewer (or the origin) sent is removed first. */
export const ROUTE_HEADER_PREFIX = 'x-route-';
export const REGION_HEADER = 'x-route-region';
export const REASON_HEADER = 'x-route-reason';
/** `target=staging; reason=override; doc=7; stale=0` */
export const DECISION_HEADER = 'x-route-decision';
/** `1` when the viewer may see how it was routed */
export const AUTHORISED_HEADER = 'x-route-authorised';

export function decisionHeader(d: Decision): string {
  return `target=${d.target.id}; reason=${d.reason}; doc=${d.serial === null ? 'none' : d.serial}; stale=${d.stale ? 1 : 0}`;
}

/** The target id of a decision header, or undefined. */
export function decisionTarget(value: string): string | undefined {
  return /^target=([a-z][a-z0-9-]{0,62});/.exec(value)?.[1];
}
