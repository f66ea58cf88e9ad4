// The x-route-* headers, one place for both Lambda@Edge functions: origin-request writes them on the request it
// sends, origin-response reads them back from the event's request.
import type { Decision } from '../shared/pick';
import { AFFINITY_KIND, looksSigned } from '../shared/token';

/** Every header we set starts with this; any the viewer (or the origin) sent is removed first. */
export const ROUTE_HEADER_PREFIX = 'x-route-';
export const REGION_HEADER = 'x-route-region';
export const REASON_HEADER = 'x-route-reason';
/** `target=staging; reason=override; doc=7; stale=0` */
export const DECISION_HEADER = 'x-route-decision';
/**
 * The signed affinity value the response side sets as the affinity cookie (Decision.setAffinity): the request side
 * signs it, so the response side needs no keys and trusts no viewer input (it sets only what has this shape).
 */
export const AFFINITY_HEADER = 'x-route-affinity';
/**
 * An origin custom header the infra app puts on the second origin of the Lambda@Edge origin group (value `2`): the
 * origin-request function, invoked again for a failover, knows it is the second attempt.
 */
export const ATTEMPT_HEADER = 'x-route-attempt';
/** `1` when the viewer may see how it was routed */
export const AUTHORISED_HEADER = 'x-route-authorised';

export function decisionHeader(d: Decision): string {
  return `target=${d.target.id}; reason=${d.reason}; doc=${d.serial === null ? 'none' : d.serial}; stale=${d.stale ? 1 : 0}`;
}

/** A decision header read back (the local edge's status page): what the edge chose, with which document. */
export function parseDecisionHeader(
  value: string | undefined,
): { target: string; reason: string; serial: number | null; stale: boolean } | undefined {
  const m = /^target=([^;]*); reason=([^;]*); doc=(none|\d+); stale=([01])$/.exec(value ?? '');
  if (!m) return undefined;
  return { target: m[1], reason: m[2], serial: m[3] === 'none' ? null : Number(m[3]), stale: m[4] === '1' };
}

/** The target id of a decision header, or undefined. */
export function decisionTarget(value: string): string | undefined {
  return /^target=([a-z][a-z0-9-]{0,62});/.exec(value)?.[1];
}

/** Whether a value may be set as the affinity cookie: the shape of a signed affinity value, nothing else. */
export function isAffinityValue(v: unknown): v is string {
  return looksSigned(AFFINITY_KIND, v);
}

/** The affinity cookie's attributes: as long as its signed life, on every path, never to scripts or other sites. */
export function affinityAttributes(ttlSeconds: number): string {
  return `Max-Age=${ttlSeconds}; Path=/; Secure; HttpOnly; SameSite=Lax`;
}
