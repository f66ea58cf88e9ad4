// Compiling a router config: everything a request needs that depends only on the config is computed here,
// once (at build time or module load), so that `route()` does table lookups, not geometry.

import type { Anchor } from './anchor';
import { compileCidrs } from './cidr';
import { ANCHORS, nearestAnchor, rankSites, type Site } from './geo';
import { AWS_REGIONS, COUNTRIES, type Place } from './geo-data';
import { fnv1a32 } from './hash';
import type { CidrTable } from './net';
import { CHAR0, countrySlot, type PackedCidrs, type PackedOrigin, type PackedRouter } from './packed-router';
import type { Origin, RouterConfig } from './schema';

export interface Target {
  readonly kind: 'region' | 'environment';
  readonly id: string;
}

/** An origin with every default filled in, ready to apply. */
export interface ResolvedOrigin {
  readonly domainName: string;
  readonly port: number;
  readonly protocol: 'https' | 'http';
  readonly path: string;
}

export interface Destination {
  readonly target: Target;
  readonly origin: ResolvedOrigin;
}

/** A region as route() reads it. */
export interface RouteRegion extends Destination {
  readonly id: string;
  /** FNV-1a state after `dial:<id>:`: a viewer's dial bucket is bucket(key, dialSeed) */
  readonly dialSeed: number;
  /** the trace lines of the hot path, made once */
  readonly says: { readonly down: string; readonly chose: string };
  /** the region's canary deployment (config canaryOrigin), as a destination of the same target */
  readonly canary?: Destination;
}

/** A region as compiled: where it is, too (for ranking). */
export interface RegionEntry extends RouteRegion, Site {}

/** Candidate regions for one kind of viewer, best first, with a one-line description for traces. */
export interface Ranking {
  readonly order: readonly number[];
  /** the residency group the candidates were limited to (index into config.residency), or -1 */
  readonly group: number;
  readonly text: string;
}

export interface CountryRoute {
  /** The AWS region nearest to the country's centroid: where the viewer enters the network. */
  readonly anchor: string;
  readonly ranking: Ranking;
  /** Index into `residency`, or -1 */
  readonly group: number;
  /** the trace line that places the viewer */
  readonly geo: string;
}

/**
 * What route() reads: the config compiled to lookup tables. Plain data, so that a runtime without room to compile
 * (CloudFront Functions) can carry it packed (shared/packed-router.ts).
 */
export interface RouteTable {
  readonly regions: readonly RouteRegion[];
  readonly fallback: number;
  /** ISO 3166-1 alpha-2 (upper case) → how its viewers are ranked */
  readonly byCountry: Lookup<CountryRoute>;
  /** [residency group + 1][anchor index] → ranking, for viewers placed by latitude/longitude */
  readonly byAnchor: readonly (readonly Ranking[])[];
  /** [anchor index] → the trace line that places a latitude/longitude viewer */
  readonly anchorGeo: readonly string[];
  /** the AWS regions a viewer may be attached to (indexes of byAnchor and anchorGeo) */
  readonly anchors: readonly Anchor[];
  /** Fallback first, then the others by latency from it: viewers with no geography. */
  readonly noGeo: Ranking;
  /** every region and environment by id: what an override may name */
  readonly targets: Lookup<Destination>;
  /** viewer networks → index into networkRoutes */
  readonly networks: CidrTable<number>;
  /** config.networkRoutes: where each matched network goes */
  readonly networkRoutes: readonly NetworkRoute[];
  /** viewer networks allowed to override (override.allowCidrs) */
  readonly allow: CidrTable<true>;
  /** whether routing reads the viewer's IP address beyond hashing it */
  readonly needsIp: boolean;
  readonly maxTokenTtlSeconds: number;
  /** where the stable viewer key comes from (config sticky), else the viewer IP */
  readonly sticky: { readonly cookie?: string; readonly header?: string };
  /** region affinity (config affinity), absent when off */
  readonly affinity?: AffinityTable;
}

/** Region affinity as route() and the response side read it. */
export interface AffinityTable {
  readonly cookie: string;
  readonly ttlSeconds: number;
  readonly after: 'writes' | 'always';
  /** the application's home-region header, if any, and the longest life its values may have */
  readonly header?: string;
  readonly headerMaxTtlSeconds: number;
}

/** A read-only map as route() uses it: a Map, or a plain-object table where there is no Map (CloudFront Functions). */
export interface Lookup<V> {
  get(key: string): V | undefined;
}

export interface NetworkRoute {
  readonly name: string;
  readonly target: string;
}

