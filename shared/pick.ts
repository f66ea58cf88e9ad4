// The second stage of the policy: pick(plan, facts) → Decision, once per request. Only what depends on the viewer
// is decided here: an authorised override, a network route, where the viewer is placed, region affinity (the
// value's signature, then its region's place in the plan), the walk's dial buckets and the canary's bucket at
// facts.now. Everything the health document decides was resolved by plan() (shared/plan.ts). Pure: no I/O, no
// globals, never throws. Also built for CloudFront Functions (cloudfront-js-2.0): no for-of, destructuring,
// default parameters, spread or Map; statements labelled TRACE (the explanation, `trace?.push(…)`, which builds no
// words unless asked) are left out of that build.
import { nearestAnchor } from './anchor';
import { bucket } from './hash';
import { TARGET_ID } from './ids';
import { type Ip, matchCidr, parseIp } from './net';
import type { Plan } from './plan';
import type { AffinityTable, Destination, ResolvedOrigin, RouteTable, Target } from './router';
import { AFFINITY_KIND, checkSigned, checkToken, type KeyRing, mintSigned, type SignedCause } from './token';
import { type Excluded, fallbackWalk, KEEP_ALL, type Walk, type WalkReason } from './walk';

/** What a runtime knows about a request. Header and cookie names are lower-case. */
export interface Facts {
  /** ISO 3166-1 alpha-2, as in CloudFront-Viewer-Country */
  readonly country?: string;
  readonly lat?: number;
  readonly lon?: number;
  /** the viewer's address as the runtime reports it (clientIp, event.viewer.ip), never a header */
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
  readonly target: Target;
  readonly origin: ResolvedOrigin;
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
   * chose, the best-ranked other region that is up and active (else a standby); for a canary, the region's stable
   * origin. Absent for overrides, network routes, fail-open and errors.
   */
  readonly next?: Destination;
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

/**
 * Decides where a request goes under a plan. Precedence (README, "How a request is routed"): an authorised override,
 * then a network route, then region affinity (a signed cookie or home-region header naming a region that residency
 * allows the viewer and the plan has not excluded), then the walk of the viewer's ranking. The canary then splits
 * the chosen region's viewers onto its canaryOrigin — the affinity region's as well, so a canary viewer who writes
 * stays on the canary. Reads nothing but its arguments: the request time is facts.now.
 */
export function pick(plan: Plan, facts: Facts, ctx?: PickContext): Decision {
  const c = ctx || NO_CONTEXT;
  const d = decide(plan, facts, c);
  const a = plan.table.affinity;
  if (a && c.keys && d.target.kind === 'region' && d.reason !== 'error' && answeredWithCookie(a, facts)) {
    try {
      (d as { setAffinity?: string }).setAffinity = mintSigned(
        AFFINITY_KIND,
        c.keys,
        d.target.id,
        Math.floor(nowOf(facts) / 1000) + a.ttlSeconds,
      );
    } catch (_) {
      // no current key: no cookie; the request is routed all the same
    }
  }
  return d;
}

const nowOf = (facts: Facts) => (typeof facts.now === 'number' ? facts.now : 0);

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

function decide(plan: Plan, facts: Facts, ctx: PickContext): Decision {
  const table = plan.table;
  const stale = ctx.stale === true;
  let trace: string[] | undefined;
  TRACE: trace = ctx.trace ? [] : undefined;
  // what every decision carries besides its destination, reason and retry (filled in as the steps go)
  const carried: Carried = { serial: plan.serial, stale, authorised: false, trace };
  try {
    if (plan.error !== undefined) throw new Error(plan.error);
    if (stale) {
      TRACE: trace?.push('doc: last known good, older than maxStaleSeconds');
    }
    const ip = table.needsIp ? parseIp(facts.ip) : null;
    const ov = override(facts, ip, table, ctx.keys, trace);
    carried.authorised = ov.authorised;
    carried.override = ov.outcome;
    if (ov.dest) return made(ov.dest, 'override', carried);
    const net = matchCidr(table.networks, ip);
    const route = net === undefined ? undefined : table.networkRoutes[net];
    const dest = route && table.targets.get(route.target);
    if (dest) {
      TRACE: trace?.push(`network: ${route.name} → ${route.target}`);
      return made(dest, 'network', carried);
    }
    const at = ctx.at || place(table, facts, trace);
    const ranking = table.rankings[at.ranking];
    const walk = plan.walks[at.ranking] || fallbackWalk(ranking);
    const regions = table.regions;
    const key = viewerKey(facts, table);
    let chosen = -1;
    let why: WalkReason | 'affinity' = 'affinity';
    let outcome: AffinityOutcome | undefined;
    if (table.affinity) {
      const aff = affinity(facts, table, walk, ranking.group, ctx.keys, trace);
      if (aff) {
        outcome = aff.outcome;
        chosen = aff.at;
      }
    }
    if (chosen < 0) {
      const s = walk.s;
      let step = s[s.length - 1];
      for (let k = 0; k < s.length; k++) {
        step = s[k];
        const keep = step[1];
        if (keep >= KEEP_ALL) break;
        const bucketOf = bucket(key, regions[step[0]].dialSeed); // = bucket(`dial:${id}:${key}`): dials do not correlate
        TRACE: trace?.push(
          `${regions[step[0]].id}: dial ${keep / 100}, bucket ${bucketOf}, ${bucketOf < keep ? 'kept' : 'spill'}`,
        );
        if (bucketOf < keep) break;
      }
      chosen = step[0];
      why = step[2];
    }
    const region = regions[chosen];
    carried.affinity = outcome;
    TRACE: carried.plan = trace && walk.says;
    // a viewer who could not be placed is `no-geo`, whatever the step
    const reason = why === 'affinity' || at.placed ? why : 'no-geo';
    TRACE: trace?.push(`chose ${region.id} (${reason})`);
    const c = walk.c;
    if (c && region.canary && why !== 'fail-open' && c.r.indexOf(chosen) >= 0) {
      // the threshold at facts.now: that of the last schedule step whose time has passed
      const now = nowOf(facts);
      const t = c.t || [];
      let k = c.p;
      for (let i = 0; i < t.length && t[i] <= now; i += 2) k = t[i + 1];
      const bc = bucket(key, c.h);
      if (bc < k) {
        TRACE: trace?.push(`canary: bucket ${bc} < ${k} (${k / 100}%): ${region.id} canary`);
        // a failed canary request is retried on the region's stable origin
        return made(region.canary, 'canary', carried, region);
      }
    }
    const n = walk.n;
    return made(region, reason, carried, regions[n[0] !== chosen ? n[0] : n[1]]);
  } catch (e) {
    const fb = table.regions[table.fallback];
    TRACE: trace?.push(`error: routing failed; fallback ${fb.id}`);
    const d = made(fb, 'error', carried) as { error: string };
    d.error = e instanceof Error ? e.message : String(e);
    return d as Decision;
  }
}

/** What every decision carries besides its destination, reason and retry. */
interface Carried {
  serial: number | null;
  stale: boolean;
  authorised: boolean;
  override?: OverrideOutcome;
  affinity?: AffinityOutcome;
  plan?: readonly string[];
  trace: string[] | undefined;
}

function made(dest: Destination, reason: Reason, c: Carried, next?: Destination): Decision {
  return {
    target: dest.target,
    origin: dest.origin,
    reason,
    serial: c.serial,
    stale: c.stale,
    authorised: c.authorised,
    override: c.override,
    affinity: c.affinity,
    next,
    plan: c.plan,
    trace: c.trace || NO_TRACE,
  } as Decision;
}

/** The decision when routing itself failed: the fallback region, reason `error`, and why. */
export function errorDecision(table: RouteTable, error: unknown): Decision {
  return decide(
    { table, serial: null, walks: [], error: error instanceof Error ? error.message : String(error) },
    {},
    {},
  );
}

interface OverrideStep {
  readonly dest?: Destination;
  readonly authorised: boolean;
  readonly outcome?: OverrideOutcome;
}

/** The override step: a requested target is honoured only for an authorised viewer, and only if configured. */
function override(
  facts: Facts,
  ip: Ip | null,
  table: RouteTable,
  keys: KeyRing | undefined,
  trace: string[] | undefined,
): OverrideStep {
  const h = facts.headers || NONE;
  const header = h[OVERRIDE_HEADER];
  const token = h[TOKEN_HEADER];
  const requested = header === undefined ? (facts.cookies || NONE)[OVERRIDE_COOKIE] : header;
  const allowed = matchCidr(table.allow, ip) === true;
  const check = (target?: string) =>
    token === undefined ? undefined : checkToken(token, target, nowOf(facts), keys, table.maxTokenTtlSeconds);
  // no override asked for: a token may still show the viewer its trace
  if (typeof requested !== 'string') {
    const t = check();
    return { authorised: allowed || (t !== undefined && t.ok) };
  }
  const from = header === undefined ? 'cookie' : 'header';
  const dest = TARGET_ID.test(requested) ? table.targets.get(requested) : undefined;
  const t = dest && !allowed ? check(requested) : undefined;
  const why = !dest
    ? 'not configured'
    : allowed
      ? 'allowCidrs'
      : !t
        ? 'no token, not in allowCidrs'
        : t.ok
          ? `token ${t.keyId}`
          : `token ${t.why}`;
  const honoured = !!dest && (allowed || (t !== undefined && t.ok));
  const shown = requested.slice(0, 64);
  TRACE: trace?.push(`override: ${JSON.stringify(shown)} ${honoured ? 'honoured' : 'ignored'} (${why})`);
  return {
    dest: honoured ? dest : undefined,
    authorised: honoured || allowed,
    outcome: { requested: shown, from, honoured, why },
  };
}

/** The stable viewer key for dials and canaries: config sticky cookie, else header, else the IP (at most 256 chars). */
function viewerKey(facts: Facts, table: RouteTable): string {
  const cookie = table.sticky.cookie;
  const header = table.sticky.header;
  let key: unknown;
  if (cookie !== undefined && facts.cookies) key = facts.cookies[cookie];
  if (typeof key !== 'string' && header !== undefined && facts.headers) key = facts.headers[header];
  if (typeof key !== 'string') key = facts.ip;
  return typeof key === 'string' ? (key.length > 256 ? key.slice(0, 256) : key) : '';
}

/** Where the viewer is ranked: by latitude/longitude (its nearest anchor), else by country, else from the fallback. */
export function place(table: RouteTable, facts: Facts, trace?: string[]): Placement {
  let country = facts.country;
  let byCountry = typeof country === 'string' ? table.byCountry.get(country) : undefined;
  // CloudFront sends upper case: no copy on the hot path
  if (!byCountry && typeof country === 'string') {
    country = country.toUpperCase();
    byCountry = table.byCountry.get(country);
  }
  const lat = facts.lat;
  const lon = facts.lon;
  if (typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    const anchor = nearestAnchor(lat, lon, table.anchors);
    TRACE: trace?.push(table.anchorGeo[anchor]);
    const group = byCountry ? table.rankings[byCountry.ranking].group : -1;
    return { ranking: table.byAnchor[group + 1][anchor], placed: true };
  }
  if (byCountry) {
    TRACE: trace?.push(byCountry.geo);
    return { ranking: byCountry.ranking, placed: true };
  }
  TRACE: trace?.push(
    typeof country === 'string' && country
      ? `geo: unknown country ${JSON.stringify(country.slice(0, 8))}`
      : 'geo: no country, no lat/lon',
  );
  return { ranking: table.noGeo, placed: false };
}

interface AffinityStep {
  /** the region followed (index), or -1 */
  readonly at: number;
  readonly outcome: AffinityOutcome;
}

/**
 * The affinity step: the affinity cookie, else the application's home-region header, when it is signed by a current
 * key, unexpired, and names a region that residency allows the viewer and the plan does not exclude (down, pilot).
 * Dials and standby do not apply: a drained (dial 0) region keeps the viewers who wrote there until their cookie
 * ends; mark it down to move them at once.
 */
function affinity(
  facts: Facts,
  table: RouteTable,
  walk: Walk,
  group: number,
  keys: KeyRing | undefined,
  trace: string[] | undefined,
): AffinityStep | undefined {
  const a = table.affinity as AffinityTable;
  const cookie = facts.cookies ? facts.cookies[a.cookie] : undefined;
  const home = a.header !== undefined && facts.headers ? facts.headers[a.header] : undefined;
  let first: AffinityStep | undefined;
  if (typeof cookie === 'string') {
    first = affinityOf(
      cookie,
      'cookie',
      a.ttlSeconds + CLOCK_SKEW_SECONDS,
      facts,
      table,
      walk,
      group,
      keys,
      trace,
    );
    if (first.at >= 0) return first;
  }
  if (typeof home === 'string') {
    const h = affinityOf(home, 'header', a.headerMaxTtlSeconds, facts, table, walk, group, keys, trace);
    if (h.at >= 0 || !first) return h;
  }
  return first;
}

function affinityOf(
  value: string,
  from: 'cookie' | 'header',
  maxTtlSeconds: number,
  facts: Facts,
  table: RouteTable,
  walk: Walk,
  group: number,
  keys: KeyRing | undefined,
  trace: string[] | undefined,
): AffinityStep {
  const c = checkSigned(AFFINITY_KIND, value, nowOf(facts), keys, maxTtlSeconds);
  if (!c.ok) return unfollowed(from, c.subject, c.cause, trace);
  const region = c.subject;
  const regions = table.regions;
  let at = -1;
  for (let i = 0; i < regions.length; i++) {
    if (regions[i].id === region) {
      at = i;
      break;
    }
  }
  if (at < 0) return unfollowed(from, region, 'unknown-region', trace);
  if (group >= 0 && table.residency[group].indexOf(at) < 0)
    return unfollowed(from, region, 'residency', trace);
  const x = walk.x ? walk.x[at] : undefined;
  if (x) return unfollowed(from, region, x, trace);
  TRACE: trace?.push(`affinity: ${from} → ${region} (key ${c.keyId})`);
  return { at, outcome: { from, region, honoured: true } };
}

function unfollowed(
  from: 'cookie' | 'header',
  region: string | undefined,
  cause: AffinityCause,
  trace: string[] | undefined,
): AffinityStep {
  TRACE: trace?.push(`affinity: ${from}${region ? ` for ${region}` : ''} ignored (${cause})`);
  return { at: -1, outcome: { from, region, honoured: false, cause } };
}
