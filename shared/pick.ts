// The second stage of the policy: pick(plan, facts) → Decision, once per request. Only what depends on the viewer
// is decided here: an authorised override, a network route, where the viewer is placed, region affinity (the
// value's signature, then its region's place in the plan), the walk's dial buckets and the canary's bucket at
// facts.now. Everything the health document decides was resolved by plan() (shared/plan.ts). Pure: no I/O, no
// globals, never throws. Also built for CloudFront Functions (cloudfront-js-2.0), in 10 KB with everything else:
// no for-of, destructuring, default parameters, spread, Map or optional chaining (the build lowers it to long
// code). Two labels mark what that build leaves out: TRACE, the explanation (`trace?.push(…)`, which builds no words
// unless asked), and OUTCOME, what became of an override or affinity value (Decision.override and .affinity: the
// words and causes Lambda@Edge's metrics and logs, and explain, read; CloudFront Functions have no metrics).
import { nearestAnchor } from './anchor';
import { num } from './chars';
import { bucket } from './hash';
import { TARGET_ID } from './ids';
import { matchCidr, parseIp } from './net';
import type { Plan } from './plan';
import type { AffinityTable, RouteTable, Target } from './router';
import {
  AFFINITY_KIND,
  checkSigned,
  type KeyRing,
  mintSigned,
  refusal,
  type SignedCause,
  TOKEN_KIND,
} from './token';
import { type Excluded, fallbackWalk, KEEP_ALL, type Walk, type WalkReason } from './walk';

/** What a runtime knows about a request. Header and cookie names are lower-case. */
export interface Facts {
  /** ISO 3166-1 alpha-2, as in CloudFront-Viewer-Country */
  readonly country?: string;
  readonly lat?: number;
  readonly lon?: number;
  /** the viewer's address as the runtime reports it (clientIp, event.viewer.ip) */
  readonly ip?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: Readonly<Record<string, string>>;
  /** The HTTP method (upper case): a write may be answered with an affinity cookie */
  readonly method?: string;
  /** Request time, ms since the epoch */
  readonly now?: number;
}

export type Reason =
  | 'override'
  | 'network'
  | 'affinity'
  | 'canary'
  | 'nearest'
  | 'failover'
  | 'dial-spill'
  | 'standby'
  | 'fail-open'
  | 'no-geo'
  | 'error';

/** Request names the override reads (lower case). */
export const OVERRIDE_HEADER = 'x-route-to';
export const TOKEN_HEADER = 'x-route-token';
export const OVERRIDE_COOKIE = 'route_to';

/**
 * The cookies routing reads, and the only ones a runtime looks up: the override's, the affinity cookie and the
 * sticky key's. However many cookies a request carries, the work is these few lookups (and, in Lambda@Edge, one pass
 * over at most MAX_COOKIE_BYTES of the Cookie header).
 */
export function cookieNames(table: RouteTable): (string | undefined)[] {
  // undefined for a cookie the config does not have (no entry in a cookie map is named by it)
  return [OVERRIDE_COOKIE, table.affinity && table.affinity.cookie, table.sticky.cookie];
}

/** What became of a requested override: for the operator's logs and metrics, never for the viewer. */
export interface OverrideOutcome {
  /** the requested target, cut to 64 characters */
  readonly requested: string;
  readonly from: 'header' | 'cookie';
  readonly honoured: boolean;
  /** why it was honoured (allowCidrs, token <key id>) or ignored */
  readonly why: string;
}

/** Why an affinity value was not followed, in a word: for metrics (ignored affinity by cause). */
export type AffinityCause = SignedCause | 'unknown-region' | 'residency' | Excluded;

/** What became of an affinity cookie or home-region header the request carried. */
export interface AffinityOutcome {
  readonly from: 'cookie' | 'header';
  /** the region it names, once its signature is good */
  readonly region?: string;
  readonly honoured: boolean;
  readonly cause?: AffinityCause;
}

/** Methods whose response carries the affinity cookie under `after: "writes"`. */
const WRITES = /^(POST|PUT|PATCH|DELETE)$/;
// Edge clocks differ a little: an affinity cookie minted by one edge may look a few seconds longer-lived at another.
const CLOCK_SKEW_SECONDS = 60;

/** Where a viewer is ranked. */
export interface Placement {
  /** index into table.rankings, and so into the plan's walks */
  readonly ranking: number;
  /** false: no geography (no country, an unknown one, no latitude/longitude): ranked from the fallback region */
  readonly placed: boolean;
}