/** A compiled router: the tables, and the config they came from (for the CLI's reports). */
export interface Router extends RouteTable {
  readonly config: RouterConfig;
  readonly regions: readonly RegionEntry[];
  readonly environments: ReadonlyMap<string, Destination>;
  readonly byCountry: ReadonlyMap<string, CountryRoute>;
  readonly targets: ReadonlyMap<string, Destination>;
}

export function resolveOrigin(o: Origin): ResolvedOrigin {
  const protocol = o.protocol ?? 'https';
  return Object.freeze({
    domainName: o.domainName,
    port: o.port ?? (protocol === 'https' ? 443 : 80),
    protocol,
    path: o.path ?? '',
  });
}

/** Compiles a validated config (see parseRouterConfig). */
export function compileRouter(config: RouterConfig): Router {
  const regions: RegionEntry[] = Object.entries(config.regions).map(([id, r]) => {
    const place = r.location ?? AWS_REGIONS.get(id);
    if (!place) throw new Error(`region ${id} has no location`);
    return Object.freeze({
      id,
      place,
      target: Object.freeze({ kind: 'region' as const, id }),
      origin: resolveOrigin(r.origin),
      dialSeed: fnv1a32(`dial:${id}:`),
      says: Object.freeze({ down: `${id}: down`, chose: `chose ${id}` }),
      canary: r.canaryOrigin
        ? Object.freeze({
            target: Object.freeze({ kind: 'region' as const, id }),
            origin: resolveOrigin(r.canaryOrigin),
          })
        : undefined,
    });
  });
  const environments = new Map<string, Destination>(
    Object.entries(config.environments ?? {}).map(([id, e]) => [
      id,
      Object.freeze({
        target: Object.freeze({ kind: 'environment' as const, id }),
        origin: resolveOrigin(e.origin),
      }),
    ]),
  );
  const index = new Map(regions.map((r, i) => [r.id, i]));
  const fallback = index.get(config.fallbackRegion);
  if (fallback === undefined) throw new Error(`fallbackRegion ${config.fallbackRegion} is not a region`);

  const groups = config.residency ?? [];
  const groupOf = new Map<string, number>();
  groups.forEach((g, gi) => {
    for (const cc of g.countries) groupOf.set(cc, gi);
  });
  const sitesOf = (group: number): RegionEntry[] =>
    group < 0 ? regions : regions.filter((r) => groups[group].regions.includes(r.id));

  const ranking = (sites: readonly Site[], group: number): Ranking => {
    const order = sites.map((s) => index.get(s.id) as number);
    const prefix = group < 0 ? 'rank' : `rank (residency ${groups[group].name})`;
    return Object.freeze({
      order: Object.freeze(order),
      group,
      text: `${prefix}: ${sites.map((s) => s.id).join(' > ')}`,
    });
  };
  const rank = (group: number, anchor: number, viewer: Place): Ranking =>
    ranking(rankSites(ANCHORS[anchor], viewer, sitesOf(group)), group);

  const byAnchor = [-1, ...groups.keys()].map((g) => ANCHORS.map((a, ai) => rank(g, ai, a.place)));

  const byCountry = new Map<string, CountryRoute>();
  for (const [iso, c] of COUNTRIES) {
    const group = groupOf.get(iso) ?? -1;
    const anchor = nearestAnchor(c.lat, c.lon, ANCHORS);
    const code = ANCHORS[anchor].code;
    byCountry.set(
      iso,
      Object.freeze({
        anchor: code,
        ranking: rank(group, anchor, c),
        group,
        geo: `geo: country ${iso} near ${code}`,
      }),
    );
  }

  const fb = regions[fallback];
  const fbAnchor = nearestAnchor(fb.place.lat, fb.place.lon, ANCHORS);
  const others = rankSites(ANCHORS[fbAnchor], fb.place, regions).filter((s) => s.id !== fb.id);
  const noGeo = ranking([fb, ...others], -1);

  const anchorGeo = ANCHORS.map((a) => `geo: lat/lon near ${a.code}`);
  const targets = new Map<string, Destination>([...regions.map((r) => [r.id, r] as const), ...environments]);
  const networks = compileCidrs(
    (config.networkRoutes ?? []).flatMap((route, i) => route.cidrs.map((cidr) => [cidr, i] as const)),
  );
  const allow = compileCidrs((config.override?.allowCidrs ?? []).map((cidr) => [cidr, true] as const));
  return Object.freeze({
    config,
    regions,
    environments,
    fallback,
    byCountry,
    byAnchor,
    anchorGeo,
    anchors: ANCHORS,
    noGeo,
    targets,
    networks,
    networkRoutes: Object.freeze(
      (config.networkRoutes ?? []).map((r) => Object.freeze({ name: r.name, target: r.target })),
    ),
    allow,
    needsIp: networks.size + allow.size > 0,
    maxTokenTtlSeconds: config.override?.maxTokenTtlSeconds ?? 7 * 86400,
    sticky: Object.freeze({ ...config.sticky }),
    affinity: affinityTable(config),
  });
}

