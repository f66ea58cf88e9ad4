// Compiling a router config: everything a request needs that depends only on the config is computed here,
// once (at build time or module load), so that a pick does table lookups, not geometry.

import { type Anchor, anchorAt, onGrid } from './anchor';
import { compileCidrs } from './cidr';
import type { Origin, RouterConfig } from './config-schema';
import { ANCHORS, nearestAnchor, rankSites, type Site } from './geo';
import { AWS_REGIONS, COUNTRIES, type Place } from './geo-data';
import { fnv1a32 } from './hash';
import { originId } from './ids';
import type { CidrTable } from './net';

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

/** A region as a pick reads it. */
export interface RouteRegion extends Destination {
  readonly id: string;
  /** FNV-1a state after `dial:<id>:`: a viewer's dial bucket is bucket(key, dialSeed) */
  readonly dialSeed: number;
  /** the region's canary deployment (config canaryOrigin), as a destination of the same target */
  readonly canary?: Destination;
}

/** A region as compiled: where it is, too (for ranking). */
export interface RegionEntry extends RouteRegion, Site {}

/**
 * One way of ranking the candidates, as a pick reads it: viewers of every country and anchor ranked alike share
 * it, and a plan holds one walk per ranking (shared/plan.ts).
 */
export interface Ranking {
  /** the residency group the candidates were limited to (index into config.residency), or -1 */
  readonly group: number;
  /**
   * The first two candidates (one when there is only one): with every region up, where its viewers go and their
   * retry. All that routing without a plan needs (fallbackWalk in shared/plan.ts), so the only part baked into
   * CloudFront Functions.
   */
  readonly top: readonly number[];
}

/** A ranking as compiled: every candidate region, best first, and the trace line that names them. */
export interface FullRanking extends Ranking {
  readonly order: readonly number[];
  readonly text: string;
}

/** Where a country's viewers are ranked. */
export interface CountryRoute {
  /** index into `rankings` */
  readonly ranking: number;
  /** the trace line that places the viewer */
  readonly geo: string;
}

/** A country as compiled, for the CLI's reports too. */
export interface CountryEntry extends CountryRoute {
  /** The AWS region nearest to the country's centroid: where the viewer enters the network. */
  readonly anchor: string;
  /** Index into `residency`, or -1 */
  readonly group: number;
}

/**
 * What a pick reads: the config compiled to lookup tables. Plain data, so that a runtime without room to compile
 * (CloudFront Functions) can carry it baked (shared/baked.ts).
 */
export interface RouteTable {
  readonly regions: readonly RouteRegion[];
  readonly fallback: number;
  /** every distinct ranking: a plan has one walk for each */
  readonly rankings: readonly Ranking[];
  /** ISO 3166-1 alpha-2 (upper case) → how its viewers are ranked */
  readonly byCountry: Lookup<CountryRoute>;
  /** [residency group + 1][anchor index] → ranking, for viewers placed by latitude/longitude */
  readonly byAnchor: readonly (readonly number[])[];
  /** [anchor index] → the trace line that places a latitude/longitude viewer */
  readonly anchorGeo: readonly string[];
  /** the AWS regions a viewer may be attached to (indexes of byAnchor and anchorGeo) */
  readonly anchors: readonly Anchor[];
  /** Fallback first, then the others by latency from it: the ranking of viewers with no geography. */
  readonly noGeo: number;
  /** per residency group, its regions (indexes): the only regions an affinity value may send its viewers to */
  readonly residency: readonly (readonly number[])[];
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

/** Region affinity as a pick and the response side read it. */
export interface AffinityTable {
  readonly cookie: string;
  readonly ttlSeconds: number;
  readonly after: 'writes' | 'always';
  /** the application's home-region header, if any, and the longest life its values may have */
  readonly header?: string;
  readonly headerMaxTtlSeconds: number;
}

/** A read-only map as a pick uses it: a Map, or a plain-object table where there is no Map (CloudFront Functions). */
export interface Lookup<V> {
  get(key: string): V | undefined;
}

export interface NetworkRoute {
  readonly name: string;
  readonly target: string;
}

/** A compiled router: the tables, with every ranking whole, and the config they came from (for the CLI's reports). */
export interface Router extends RouteTable {
  readonly config: RouterConfig;
  readonly regions: readonly RegionEntry[];
  readonly rankings: readonly FullRanking[];
  readonly environments: ReadonlyMap<string, Destination>;
  readonly byCountry: ReadonlyMap<string, CountryEntry>;
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

  // every distinct ranking once, numbered in the order first met: a plan has one walk per number
  const rankings: FullRanking[] = [];
  const numbered = new Map<string, number>();
  const ranking = (sites: readonly Site[], group: number): number => {
    const order = sites.map((s) => index.get(s.id) as number);
    const key = `${group}:${order.join(',')}`;
    let n = numbered.get(key);
    if (n === undefined) {
      n = rankings.length;
      numbered.set(key, n);
      const prefix = group < 0 ? 'rank' : `rank (residency ${groups[group].name})`;
      rankings.push(
        Object.freeze({
          group,
          top: Object.freeze(order.slice(0, 2)),
          order: Object.freeze(order),
          text: `${prefix}: ${sites.map((s) => s.id).join(' > ')}`,
        }),
      );
    }
    return n;
  };
  const rank = (group: number, anchor: number, viewer: Place): number =>
    ranking(rankSites(ANCHORS[anchor], viewer, sitesOf(group)), group);

  const fb = regions[fallback];
  const fbAnchor = nearestAnchor(fb.place.lat, fb.place.lon, ANCHORS);
  const others = rankSites(ANCHORS[fbAnchor], fb.place, regions).filter((s) => s.id !== fb.id);
  const noGeo = ranking([fb, ...others], -1);

  const byAnchor = [-1, ...groups.keys()].map((g) => ANCHORS.map((a, ai) => rank(g, ai, a.place)));

  const byCountry = new Map<string, CountryEntry>();
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
    rankings,
    byCountry,
    byAnchor,
    anchorGeo,
    anchors: ANCHORS.map((a) =>
      anchorAt(a.code, { lat: onGrid(a.place.lat, 90), lon: onGrid(a.place.lon, 180) }),
    ),
    noGeo,
    residency: groups.map((g) => regions.flatMap((r, i) => (g.regions.includes(r.id) ? [i] : []))),
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
 * Every origin the distribution needs, by origin id (originId): one per region and environment, and one per region's
 * canary deployment. The infra app makes them; CloudFront Functions select among them; the local edge and the tests
 * resolve the ids the function selects.
 */
export function distributionOrigins(config: RouterConfig): Map<string, Origin> {
  const out = new Map<string, Origin>();
  for (const [id, r] of Object.entries(config.regions)) {
    out.set(originId(id, false), r.origin);
    if (r.canaryOrigin) out.set(originId(id, true), r.canaryOrigin);
  }
  for (const [id, e] of Object.entries(config.environments ?? {})) out.set(originId(id, false), e.origin);
  return out;
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