/** What a runtime passes besides the plan and the facts. */
export interface PickContext {
  /** the document is a last-known-good copy older than maxStaleSeconds: still used, and the decision says so */
  readonly stale?: boolean;
  /** signing keys for x-route-token and affinity values; without them none is valid, and no cookie is issued */
  readonly keys?: KeyRing;
  /** explain the decision: its steps in words (the CLI, a sampled log line); off on the request path */
  readonly trace?: boolean;
  /** the viewer's placement, when the runtime has it already (CloudFront Functions place first, to read one walk) */
  readonly at?: Placement;
}

interface DecisionBase {
  /** where the request goes; its origin is the target's, or for `canary` its region's canary deployment's */
  readonly target: Target;
  /** serial of the health document the decision used; null when there was none */
  readonly serial: number | null;
  /** the document is a last-known-good copy older than the config's maxStaleSeconds (set by the runtime) */
  readonly stale: boolean;
  /** the viewer may see how it was routed: its IP is in override.allowCidrs, or it sent a valid token */
  readonly authorised: boolean;
  /** present when the request asked for an override */
  readonly override?: OverrideOutcome;
  /** present when the affinity step read a cookie or home-region header (not when an override or network route won) */
  readonly affinity?: AffinityOutcome;
  /**
   * The signed affinity value the response should set as the affinity cookie: for a region target, on a write
   * (or every response under `after: "always"`), when signing keys are loaded.
   */
  readonly setAffinity?: string;
  /**
   * Where to retry this request if the chosen origin fails (an origin group): for a region the walk or affinity
   * chose, the best-ranked other region that is up and active (else a standby); for a canary, the region itself (its
   * stable origin). Absent for overrides, network routes, fail-open and errors.
   */
  readonly next?: Target;
  /** with `trace`: the plan's words for the walk the viewer was ranked into */
  readonly plan?: readonly string[];
  /** with `trace`: the pick's steps, in order, in words; otherwise empty */
  readonly trace: readonly string[];
}
export type Decision =
  | (DecisionBase & { readonly reason: Exclude<Reason, 'error'> })
  | (DecisionBase & { readonly reason: 'error'; readonly error: string });

const NO_TRACE: readonly string[] = [];
/** A request without headers or cookies reads as this. */
const NONE: Readonly<Record<string, string>> = {};
const NO_CONTEXT: PickContext = {};

const nowOf = (facts: Facts) => (typeof facts.now === 'number' ? facts.now : 0);
const region = (id: string): Target => ({ kind: 'region', id });

/** The target an id names: a configured region or environment, else undefined. */
export function targetOf(table: RouteTable, id: string): Target | undefined {
  return table.regions.indexOf(id) >= 0
    ? region(id)
    : table.environments.indexOf(id) >= 0
      ? { kind: 'environment', id }
      : undefined;
}

/**
 * Decides where a request goes under a plan. Precedence (README, "How a request is routed"): an authorised override,
 * then a network route, then region affinity (a signed cookie or home-region header naming a region that residency
 * allows the viewer and the plan has not excluded), then the walk of the viewer's ranking. The canary then splits
 * the chosen region's viewers onto its canaryOrigin — the affinity region's as well, so a canary viewer who writes
 * stays on the canary. Reads nothing but its arguments: the request time is facts.now.
 */
