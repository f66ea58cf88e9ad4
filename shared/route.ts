// The routing policy: route(facts, doc, router) → Decision. Pure: no I/O, no globals, never throws.
import { nearestAnchor } from './geo';
import { bucket } from './hash';
import type { CountryRoute, Destination, Ranking, ResolvedOrigin, Router, Target } from './router';
import type { HealthDoc } from './schema';

/** What a runtime knows about a request. Header and cookie names are lower-case. */
export interface Facts {
  /** ISO 3166-1 alpha-2, as in CloudFront-Viewer-Country */
  readonly country?: string;
  readonly lat?: number;
  readonly lon?: number;
  readonly ip?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: Readonly<Record<string, string>>;
  /** Request time, ms since the epoch */
  readonly now?: number;
}

export type Reason = 'nearest' | 'failover' | 'dial-spill' | 'standby' | 'fail-open' | 'no-geo' | 'error';

interface DecisionBase {
  readonly target: Target;
  readonly origin: ResolvedOrigin;
  /** serial of the health document the decision used; null when there was none */
  readonly serial: number | null;
  /** the document is a last-known-good copy older than the config's maxStaleSeconds (set by the runtime) */
  readonly stale: boolean;
  /** the steps taken, in order, in words */
  readonly trace: readonly string[];
}
export type Decision =
  | (DecisionBase & { readonly reason: Exclude<Reason, 'error'> })
  | (DecisionBase & { readonly reason: 'error'; readonly error: string });

/** The health document as routing reads it: possibly absent, possibly not validated. */
export type DocInput = HealthDoc | null | undefined;

/**
 * Decides where a request goes. `docStale` is the runtime's word that `doc` is a last-known-good copy older
 * than maxStaleSeconds: it is still used (static stability), and the decision says so.
 */
export function route(facts: Facts, doc: DocInput, router: Router, docStale = false): Decision {
  const trace: string[] = [];
  let serial: number | null = null;
  const stale = docStale === true;
  try {
    serial = doc && typeof doc.serial === 'number' ? doc.serial : null;
    if (stale) trace.push('doc: last known good, older than maxStaleSeconds');
    return decide(facts, doc, router, trace, serial, stale);
  } catch (e) {
    return errorDecision(router, e, serial, stale, trace);
  }
}

/** The decision when routing itself failed: the fallback region, reason `error`, and why. */
export function errorDecision(
  router: Router,
  error: unknown,
  serial: number | null = null,
  stale = false,
  trace: string[] = [],
): Decision {
  const fb = router.regions[router.fallback];
  trace.push(`error: routing failed; fallback ${fb.id}`);
  return {
    target: fb.target,
    origin: fb.origin,
    reason: 'error',
    error: error instanceof Error ? error.message : String(error),
    serial,
    stale,
    trace,
  };
}

function decide(
  facts: Facts,
  doc: DocInput,
  router: Router,
  trace: string[],
  serial: number | null,
  stale: boolean,
): Decision {
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
  const { lat, lon } = facts;
  let ranking: Ranking;
  if (typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    const anchor = nearestAnchor(lat, lon);
    ranking = router.byAnchor[(byCountry ? byCountry.group : -1) + 1][anchor];
    trace.push(router.anchorGeo[anchor]);
  } else if (byCountry) {
    ranking = byCountry.ranking;
    trace.push(byCountry.geo);
  } else {
    trace.push(country ? `geo: unknown country ${JSON.stringify(country)}` : 'geo: no country, no lat/lon');
    ranking = router.noGeo;
  }
  trace.push(ranking.text);
  const pick = choose(ranking, facts.ip ?? '', doc, router, trace);
  const reason = ranking === router.noGeo ? 'no-geo' : pick.reason;
  return { target: pick.dest.target, origin: pick.dest.origin, reason, serial, stale, trace };
}

interface Pick {
  readonly dest: Destination;
  readonly reason: Exclude<Reason, 'error' | 'no-geo'>;
}

const UP = { status: 'up' } as const;

/** A region's health from the doc; a region missing from it (or any doc problem) reads as up, active, dial 100. */
function healthOf(doc: DocInput, id: string): { status?: unknown; role?: unknown; dial?: unknown } {
  const regions = doc?.regions;
  if (typeof regions !== 'object' || regions === null || !Object.hasOwn(regions, id)) return UP;
  const h = regions[id];
  return typeof h === 'object' && h !== null ? h : UP;
}

function choose(ranking: Ranking, key: string, doc: DocInput, router: Router, trace: string[]): Pick {
  const order = ranking.order;
  let nearest = -1; // best-ranked active region, whatever its health
  let nearestDown = false;
  let firstSpilled = -1;
  let firstStandby = -1;
  for (let i = 0; i < order.length; i++) {
    const r = router.regions[order[i]];
    const h = healthOf(doc, r.id);
    if (h.role === 'pilot') {
      trace.push(`${r.id}: pilot, skipped`);
      continue;
    }
    const up = h.status !== 'down';
    if (h.role === 'standby') {
      if (up && firstStandby < 0) firstStandby = order[i];
      trace.push(`${r.id}: standby${up ? '' : ', down'}, held back`);
      continue;
    }
    if (nearest < 0) {
      nearest = order[i];
      nearestDown = !up;
    }
    if (!up) {
      trace.push(r.says.down);
      continue;
    }
    const dial = typeof h.dial === 'number' ? h.dial : 100;
    if (dial < 100) {
      const b = bucket(key, r.dialSeed); // = bucket(`dial:${id}:${key}`), per region so dials do not correlate
      if (b >= Math.round(dial * 100)) {
        trace.push(`${r.id}: dial ${dial}, bucket ${b}, spill`);
        if (firstSpilled < 0) firstSpilled = order[i];
        continue;
      }
      trace.push(`${r.id}: dial ${dial}, bucket ${b}, kept`);
    }
    trace.push(r.says.chose);
    return { dest: r, reason: order[i] === nearest ? 'nearest' : nearestDown ? 'failover' : 'dial-spill' };
  }
  if (firstSpilled >= 0) {
    // every up active candidate spilled: a dial cannot send traffic nowhere, so the first one keeps it
    const r = router.regions[firstSpilled];
    trace.push(`every up candidate spilled; chose ${r.id}, dial ignored`);
    return { dest: r, reason: firstSpilled === nearest ? 'nearest' : 'failover' };
  }
  if (firstStandby >= 0) {
    const r = router.regions[firstStandby];
    trace.push(`no active candidate up; chose standby ${r.id}`);
    return { dest: r, reason: 'standby' };
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
  trace.push(`nothing up; fail open to ${r.id}`);
  return { dest: r, reason: 'fail-open' };
}
