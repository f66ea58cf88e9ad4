// Compiling a router config: everything a request needs that depends only on the config is computed here,
// once (at build time or module load), so that `route()` does table lookups, not geometry.

import type { Anchor } from './anchor';
import { compileCidrs } from './cidr';
import { ANCHORS, nearestAnchor, rankSites, type Site } from './geo';
import { AWS_REGIONS, COUNTRIES, type Place } from './geo-data';
import { fnv1a32 } from './hash';
import type { CidrTable } from './net';
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

export interface RegionEntry extends Destination, Site {
  /** FNV-1a state after `dial:<id>:`: a viewer's dial bucket is bucket(key, dialSeed) */
  readonly dialSeed: number;
  /** the trace lines of the hot path, made once */
  readonly says: { readonly down: string; readonly chose: string };
  /** the region's canary deployment (config canaryOrigin), as a destination of the same target */
  readonly canary?: Destination;
}

/** Candidate regions for one kind of viewer, best first, with a one-line description for traces. */
export interface Ranking {
  readonly order: readonly number[];
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

export interface Router {
  readonly config: RouterConfig;
  readonly regions: readonly RegionEntry[];
  readonly environments: ReadonlyMap<string, Destination>;
  readonly fallback: number;
  readonly byCountry: ReadonlyMap<string, CountryRoute>;
  /** [residency group + 1][anchor index] → ranking, for viewers placed by latitude/longitude */
  readonly byAnchor: readonly (readonly Ranking[])[];
  /** [anchor index] → the trace line that places a latitude/longitude viewer */
  readonly anchorGeo: readonly string[];
  /** the AWS regions a viewer may be attached to (indexes of byAnchor and anchorGeo) */
  readonly anchors: readonly Anchor[];
  /** Fallback first, then the others by latency from it: viewers with no geography. */
  readonly noGeo: Ranking;
  /** every region and environment by id: what an override may name */
  readonly targets: ReadonlyMap<string, Destination>;
  /** viewer networks → index into config.networkRoutes */
  readonly networks: CidrTable<number>;
  /** viewer networks allowed to override (override.allowCidrs) */
  readonly allow: CidrTable<true>;
  /** whether routing reads the viewer's IP address beyond hashing it */
  readonly needsIp: boolean;
  readonly maxTokenTtlSeconds: number;
  /** where the stable viewer key comes from (config sticky), else the viewer IP */
  readonly sticky: { readonly cookie?: string; readonly header?: string };
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
    allow,
    needsIp: networks.size + allow.size > 0,
    maxTokenTtlSeconds: config.override?.maxTokenTtlSeconds ?? 7 * 86400,
    sticky: Object.freeze({ ...config.sticky }),
  });
}
