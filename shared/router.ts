// Compiling a router config: everything a request needs that depends only on the config is computed here,
// once (at build time or module load), so that a pick does table lookups, not geometry.

import { ATTEMPT_HEADER } from '../functions/route-headers';
import { onSteps, type Point } from './anchor';
import { chars, num } from './chars';
import { compileCidrs } from './cidr';
import type { Origin, RouterConfig } from './config-schema';
import { docSources } from './doc-sources';
import { ANCHORS, latencyColumns, nearestAnchor, rankSites, type Site } from './geo';
import { AWS_REGIONS, COUNTRIES, type Place } from './geo-data';
import { originId, PER_TRY } from './ids';
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

/** A region as compiled: where it is (for ranking). */
export interface RegionEntry extends Site {}

/** A ranking as compiled: every candidate region, best first, its residency group, and the trace line. */
export interface FullRanking {
  /** index into config.residency, or -1 */
  readonly group: number;
  readonly order: readonly number[];
  readonly text: string;
}

/** A country as compiled, for the CLI's reports and the trace. */
export interface CountryEntry {
  /** index into `rankings` */
  readonly ranking: number;
  /** The AWS region nearest to the country's centroid: where the viewer enters the network. */
  readonly anchor: string;
  /** Index into `residency`, or -1 */
  readonly group: number;
  /** the trace line that places the viewer */
  readonly geo: string;
}

/**
 * What a pick reads: the config compiled to compact tables, the same in every runtime, so that the CloudFront
 * Functions file carries them nearly as they are (shared/baked.ts). Indexes of regions and rankings are the numbers
 * a plan's walks use. A decision names a target; where its origin is, the shells resolve by origin id (originId).
 */
export interface RouteTable {
  /** region ids, in config order */
  readonly regions: readonly string[];
  /** the regions (indexes) with a canary deployment (config canaryOrigin) */
  readonly canaries: readonly number[];
  /** environment ids */
  readonly environments: readonly string[];
  readonly fallback: number;
  /**
   * Every distinct ranking (a plan has one walk for each), as three characters (shared/chars.ts): its residency group
   * + 1, its first candidate and its second ("/": none). With every region up, where its viewers go and their retry:
   * all that routing without a walk needs (fallbackWalk in shared/walk.ts).
   */
  readonly rankings: string;
  /** ISO 3166-1 alpha-2 (upper case) → the ranking of its viewers */
  readonly byCountry: Lookup<number>;
  /** per residency group + 1, per anchor: the ranking of viewers placed there by latitude/longitude (characters) */
  readonly byAnchor: readonly string[];
  /** the AWS regions a viewer may be attached to, on the step grid (a function: a runtime may make them when asked) */
  readonly anchors: () => readonly Point[];
  /** the ranking of viewers with no geography: the fallback first, then the others by latency from it */
  readonly noGeo: number;
  /** per residency group, its regions: the only regions an affinity value may send its viewers to */
  readonly residency: readonly (readonly number[])[];
  /** viewer networks → index into networkRoutes */
  readonly networks: CidrTable<number>;
  /** per network route (config.networkRoutes): where its viewers go */
  readonly networkRoutes: readonly string[];
  /** viewer networks allowed to override (override.allowCidrs): a match is any value */
  readonly allow: CidrTable<number>;
  /** whether routing reads the viewer's IP address beyond hashing it */
  readonly needsIp: boolean;
  readonly maxTokenTtlSeconds: number;
  /** where the stable viewer key comes from (config sticky), else the viewer IP */
  readonly sticky: { readonly cookie?: string; readonly header?: string };
  /** region affinity (config affinity), absent when off */
  readonly affinity?: AffinityTable;
  /** the words of the trace (absent where there is none: CloudFront Functions) */
  readonly words?: TableWords;
}