export function pick(plan: Plan, facts: Facts, ctx?: PickContext): Decision {
  const c = ctx || NO_CONTEXT;
  const table = plan.table;
  const keys = c.keys;
  let trace: string[] | undefined;
  TRACE: trace = c.trace ? [] : undefined;
  // the decision, filled in as the steps go
  const d = { serial: plan.serial, stale: c.stale === true, authorised: false, trace: trace || NO_TRACE } as {
    -readonly [K in keyof DecisionBase]: DecisionBase[K];
  } & { reason: Reason; error?: string };
  try {
    if (plan.error !== undefined) throw new Error(plan.error);
    const now = nowOf(facts);
    const headers = facts.headers || NONE;
    const cookies = facts.cookies || NONE;
    TRACE: if (d.stale) trace?.push('doc: last known good, older than maxStaleSeconds');
    decided: {
      // 1. an override, honoured only for an authorised viewer (allowCidrs, or a token for it), and only if configured
      const ip = table.needsIp ? parseIp(facts.ip) : null;
      const allowed = matchCidr(table.allow, ip) !== undefined;
      const header = headers[OVERRIDE_HEADER];
      const requested = header === undefined ? cookies[OVERRIDE_COOKIE] : header;
      const token = headers[TOKEN_HEADER];
      const asked = typeof requested === 'string';
      const to = asked && TARGET_ID.test(requested) ? targetOf(table, requested) : undefined;
      // a token: for the target asked for; without an override asked for, any valid token shows the viewer its trace
      const t =
        token === undefined || (asked && (!to || allowed))
          ? undefined
          : checkSigned(
              TOKEN_KIND,
              token,
              now,
              keys,
              table.maxTokenTtlSeconds,
              asked ? requested : undefined,
            );
      const honoured = !!to && (allowed || (t !== undefined && t.ok));
      d.authorised = honoured || allowed || (!asked && t !== undefined && t.ok);
      if (asked) {
        OUTCOME: {
          const why = !to
            ? 'not configured'
            : allowed
              ? 'allowCidrs'
              : t === undefined
                ? 'no token, not in allowCidrs'
                : t.ok
                  ? `token ${t.keyId}`
                  : `token ${refusal(t)}`;
          const shown = requested.slice(0, 64);
          TRACE: trace?.push(
            `override: ${JSON.stringify(shown)} ${honoured ? 'honoured' : 'ignored'} (${why})`,
          );
          d.override = { requested: shown, from: header === undefined ? 'cookie' : 'header', honoured, why };
        }
        if (honoured) {
          d.target = to;
          d.reason = 'override';
          break decided;
        }
      }
      // 2. a network route
      const net = matchCidr(table.networks, ip);
      const routed = net === undefined ? undefined : targetOf(table, table.networkRoutes[net]);
      if (routed) {
        TRACE: trace?.push(`network: ${table.words?.routes[net as number]} → ${routed.id}`);
        d.target = routed;
        d.reason = 'network';
        break decided;
      }
      // 3. affinity, else the walk of the viewer's ranking
      const at = c.at || place(table, facts, trace);
      const walk = plan.walks[at.ranking] || fallbackWalk(table, at.ranking);
      TRACE: d.plan = trace && walk.says;
      const regions = table.regions;
      // the stable viewer key for dials and canaries: config sticky cookie, else header, else the IP
      const s = table.sticky;
      let key: unknown = s.cookie === undefined ? undefined : cookies[s.cookie];
      if (typeof key !== 'string' && s.header !== undefined) key = headers[s.header];
      if (typeof key !== 'string') key = facts.ip;
      const viewer = typeof key === 'string' ? key.slice(0, 256) : '';
      let chosen = table.affinity ? affinity(d, facts, table, walk, at.ranking, keys, trace) : -1;
      let why: WalkReason | 'affinity' = 'affinity';
      if (chosen < 0) {
        const steps = walk.s;
        let step = steps[steps.length - 1];
        for (let k = 0; k < steps.length; k++) {
          step = steps[k];
          const keep = step[1];
          if (keep >= KEEP_ALL) break;
          // bucket(`dial:<region>:<key>`), the prefix's hash planned (shared/walk.ts)
          const b = bucket(viewer, step[3]);
          TRACE: trace?.push(
            `${regions[step[0]]}: dial ${keep / 100}, bucket ${b}, ${b < keep ? 'kept' : 'spill'}`,
          );
          if (b < keep) break;
        }
        chosen = step[0];
        why = step[2];
      }
      const id = regions[chosen];
      // a viewer who could not be placed is `no-geo`, whatever the step
      d.reason = why === 'affinity' || at.placed ? why : 'no-geo';
      d.target = region(id);
      TRACE: trace?.push(`chose ${id} (${d.reason})`);
      const n = walk.n;
      const next = regions[n[0] !== chosen ? n[0] : n[1]];
      d.next = next === undefined ? undefined : region(next);
      // 4. the canary: the threshold at facts.now is that of the last schedule step whose time has passed
      const canary = walk.c;
      if (
        canary &&
        why !== 'fail-open' &&
        table.canaries.indexOf(chosen) >= 0 &&
        canary.r.indexOf(chosen) >= 0
      ) {
        const times = canary.t || [];
        let k = canary.p;
        for (let i = 0; i < times.length && times[i] <= now; i += 2) k = times[i + 1];
        const b = bucket(viewer, canary.h);
        if (b < k) {
          TRACE: trace?.push(`canary: bucket ${b} < ${k} (${k / 100}%): ${id} canary`);
          d.reason = 'canary';
          // a failed canary request is retried on the region's stable origin
          d.next = d.target;
        }
      }
    }
    // the affinity cookie the response sets: for a region target, on a write (or always), with keys loaded
    const a = table.affinity;
    if (a && keys && d.target.kind === 'region' && answeredWithCookie(a, facts)) {
      try {
        d.setAffinity = mintSigned(AFFINITY_KIND, keys, d.target.id, Math.floor(now / 1000) + a.ttlSeconds);
      } catch (_) {
        // no current key: no cookie; the request is routed all the same
      }
    }
  } catch (e) {
    const fb = table.regions[table.fallback];
    TRACE: trace?.push(`error: routing failed; fallback ${fb}`);
    d.target = region(fb);
    d.reason = 'error';
    d.authorised = false;
    d.next = undefined;
    d.setAffinity = undefined;
    d.error = e instanceof Error ? e.message : String(e);
  }
  return d as Decision;
}

