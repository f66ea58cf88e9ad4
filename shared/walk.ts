// A walk: what the plan (shared/plan.ts) resolved for one ranking under one health document, and all a pick
// (shared/pick.ts) needs of the document for a viewer ranked so. It is also the value CloudFront Functions read
// from the KeyValueStore (shared/kvs-layout.ts), so its fields are short and its JSON is what the function uses as
// it comes: no decoding at the edge. Runs in cloudfront-js-2.0 too.
import { num } from './chars';
import type { RouteTable } from './router';

/** Why a walk's step is where the viewer goes. */
export type WalkReason = 'nearest' | 'failover' | 'dial-spill' | 'standby' | 'fail-open';

/** Why an affinity value may not send its viewer to a region that residency allows, under this document. */
export type Excluded = 'region-down' | 'region-pilot';

/**
 * One step of a walk: [region index, threshold, reason, dial hash]. The viewer stays on the region when its dial
 * bucket (0-9999), bucket(key, dial hash), is below the threshold; a threshold of 10000 (dial 100) keeps everyone,
 * without hashing, and has no dial hash. The dial hash is the FNV-1a state after `dial:<region>:`: per region, so
 * two dials do not drop the same viewers; the plan computes it once, not each request.
 */
export type Step = readonly [number, number, WalkReason] | readonly [number, number, WalkReason, number];

/** A bucket below this keeps every viewer: the threshold of dial 100. */
export const KEEP_ALL = 10000;

/** The canary of a walk, when it can send anyone. */
export interface CanaryWalk {
  /** regions of this ranking whose viewers may go to their canaryOrigin (configured, in the canary, not down) */
  readonly r: readonly number[];
  /** the threshold (percent × 100) before the schedule's first step */
  readonly p: number;
  /** the schedule, when there is one: [time (ms since the epoch), threshold, time, threshold, …] in time order */
  readonly t?: readonly number[];
  /** FNV-1a state after `canary:<seed>:`: a viewer's canary bucket is bucket(key, h) */
  readonly h: number;
}

/**
 * One ranking's walk under one document. Stored as JSON in CloudFront's KeyValueStore, where every byte of a
 * value counts against 1 KB: hence the short names.
 */
export interface Walk {
  /** the steps, best first; the last one always keeps the viewer */
  readonly s: readonly Step[];
  /** the first two regions up and not pilots, active ones first: a pick's retry is the first that is not its own */
  readonly n: readonly number[];
  /** regions of the ranking an affinity value may not name under this document, by index */
  readonly x?: Readonly<Record<string, Excluded>>;
  readonly c?: CanaryWalk;
  /**
   * As stored: the config's network tables (network routes and override.allowCidrs), which CloudFront Functions do
   * not bake (shared/baked.ts); absent when the config names no network.
   */
  readonly w?: WalkNetworks;
  /** the plan's words for this walk (for explain and the logs; never stored) */
  readonly says?: readonly string[];
}

/**
 * The network tables as a stored walk carries them: each network as `<hex prefix>/<length>` (an IPv4 one as
 * `.<hex>/<length>`), comma-separated, longest first, and each value as a character (shared/chars.ts).
 */
export interface WalkNetworks {
  /** networkRoutes' networks, and the route (index into r) of each */
  readonly n: string;
  readonly v: string;
  /** override.allowCidrs */
  readonly a: string;
  /** per network route, its target */
  readonly r: readonly string[];
}

/**
 * The walk of ranking r under no document (every region up, active, dial 100; no canary): its first candidate, and
 * its second as the retry. What a runtime without a plan for the ranking routes on (CloudFront Functions, when the
 * store has no usable value): plan(router, null) gives exactly this for every ranking (test/plan.test.ts).
 */
export function fallbackWalk(table: RouteTable, r: number): Walk {
  const first = num(table.rankings, 3 * r + 1);
  const second = num(table.rankings, 3 * r + 2);
  return { s: [[first, KEEP_ALL, 'nearest']], n: second < 0 ? [first] : [first, second] };
}