/** What the trace says of the tables. */
export interface TableWords {
  /** per country, the line that places its viewers */
  readonly countries: Lookup<string>;
  /** per anchor, the line that places a latitude/longitude viewer */
  readonly anchors: readonly string[];
  /** per network route, its name */
  readonly routes: readonly string[];
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

/** A compiled router: the tables, every ranking whole, the origins, and the config (for the CLI's reports). */
export interface Router extends RouteTable {
  readonly config: RouterConfig;
  /** per region (same index): where it is */
  readonly places: readonly RegionEntry[];
  /** every ranking whole (same index as `rankings`) */
  readonly orders: readonly FullRanking[];
  readonly byCountry: ReadonlyMap<string, number>;
  readonly countries: ReadonlyMap<string, CountryEntry>;
  /** every origin by origin id (originId): what a decision's target and reason resolve to */
  readonly origins: ReadonlyMap<string, ResolvedOrigin>;
  readonly words: TableWords;
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

/** The config's regions as sites to rank: each with its location, or its AWS region's. */
export function regionSites(config: RouterConfig): RegionEntry[] {
  return Object.entries(config.regions).map(([id, r]) => {
    const place = r.location ?? AWS_REGIONS.get(id);
    if (!place) throw new Error(`region ${id} has no location`);
    return Object.freeze({ id, place });
  });
}

/**
 * The columns of the latency matrix a function built from this config reads: those its rankings read, and the
 * regions of the document's copies (shared/doc-sources.ts readOrder).
 */
export function latencyColumnsOf(config: RouterConfig): string[] {
  const copies = config.healthDoc ? docSources(config.healthDoc).map((s) => s.region) : [];
  return [...new Set([...latencyColumns(regionSites(config)), ...copies])];
}

/**
 * What compiling a config costs (geometry and address parsing), apart from what is read off the config: every
 * distinct ranking, the ranking of each anchor and country, and the CIDR tables. The Lambda@Edge build bakes it
 * (serializeRanked), so that a cold container only assembles the router (assembleRouter).
 */
export interface Ranked {
  /** every ranking whole, numbered in the order first met: a plan has one walk per number (no trace line yet) */
  readonly orders: readonly Omit<FullRanking, 'text'>[];
  /** per residency group + 1, per anchor: the ranking (characters) */
  readonly byAnchor: readonly string[];
  /** per country (ISO 3166-1 alpha-2): its ranking, its anchor (index into ANCHORS) and its residency group */
  readonly countries: readonly (readonly [iso: string, ranking: number, anchor: number, group: number])[];
  readonly noGeo: number;
  readonly networks: CidrTable<number>;
  readonly allow: CidrTable<number>;
}

export function rankRouter(config: RouterConfig): Ranked {
  const places = regionSites(config);
  const index = new Map(places.map((r, i) => [r.id, i]));
  const fallback = index.get(config.fallbackRegion);
  if (fallback === undefined) throw new Error(`fallbackRegion ${config.fallbackRegion} is not a region`);

  const groups = config.residency ?? [];
  const groupOf = new Map<string, number>();
  groups.forEach((g, gi) => {
    for (const cc of g.countries) groupOf.set(cc, gi);
  });
  const sitesOf = (group: number): RegionEntry[] =>
    group < 0 ? places : places.filter((r) => groups[group].regions.includes(r.id));

  const orders: Omit<FullRanking, 'text'>[] = [];
  const numbered = new Map<string, number>();
  const ranking = (sites: readonly Site[], group: number): number => {
    const order = sites.map((s) => index.get(s.id) as number);
    const key = `${group}:${order.join(',')}`;
    let n = numbered.get(key);
    if (n === undefined) {
      n = orders.length;
      numbered.set(key, n);
      orders.push({ group, order });
    }
    return n;
  };
  const rank = (group: number, anchor: number, viewer: Place): number =>
    ranking(rankSites(ANCHORS[anchor], viewer, sitesOf(group)), group);

  const fb = places[fallback];
  const fbAnchor = nearestAnchor(fb.place.lat, fb.place.lon, ANCHORS);
  const others = rankSites(ANCHORS[fbAnchor], fb.place, places).filter((s) => s.id !== fb.id);
  const noGeo = ranking([fb, ...others], -1);

  const byAnchor = [-1, ...groups.keys()].map((g) => chars(ANCHORS.map((a, ai) => rank(g, ai, a.place))));
  const countries = [...COUNTRIES].map(([iso, c]) => {
    const group = groupOf.get(iso) ?? -1;
    const anchor = nearestAnchor(c.lat, c.lon, ANCHORS);
    return [iso, rank(group, anchor, c), anchor, group] as const;
  });
  const routes = config.networkRoutes ?? [];
  return {
    orders,
    byAnchor,
    countries,
    noGeo,
    networks: compileCidrs(routes.flatMap((route, i) => route.cidrs.map((cidr) => [cidr, i] as const))),
    allow: compileCidrs((config.override?.allowCidrs ?? []).map((cidr) => [cidr, 0] as const)),
  };
}

/** A config and what ranking it made (rankRouter, or a baked copy: reviveRouter) → the compiled router. */
export function assembleRouter(config: RouterConfig, ranked: Ranked): Router {
  const places = regionSites(config);
  const regions = places.map((r) => r.id);
  const groups = config.residency ?? [];
  const { networks, allow } = ranked;
  const orders: FullRanking[] = ranked.orders.map(({ group, order }) =>
    Object.freeze({
      group,
      order: Object.freeze(order),
      text: `${group < 0 ? 'rank' : `rank (residency ${groups[group].name})`}: ${order.map((i) => regions[i]).join(' > ')}`,
    }),
  );
  // one pass over the ~250 countries: a cold Lambda@Edge container runs this in the interpreter, on a viewer's request
  const countries = new Map<string, CountryEntry>();
  const byCountry = new Map<string, number>();
  const countryWords = new Map<string, string>();
  for (const [iso, ranking, anchor, group] of ranked.countries) {
    const code = ANCHORS[anchor].code;
    const geo = `geo: country ${iso} near ${code}`;
    countries.set(iso, Object.freeze({ ranking, anchor: code, group, geo }));
    byCountry.set(iso, ranking);
    countryWords.set(iso, geo);
  }
  const anchors = ANCHORS.map((a) => ({ x: onSteps(a.x), y: onSteps(a.y), z: onSteps(a.z) }));
  const origins = new Map([...distributionOrigins(config)].map(([id, o]) => [id, resolveOrigin(o)]));
  const routes = config.networkRoutes ?? [];
  return Object.freeze({
    config,
    regions,
    canaries: regions.flatMap((id, i) => (config.regions[id].canaryOrigin ? [i] : [])),
    environments: Object.keys(config.environments ?? {}),
    fallback: regions.indexOf(config.fallbackRegion),
    rankings: orders
      .map((r) => chars([r.group + 1, r.order[0], r.order.length > 1 ? r.order[1] : -1]))
      .join(''),
    byCountry,
    byAnchor: ranked.byAnchor,
    anchors: () => anchors,
    noGeo: ranked.noGeo,
    residency: groups.map((g) => regions.flatMap((id, i) => (g.regions.includes(id) ? [i] : []))),
    networks,
    networkRoutes: routes.map((r) => r.target),
    allow,
    needsIp: networks.size + allow.size > 0,
    maxTokenTtlSeconds: config.override?.maxTokenTtlSeconds ?? 7 * 86400,
    sticky: Object.freeze({ ...config.sticky }),
    affinity: affinityTable(config),
    places,
    orders,
    countries,
    origins,
    words: Object.freeze({
      countries: countryWords,
      anchors: ANCHORS.map((a) => `geo: lat/lon near ${a.code}`),
      routes: routes.map((r) => r.name),
    }),
  });
}

/** Compiles a validated config (see parseRouterConfig). */
export function compileRouter(config: RouterConfig): Router {
  return assembleRouter(config, rankRouter(config));
}

/**
 * rankRouter's result as JSON, for the build to bake into the Lambda@Edge bundle (esbuild.config.mjs): a cold
 * container then assembles the router, and does no geometry or address parsing on a viewer's request (README,
 * "Lambda@Edge cold start"). reviveRouter(serializeRanked(rankRouter(c)), c) is compileRouter(c)
 * (test/router-bake.test.ts).
 */
export function serializeRanked(ranked: Ranked): string {
  const cidrs = (t: CidrTable<number>) => ({ ...t, nets: Array.from(t.nets), masks: Array.from(t.masks) });
  return JSON.stringify({
    // [group + 1, then the regions] in characters (shared/chars.ts), and per country its code and three of them
    orders: ranked.orders.map((o) => chars([o.group + 1, ...o.order])),
    byAnchor: ranked.byAnchor,
    countries: ranked.countries
      .map(([iso, ranking, anchor, group]) => {
        if (iso.length !== 2) throw new Error(`country code ${iso} is not two letters`);
        return iso + chars([ranking, anchor, group + 1]);
      })
      .join(''),
    noGeo: ranked.noGeo,
    networks: cidrs(ranked.networks),
    allow: cidrs(ranked.allow),
  });
}

/** What the build bakes into the Lambda@Edge bundle for `config`: its ranking, serialized for reviveRouter. */
export function compiledRouter(config: RouterConfig): string {
  return serializeRanked(rankRouter(config));
}

/** The router compiled from `config`, from serializeRanked's JSON of its ranking. */
export function reviveRouter(json: string, config: RouterConfig): Router {
  const baked = JSON.parse(json);
  const cidrs = (t: CidrTable<number>): CidrTable<number> => ({
    ...t,
    nets: Int32Array.from(t.nets),
    masks: Int32Array.from(t.masks),
  });
  const digits = (s: string) => Array.from({ length: s.length }, (_, i) => num(s, i));
  const countries: [string, number, number, number][] = [];
  const cs: string = baked.countries;
  for (let i = 0; i < cs.length; i += 5)
    countries.push([cs.slice(i, i + 2), num(cs, i + 2), num(cs, i + 3), num(cs, i + 4) - 1]);
  return assembleRouter(config, {
    orders: (baked.orders as string[]).map((o) => {
      const [group, ...order] = digits(o);
      return { group: group - 1, order };
    }),
    byAnchor: baked.byAnchor,
    countries,
    noGeo: baked.noGeo,
    networks: cidrs(baked.networks),
    allow: cidrs(baked.allow),
  });
}

/** The target a decision names, or undefined for an id that is neither a region nor an environment. */
export function targetOf(table: RouteTable, id: string): Target | undefined {
  if (table.regions.indexOf(id) >= 0) return { kind: 'region', id };
  if (table.environments.indexOf(id) >= 0) return { kind: 'environment', id };
  return undefined;
}

/** The origin a decision goes to: its target's, or its region's canary deployment's (origin ids: originId). */
export function originOf(
  router: Router,
  d: { readonly target: Target; readonly reason: string },
): ResolvedOrigin {
  return router.origins.get(originId(d.target.id, d.reason === 'canary')) as ResolvedOrigin;
}

/** The origin id of the Lambda@Edge origin group's second member ("." is never in a target id). */
export const SECOND_ATTEMPT_ORIGIN_ID = 'attempt.2';

/** A custom origin as a Lambda@Edge origin-request event carries it, with CloudFront's default timeouts. */
export interface EventCustomOrigin {
  customHeaders: Record<string, { key: string; value: string }[]>;
  domainName: string;
  keepaliveTimeout: number;
  path: string;
  port: number;
  protocol: 'http' | 'https';
  readTimeout: number;
  sslProtocols: string[];
}

/** A config origin as the event's custom origin (the local edge's events, the group's second origin). */
export function eventCustomOrigin(
  o: Origin,
  customHeaders: EventCustomOrigin['customHeaders'] = {},
): EventCustomOrigin {
  const protocol = o.protocol ?? 'https';
  return {
    customHeaders,
    domainName: o.domainName,
    keepaliveTimeout: 5,
    path: o.path ?? '',
    port: o.port ?? (protocol === 'https' ? 443 : 80),
    protocol,
    readTimeout: 30,
    sslProtocols: ['TLSv1.2'],
  };
}

/**
 * The second origin of the Lambda@Edge origin group (config originGroups, runtime lambda-edge), as the
 * origin-request event carries it when CloudFront fails over: the fallback region's origin (the function points the
 * request at the decision's retry target anyway) with the origin custom header `x-route-attempt: 2`, which tells the
 * function this is the second attempt.
 */
export function secondAttemptOrigin(config: RouterConfig): EventCustomOrigin {
  return eventCustomOrigin(config.regions[config.fallbackRegion].origin, {
    [ATTEMPT_HEADER]: [{ key: 'X-Route-Attempt', value: '2' }],
  });
}

/** A distribution origin; `perTry`: a per-try copy (PER_TRY), whose read timeout is the per-try timeout. */
export type DistributionOrigin = Origin & { readonly perTry?: true };

/**
 * Every origin the distribution needs, by origin id (originId): one per region and environment, and one per region's
 * canary deployment; with originGroups, a per-try copy of each (`try.<origin id>`), which the
 * CloudFront Functions file makes a group's first origin for a GET, HEAD or OPTIONS (a Lambda@Edge function sets
 * the read timeout itself, so the infra app makes the copies for CloudFront Functions only). The infra app makes
 * them; CloudFront Functions select among them; the local edge and the tests resolve the ids the function selects.
 */
export function distributionOrigins(config: RouterConfig): Map<string, DistributionOrigin> {
  const out = new Map<string, DistributionOrigin>();
  for (const [id, r] of Object.entries(config.regions)) {
    out.set(originId(id, false), r.origin);
    if (r.canaryOrigin) out.set(originId(id, true), r.canaryOrigin);
  }
  for (const [id, e] of Object.entries(config.environments ?? {})) out.set(originId(id, false), e.origin);
  if (config.originGroups !== undefined)
    for (const [id, o] of [...out]) out.set(PER_TRY + id, { ...o, perTry: true });
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