/** Whether the response to this request carries the affinity cookie: every one, or (by default) writes. */
function answeredWithCookie(a: AffinityTable, facts: Facts): boolean {
  return a.after === 'always' || WRITES.test(String(facts.method));
}

/** Whether routing this request needs the signing keys: a token, an affinity value to check, or a cookie to issue. */
export function needsKeys(facts: Facts, table: RouteTable): boolean {
  const h = facts.headers || NONE;
  const a = table.affinity;
  return (
    h[TOKEN_HEADER] !== undefined ||
    (!!a &&
      (answeredWithCookie(a, facts) ||
        (facts.cookies || NONE)[a.cookie] !== undefined ||
        (a.header !== undefined && h[a.header] !== undefined)))
  );
}

/** The decision when routing itself failed: the fallback region, reason `error`, and why. */
export function errorDecision(table: RouteTable, error: unknown): Decision {
  return pick(
    { table, serial: null, walks: [], error: error instanceof Error ? error.message : String(error) },
    {},
  );
}

/** Where the viewer is ranked: by latitude/longitude (its nearest anchor), else by country, else from the fallback. */
export function place(table: RouteTable, facts: Facts, trace?: string[]): Placement {
  let country = facts.country;
  let r = typeof country === 'string' ? table.byCountry.get(country) : undefined;
  // CloudFront sends upper case: no copy on the hot path
  if (r === undefined && typeof country === 'string') {
    country = country.toUpperCase();
    r = table.byCountry.get(country);
  }
  const lat = facts.lat;
  const lon = facts.lon;
  if (typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    const anchor = nearestAnchor(lat, lon, table.anchors());
    TRACE: trace?.push(table.words?.anchors[anchor] as string);
    // the residency group of the viewer's country
    return {
      ranking: num(table.byAnchor[r === undefined ? 0 : num(table.rankings, 3 * r)], anchor),
      placed: true,
    };
  }
  if (r !== undefined) {
    TRACE: trace?.push(table.words?.countries.get(country as string) as string);
    return { ranking: r, placed: true };
  }
  TRACE: trace?.push(
    typeof country === 'string' && country
      ? `geo: unknown country ${JSON.stringify(country.slice(0, 8))}`
      : 'geo: no country, no lat/lon',
  );
  return { ranking: table.noGeo, placed: false };
}

/** Where an affinity value came from: values[0] the cookie, values[1] the home-region header (explain's words). */
const affinitySource = (i: number): 'cookie' | 'header' => (i ? 'header' : 'cookie');

/**
 * The affinity step: the affinity cookie, else the application's home-region header, when it is signed by a current
 * key, unexpired, and names a region that residency allows the viewer and the plan does not exclude (down, pilot).
 * Dials and standby do not apply: a drained (dial 0) region keeps the viewers who wrote there until their cookie
 * ends; mark it down to move them at once. Sets the decision's affinity outcome; returns the region followed, or -1.
 */
function affinity(
  d: { affinity?: AffinityOutcome },
  facts: Facts,
  table: RouteTable,
  walk: Walk,
  ranking: number,
  keys: KeyRing | undefined,
  trace: string[] | undefined,
): number {
  const a = table.affinity as AffinityTable;
  const values = [
    (facts.cookies || NONE)[a.cookie],
    a.header === undefined ? undefined : (facts.headers || NONE)[a.header],
  ];
  const group = num(table.rankings, 3 * ranking) - 1;
  for (let i = 0; i < 2; i++) {
    const value = values[i];
    // the home-region header is read when there is no cookie, or the cookie is not followed
    if (typeof value !== 'string') continue;
    const c = checkSigned(
      AFFINITY_KIND,
      value,
      nowOf(facts),
      keys,
      i ? a.headerMaxTtlSeconds : a.ttlSeconds + CLOCK_SKEW_SECONDS,
    );
    const at = c.ok ? table.regions.indexOf(c.subject) : -1;
    const cause: AffinityCause | undefined = !c.ok
      ? c.cause
      : at < 0
        ? 'unknown-region'
        : group >= 0 && table.residency[group].indexOf(at) < 0
          ? 'residency'
          : walk.x
            ? walk.x[at]
            : undefined;
    // the cookie's outcome stands unless the header is followed
    OUTCOME: if (cause === undefined || !d.affinity)
      d.affinity = { from: affinitySource(i), region: c.subject, honoured: !cause, cause };
    if (cause === undefined) {
      TRACE: trace?.push(`affinity: ${affinitySource(i)} → ${c.subject} (key ${c.ok && c.keyId})`);
      return at;
    }
    TRACE: trace?.push(
      `affinity: ${affinitySource(i)}${c.subject ? ` for ${c.subject}` : ''} ignored (${cause})`,
    );
  }
  return -1;
}
