// The routing policy: route(facts, doc, router) → Decision. Pure: no I/O, no globals, never throws.
import { nearestAnchor } from './anchor';
import { bucket, fnv1a32 } from './hash';
import { TARGET_ID } from './ids';
import { type Ip, matchCidr, parseIp } from './net';
import { hasOwn } from './own';
import type {
  AffinityTable,
  CountryRoute,
  Destination,
  Ranking,
  ResolvedOrigin,
  RouteRegion,
  RouteTable,
  Target,
} from './router';
import type { HealthDoc } from './schema';
import { AFFINITY_KIND, checkSigned, checkToken, type KeyRing, mintSigned, type SignedCause } from './token';

/** What a runtime knows about a request. Header and cookie names are lower-case. */
export interface Facts {
  /** ISO 3166-1 alpha-2, as in CloudFront-Viewer-Country */
  readonly country?: string;
  readonly lat?: number;
  readonly lon?: number;
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
export type AffinityCause = SignedCause | 'unknown-region' | 'region-down' | 'region-pilot' | 'residency';

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

/** What a runtime passes besides the facts. */
export interface RouteContext {
  /** the document is a last-known-good copy older than maxStaleSeconds: still used, and the decision says so */
  readonly stale?: boolean;
  /** signing keys for x-route-token and affinity values; without them none is valid, and no cookie is issued */
  readonly keys?: KeyRing;
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
   * Where to retry this request if the chosen origin fails (an origin group in CloudFront Functions): for a
   * geographic choice, the best-ranked other region that is up and active (else a standby); for a canary, the
   * region's stable origin. Absent for overrides, network routes, fail-open and errors.
   */
  readonly next?: Destination;
  /** the steps taken, in order, in words */
  readonly trace: readonly string[];
}
export type Decision =
  | (DecisionBase & { readonly reason: Exclude<Reason, 'error'> })
  | (DecisionBase & { readonly reason: 'error'; readonly error: string });

/** The health document as routing reads it: possibly absent, possibly not validated. */
export type DocInput = HealthDoc | null | undefined;

/**
 * Decides where a request goes. Precedence (README, "How a request is routed"): an authorised override, then a
 * network route, then region affinity (a signed cookie or home-region header naming a region that is up, not a
 * pilot, and allowed to the viewer by residency), then geography (residency, latency ranking, health, dials,
 * standby). The canary then splits the chosen region's viewers onto its canaryOrigin — the affinity region's as
 * well, so a canary viewer who writes stays on the canary. Reads nothing but its arguments: the request time is
 * facts.now.
 */
export function route(facts: Facts, doc: DocInput, router: RouteTable, ctx?: RouteContext): Decision {
  const d = routed(facts, doc, router, ctx);
  const a = router.affinity;
  const keys = ctx === undefined ? undefined : ctx.keys;
  if (a && keys && d.target.kind === 'region' && d.reason !== 'error' && answeredWithCookie(a, facts)) {
    const now = typeof facts.now === 'number' ? facts.now : 0;
    try {
      (d as { setAffinity?: string }).setAffinity = mintSigned(
        AFFINITY_KIND,
        keys,
        d.target.id,
        Math.floor(now / 1000) + a.ttlSeconds,
      );
    } catch (_) {
      // no current key: no cookie; the request is routed all the same
    }
  }
  return d;
}

/** Whether the response to this request carries the affinity cookie: every one, or (by default) writes. */
function answeredWithCookie(a: AffinityTable, facts: Facts): boolean {
  return a.after === 'always' || (typeof facts.method === 'string' && WRITES.test(facts.method));
}

/** Whether routing this request needs the signing keys: a token, an affinity value to check, or a cookie to issue. */
export function needsKeys(facts: Facts, router: RouteTable): boolean {
  const headers = facts.headers;
  if (headers && headers[TOKEN_HEADER] !== undefined) return true;
  const a = router.affinity;
  if (!a) return false;
  return (
    answeredWithCookie(a, facts) ||
    (facts.cookies !== undefined && facts.cookies[a.cookie] !== undefined) ||
    (a.header !== undefined && headers !== undefined && headers[a.header] !== undefined)
  );
}

function routed(facts: Facts, doc: DocInput, router: RouteTable, ctx?: RouteContext): Decision {
  const trace: string[] = [];
  let serial: number | null = null;
  const stale = ctx !== undefined && ctx.stale === true;
  try {
    serial = doc && typeof doc.serial === 'number' ? doc.serial : null;
    if (stale) {
      TRACE: trace.push('doc: last known good, older than maxStaleSeconds');
    }
    const ip = router.needsIp ? parseIp(facts.ip) : null;
    const ov = override(facts, ip, router, ctx === undefined ? undefined : ctx.keys, trace);
    if (ov.dest) return made(ov.dest, 'override', serial, stale, ov, trace);
    const net = matchCidr(router.networks, ip);
    if (net !== undefined) {
      const r = router.networkRoutes[net];
      const dest = r && router.targets.get(r.target);
      if (dest) {
        TRACE: trace.push(`network: ${r.name} → ${r.target}`);
        return made(dest, 'network', serial, stale, ov, trace);
      }
    }
    const key = viewerKey(facts, router);
    const ranking = place(facts, router, trace);
    const aff = router.affinity
      ? affinity(facts, doc, router, ranking || router.noGeo, ctx === undefined ? undefined : ctx.keys, trace)
      : undefined;
    let d: Pick | NoGeoPick | AffinityPick;
    if (aff?.pick) {
      d = aff.pick;
    } else {
      const pick = choose(ranking || router.noGeo, key, doc, router, trace);
      d = ranking ? pick : { dest: pick.dest, reason: 'no-geo', next: pick.next };
    }
    const outcome = aff ? aff.outcome : undefined;
    const canary = d.reason === 'fail-open' ? undefined : canaryFor(d.dest, key, facts, doc, trace);
    // a failed canary request is retried on the region's stable origin
    if (canary) return made(canary, 'canary', serial, stale, ov, trace, d.dest, outcome);
    return made(d.dest, d.reason, serial, stale, ov, trace, d.next, outcome);
  } catch (e) {
    return errorDecision(router, e, serial, stale, trace);
  }
}

function made(
  dest: Destination,
  reason: Exclude<Reason, 'error'>,
  serial: number | null,
  stale: boolean,
  ov: OverrideStep,
  trace: string[],
  next?: Destination,
  affinity?: AffinityOutcome,
): Decision {
  return {
    target: dest.target,
    origin: dest.origin,
    reason,
    serial,
    stale,
    authorised: ov.authorised,
    override: ov.outcome,
    affinity,
    next,
    trace,
  };
}

interface OverrideStep {
  readonly dest?: Destination;
  readonly authorised: boolean;
  readonly outcome?: OverrideOutcome;
}
const PUBLIC: OverrideStep = Object.freeze({ authorised: false });
const AUTHORISED: OverrideStep = Object.freeze({ authorised: true });

/** The override step: a requested target is honoured only for an authorised viewer, and only if configured. */
function override(
  facts: Facts,
  ip: Ip | null,
  router: RouteTable,
  keys: KeyRing | undefined,
  trace: string[],
): OverrideStep {
  const headers = facts.headers;
  const header = headers?.[OVERRIDE_HEADER];
  const cookie = facts.cookies?.[OVERRIDE_COOKIE];
  const token = headers?.[TOKEN_HEADER];
  const allowed = matchCidr(router.allow, ip) === true;
  const requested = typeof header === 'string' ? header : typeof cookie === 'string' ? cookie : undefined;
  const now = typeof facts.now === 'number' ? facts.now : 0;
  if (requested === undefined) {
    // no override asked for: a token may still show the viewer its trace
    const authorised =
      allowed ||
      (token !== undefined && checkToken(token, undefined, now, keys, router.maxTokenTtlSeconds).ok);
    return authorised ? AUTHORISED : PUBLIC;
  }
  const from = typeof header === 'string' ? 'header' : 'cookie';
  const dest = TARGET_ID.test(requested) ? router.targets.get(requested) : undefined;
  if (!dest) return ignored(requested, from, 'not a configured region or environment', allowed, trace);
  if (allowed) {
    TRACE: trace.push(`override: ${requested} (viewer in override.allowCidrs)`);
    return { dest, authorised: true, outcome: { requested, from, honoured: true, why: 'allowCidrs' } };
  }
  if (token === undefined) {
    return ignored(requested, from, 'unauthorised: no token and not in override.allowCidrs', false, trace);
  }
  const t = checkToken(token, requested, now, keys, router.maxTokenTtlSeconds);
  if (!t.ok) return ignored(requested, from, `unauthorised: token ${t.why}`, false, trace);
  TRACE: trace.push(`override: ${requested} (token, key ${t.keyId})`);
  return { dest, authorised: true, outcome: { requested, from, honoured: true, why: `token ${t.keyId}` } };
}

/** The decision when routing itself failed: the fallback region, reason `error`, and why. */
export function errorDecision(
  router: RouteTable,
  error: unknown,
  serial?: number | null,
  stale?: boolean,
  trace?: string[],
): Decision {
  const fb = router.regions[router.fallback];
  const steps = trace || [];
  TRACE: steps.push(`error: routing failed; fallback ${fb.id}`);
  return {
    target: fb.target,
    origin: fb.origin,
    reason: 'error',
    error: error instanceof Error ? error.message : String(error),
    serial: serial === undefined ? null : serial,
    stale: stale === true,
    authorised: false,
    trace: steps,
  };
}

function ignored(
  requested: string,
  from: 'header' | 'cookie',
  why: string,
  authorised: boolean,
  trace: string[],
): OverrideStep {
  const shown = requested.slice(0, 64);
  TRACE: trace.push(`override: ${JSON.stringify(shown)} ignored (${why})`);
  return { authorised, outcome: { requested: shown, from, honoured: false, why } };
}

/** The stable viewer key for dials and canaries: config sticky cookie, else header, else the IP (at most 256 chars). */
function viewerKey(facts: Facts, router: RouteTable): string {
  const cookie = router.sticky.cookie;
  const header = router.sticky.header;
  let key: unknown;
  if (cookie !== undefined) key = facts.cookies?.[cookie];
  if (typeof key !== 'string' && header !== undefined) key = facts.headers?.[header];
  if (typeof key !== 'string') key = facts.ip;
  return typeof key === 'string' ? (key.length > 256 ? key.slice(0, 256) : key) : '';
}

// Computed once per document, not per request: the canary seed's hash state and the schedule's times. A
// one-entry memo keyed by identity, not a WeakMap: the CloudFront Functions runtime has no WeakMap.
let seedOf: object | undefined;
let seedState = 0;
let timesOf: object | undefined;
let times: number[] = [];

/** The canary percent at `now`: the last schedule step whose time has passed, else canary.percent. */
export function canaryPercent(canary: NonNullable<HealthDoc['canary']>, now: number): number {
  let pct = canary.percent;
  const steps = canary.schedule;
  if (Array.isArray(steps) && steps.length) {
    if (timesOf !== steps) {
      times = steps.map((s) => Date.parse(s.at));
      timesOf = steps;
    }
    for (let i = 0; i < times.length && times[i] <= now; i++) pct = steps[i].percent;
  }
  return pct;
}

/**
 * The canary step: a viewer whose region is in the canary goes to its canaryOrigin when
 * FNV-1a("canary:<seed>:<key>") mod 10000 < percent × 100 — sticky, monotonic in the percent, and independent
 * of the dial's per-region buckets.
 */
function canaryFor(
  dest: Destination,
  key: string,
  facts: Facts,
  doc: DocInput,
  trace: string[],
): Destination | undefined {
  const canary = doc?.canary;
  const r = dest as RouteRegion;
  if (!r.canary || typeof canary !== 'object' || canary === null) return undefined;
  if (Array.isArray(canary.regions) && !canary.regions.includes(r.id)) return undefined;
  // without a request time no schedule step has passed: the base percent
  const pct = canaryPercent(canary, typeof facts.now === 'number' ? facts.now : 0);
  if (!(typeof pct === 'number' && pct > 0)) return undefined;
  const h = healthOf(doc, r.id);
  if (h.status === 'down' || h.canaryStatus === 'down') {
    TRACE: trace.push(`canary: ${r.id} canary down, none sent`);
    return undefined;
  }
  if (seedOf !== canary) {
    seedState = fnv1a32(`canary:${typeof canary.seed === 'string' ? canary.seed : ''}:`);
    seedOf = canary;
  }
  const b = bucket(key, seedState);
  const threshold = Math.round(pct * 100);
  if (b >= threshold) return undefined;
  TRACE: trace.push(`canary: bucket ${b} < ${threshold} (${pct}%): ${r.id} canary`);
  return r.canary;
}

/** Where the viewer is, as a ranking of candidate regions; undefined when it cannot be placed (no geography). */
function place(facts: Facts, router: RouteTable, trace: string[]): Ranking | undefined {
  let country = facts.country;
  let byCountry: CountryRoute | undefined;
  if (typeof country === 'string') {
    byCountry = router.byCountry.get(country); // CloudFront sends upper case: no copy on the hot path
    if (!byCountry) {
      country = country.toUpperCase();
      byCountry = router.byCountry.get(country);
    }
  } else {
    country = undefined;
  }
  const lat = facts.lat;
  const lon = facts.lon;
  if (typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    const anchor = nearestAnchor(lat, lon, router.anchors);
    TRACE: trace.push(router.anchorGeo[anchor]);
    return router.byAnchor[(byCountry ? byCountry.group : -1) + 1][anchor];
  }
  if (byCountry) {
    TRACE: trace.push(byCountry.geo);
    return byCountry.ranking;
  }
  TRACE: trace.push(
    country ? `geo: unknown country ${JSON.stringify(country.slice(0, 8))}` : 'geo: no country, no lat/lon',
  );
  return undefined;
}

interface AffinityPick {
  readonly dest: Destination;
  readonly reason: 'affinity';
  readonly next?: Destination;
}
interface AffinityStep {
  /** present when the value is followed */
  readonly pick?: AffinityPick;
  readonly outcome: AffinityOutcome;
}

/**
 * The affinity step: the affinity cookie, else the application's home-region header, when it is signed by a current
 * key, unexpired, and names a region that is among the viewer's candidates (residency), up and not a pilot. Dials
 * and standby do not apply: a drained (dial 0) region keeps the viewers who wrote there until their cookie ends;
 * mark it down to move them at once.
 */
function affinity(
  facts: Facts,
  doc: DocInput,
  router: RouteTable,
  ranking: Ranking,
  keys: KeyRing | undefined,
  trace: string[],
): AffinityStep | undefined {
  const a = router.affinity as AffinityTable;
  const cookie = facts.cookies ? facts.cookies[a.cookie] : undefined;
  const home = a.header !== undefined && facts.headers ? facts.headers[a.header] : undefined;
  let first: AffinityStep | undefined;
  if (typeof cookie === 'string') {
    first = affinityOf(
      cookie,
      'cookie',
      a.ttlSeconds + CLOCK_SKEW_SECONDS,
      facts,
      doc,
      router,
      ranking,
      keys,
      trace,
    );
    if (first.pick) return first;
  }
  if (typeof home === 'string') {
    const h = affinityOf(home, 'header', a.headerMaxTtlSeconds, facts, doc, router, ranking, keys, trace);
    if (h.pick || !first) return h;
  }
  return first;
}

function affinityOf(
  value: string,
  from: 'cookie' | 'header',
  maxTtlSeconds: number,
  facts: Facts,
  doc: DocInput,
  router: RouteTable,
  ranking: Ranking,
  keys: KeyRing | undefined,
  trace: string[],
): AffinityStep {
  const c = checkSigned(
    AFFINITY_KIND,
    value,
    typeof facts.now === 'number' ? facts.now : 0,
    keys,
    maxTtlSeconds,
  );
  if (!c.ok) return unfollowed(from, c.subject, c.cause, c.why, trace);
  const region = c.subject;
  const order = ranking.order;
  let at = -1;
  for (let i = 0; i < order.length; i++) {
    if (router.regions[order[i]].id === region) {
      at = order[i];
      break;
    }
  }
  if (at < 0) {
    const t = router.targets.get(region);
    return t && t.target.kind === 'region'
      ? unfollowed(from, region, 'residency', `${region} is not among this viewer's regions`, trace)
      : unfollowed(from, region, 'unknown-region', `${region} is not a configured region`, trace);
  }
  const h = healthOf(doc, region);
  if (h.status === 'down') return unfollowed(from, region, 'region-down', `${region} is down`, trace);
  if (h.role === 'pilot') return unfollowed(from, region, 'region-pilot', `${region} is a pilot`, trace);
  const r = router.regions[at];
  TRACE: trace.push(`affinity: ${from} → ${region} (key ${c.keyId})`);
  return {
    pick: { dest: r, reason: 'affinity', next: nextAfter(order, at, doc, router) },
    outcome: { from, region, honoured: true },
  };
}

function unfollowed(
  from: 'cookie' | 'header',
  region: string | undefined,
  cause: AffinityCause,
  why: string,
  trace: string[],
): AffinityStep {
  TRACE: trace.push(`affinity: ${from} ignored (${why})`);
  return { outcome: { from, region, honoured: false, cause } };
}

interface Pick {
  readonly dest: Destination;
  readonly reason: 'nearest' | 'failover' | 'dial-spill' | 'standby' | 'fail-open';
  readonly next?: Destination;
}
interface NoGeoPick {
  readonly dest: Destination;
  readonly reason: 'no-geo';
  readonly next?: Destination;
}

const UP = { status: 'up' } as const;

/** A region's health from the doc; a region missing from it (or any doc problem) reads as up, active, dial 100. */
function healthOf(
  doc: DocInput,
  id: string,
): { status?: unknown; role?: unknown; dial?: unknown; canaryStatus?: unknown } {
  const regions = doc?.regions;
  if (typeof regions !== 'object' || regions === null || !hasOwn(regions, id)) return UP;
  const h = regions[id];
  return typeof h === 'object' && h !== null ? h : UP;
}

function choose(ranking: Ranking, key: string, doc: DocInput, router: RouteTable, trace: string[]): Pick {
  TRACE: trace.push(ranking.text);
  const order = ranking.order;
  let nearest = -1; // best-ranked active region, whatever its health
  let nearestDown = false;
  let firstSpilled = -1;
  let firstStandby = -1;
  for (let i = 0; i < order.length; i++) {
    const r = router.regions[order[i]];
    const h = healthOf(doc, r.id);
    if (h.role === 'pilot') {
      TRACE: trace.push(`${r.id}: pilot, skipped`);
      continue;
    }
    const up = h.status !== 'down';
    if (h.role === 'standby') {
      if (up && firstStandby < 0) firstStandby = order[i];
      TRACE: trace.push(`${r.id}: standby${up ? '' : ', down'}, held back`);
      continue;
    }
    if (nearest < 0) {
      nearest = order[i];
      nearestDown = !up;
    }
    if (!up) {
      TRACE: trace.push(r.says.down);
      continue;
    }
    const dial = typeof h.dial === 'number' ? h.dial : 100;
    if (dial < 100) {
      const b = bucket(key, r.dialSeed); // = bucket(`dial:${id}:${key}`), per region so dials do not correlate
      if (b >= Math.round(dial * 100)) {
        TRACE: trace.push(`${r.id}: dial ${dial}, bucket ${b}, spill`);
        if (firstSpilled < 0) firstSpilled = order[i];
        continue;
      }
      TRACE: trace.push(`${r.id}: dial ${dial}, bucket ${b}, kept`);
    }
    TRACE: trace.push(r.says.chose);
    return {
      dest: r,
      reason: order[i] === nearest ? 'nearest' : nearestDown ? 'failover' : 'dial-spill',
      next: nextAfter(order, order[i], doc, router),
    };
  }
  if (firstSpilled >= 0) {
    // every up active candidate spilled: a dial cannot send traffic nowhere, so the first one keeps it
    const r = router.regions[firstSpilled];
    TRACE: trace.push(`every up candidate spilled; chose ${r.id}, dial ignored`);
    return {
      dest: r,
      reason: firstSpilled === nearest ? 'nearest' : 'failover',
      next: nextAfter(order, firstSpilled, doc, router),
    };
  }
  if (firstStandby >= 0) {
    const r = router.regions[firstStandby];
    TRACE: trace.push(`no active candidate up; chose standby ${r.id}`);
    return { dest: r, reason: 'standby', next: nextAfter(order, firstStandby, doc, router) };
  }
  // Nothing up: fail open to the best-ranked candidate regardless of health (as Route 53 and Global
  // Accelerator do), preferring one that is not a pilot light.
  let open = order[0];
  for (let i = 0; i < order.length; i++) {
    if (healthOf(doc, router.regions[order[i]].id).role !== 'pilot') {
      open = order[i];
      break;
    }
  }
  const r = router.regions[open];
  TRACE: trace.push(`nothing up; fail open to ${r.id}`);
  return { dest: r, reason: 'fail-open' };
}

/** The retry for a chosen region: the best-ranked other region up and active (dials aside), else one in standby. */
function nextAfter(
  order: readonly number[],
  chosen: number,
  doc: DocInput,
  router: RouteTable,
): Destination | undefined {
  let standby: Destination | undefined;
  for (let i = 0; i < order.length; i++) {
    if (order[i] === chosen) continue;
    const r = router.regions[order[i]];
    const h = healthOf(doc, r.id);
    if (h.status === 'down' || h.role === 'pilot') continue;
    if (h.role !== 'standby') return r;
    if (!standby) standby = r;
  }
  return standby;
}