/**
 * The object key of the signing keys, next to the health document: override.keysKey, or its default when only
 * region affinity signs; undefined when nothing is signed.
 */
export function keysKeyOf(config: RouterConfig): string | undefined {
  if (config.override) return config.override.keysKey ?? 'keys.json';
  return config.affinity ? 'keys.json' : undefined;
}

function affinityTable(config: RouterConfig): AffinityTable | undefined {
  const a = config.affinity;
  if (!a) return undefined;
  // the defaults again: a config object typed but not parsed may lack them
  return Object.freeze({
    cookie: a.cookie ?? 'route_affinity',
    ttlSeconds: a.ttlSeconds ?? 300,
    after: a.after ?? 'writes',
    header: a.homeHeader,
    headerMaxTtlSeconds: a.homeMaxTtlSeconds ?? 86400,
  });
}

/**
 * The JSON form of a compiled router (build time, Node.js): see shared/packed-router.ts. Without `names` (the
 * CloudFront Functions build, which has no trace), the anchor and country names the trace lines use are left out.
 */
export function packRouter(router: Router, opts: { names: boolean } = { names: true }): PackedRouter {
  const rankings: number[][] = [];
  const seen = new Map<string, number>();
  const indexOf = (r: Ranking): number => {
    const packed = [r.group + 1, ...r.order];
    const key = packed.join(',');
    let i = seen.get(key);
    if (i === undefined) {
      i = rankings.length;
      rankings.push(packed);
      seen.set(key, i);
    }
    return i;
  };
  const codes = router.anchors.map((a) => a.code);
  const countries: string[] = [];
  const countryAnchors = Array<string>(26 * 26).fill(' ');
  for (const [cc, c] of router.byCountry) {
    const slot = countrySlot(cc);
    if (slot < 0) throw new Error(`country code ${cc} is not two capital letters`);
    const r = indexOf(c.ranking);
    countries[r] = (countries[r] ?? '') + cc;
    countryAnchors[slot] = String.fromCharCode(CHAR0 + codes.indexOf(c.anchor));
  }
  const byAnchor = router.byAnchor.map((row) => row.map(indexOf));
  const noGeo = indexOf(router.noGeo);
  return {
    regions: router.regions.map((r) =>
      r.canary ? [r.id, packOrigin(r.origin), packOrigin(r.canary.origin)] : [r.id, packOrigin(r.origin)],
    ),
    environments: [...router.environments].map(([id, e]) => [id, packOrigin(e.origin)]),
    fallback: router.fallback,
    groups: (router.config.residency ?? []).map((g) => [g.name, g.countries.join('')]),
    rankings,
    // whole 1/10000 degrees: the same doubles after division, fewer characters than decimals
    anchorPlaces: router.anchors.flatMap((a) => [
      Math.round(a.place.lat * 1e4),
      Math.round(a.place.lon * 1e4),
    ]),
    byAnchor,
    countries: Array.from(rankings, (_, i) => countries[i] ?? ''),
    noGeo,
    networks: packCidrs(router.networks),
    networkRoutes: router.networkRoutes.map((r) => [r.name, r.target]),
    allow: packCidrs(router.allow),
    needsIp: router.needsIp,
    maxTokenTtlSeconds: router.maxTokenTtlSeconds,
    sticky: router.sticky,
    affinity: router.affinity,
    names: opts.names ? { anchors: codes.join(','), countryAnchors: countryAnchors.join('') } : undefined,
  };
}

/** The default origin (https, 443, no path) as its domain name alone. */
function packOrigin(o: ResolvedOrigin): PackedOrigin {
  return o.protocol === 'https' && o.port === 443 && o.path === ''
    ? o.domainName
    : [o.domainName, o.port, o.protocol, o.path];
}

function packCidrs<T>(t: CidrTable<T>): PackedCidrs<T> {
  return {
    size: t.size,
    starts4: Array.prototype.slice.call(t.starts4),
    values4: t.values4.map((v) => (v === undefined ? null : v)),
    nets6: Array.prototype.slice.call(t.nets6),
    masks6: Array.prototype.slice.call(t.masks6),
    values6: t.values6.slice(),
  };
}
