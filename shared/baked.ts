// The tables a pick reads, as plain JSON, for a runtime with no room to compile a config: the CloudFront Functions
// file (10 KB for everything, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html)
// carries bake(router) (shared/bake.ts, at build time), and tablesOf() turns it back into the RouteTable that pick()
// reads.
// Only what depends on the config alone is here; what the health document decides comes from the plan's walks in
// the KeyValueStore. Of each ranking only its group and first two candidates are baked: all that routing without a
// walk needs (fallbackWalk, shared/plan.ts). tablesOf(bake(r)) picks exactly as r does (test/baked.test.ts).
//
// The tables are made lazily: CloudFront Functions may run a function's top-level code for every request, so
// nothing is built until a request needs it (a country's row, the anchors for a latitude/longitude viewer).
// tablesOf() runs in cloudfront-js-2.0: no Map, no destructuring, no default parameters, no for-of.
import { type Anchor, anchorAt } from './anchor';
import { fnv1a32 } from './hash';
import type { CidrTable } from './net';
import { hasOwn } from './own';
import type {
  AffinityTable,
  Destination,
  NetworkRoute,
  Ranking,
  ResolvedOrigin,
  RouteRegion,
  RouteTable,
} from './router';

/** A domain name (https, port 443, no path), or [domainName, port, protocol, path]. */
export type BakedOrigin = string | [string, number, 'https' | 'http', string];

export interface BakedCidrs<T> {
  readonly size: number;
  readonly starts4: number[];
  readonly values4: (T | null)[];
  readonly nets6: number[];
  readonly masks6: number[];
  readonly values6: T[];
}

export interface Baked {
  /** [id, origin, canary origin?] */
  readonly regions: ([string, BakedOrigin] | [string, BakedOrigin, BakedOrigin])[];
  /** [id, origin] */
  readonly environments: [string, BakedOrigin][];
  readonly fallback: number;
  /** per ranking: [residency group + 1, first candidate, second candidate?] */
  readonly rankings: number[][];
  /** anchor latitude and longitude in 1/10000 degrees, in pairs */
  readonly anchorPlaces: number[];
  /** [group + 1][anchor] → ranking */
  readonly byAnchor: number[][];
  /** per ranking (same index), the countries ranked so, two letters each */
  readonly countries: string[];
  readonly noGeo: number;
  /** per residency group, its regions */
  readonly residency: number[][];
  readonly networks: BakedCidrs<number>;
  readonly networkRoutes: [string, string][];
  readonly allow: BakedCidrs<true>;
  readonly needsIp: boolean;
  readonly maxTokenTtlSeconds: number;
  readonly sticky: { readonly cookie?: string; readonly header?: string };
  readonly affinity?: AffinityTable;
}

/** Whether a string of two-letter codes holds `cc` (at an even position). */
function holds(codes: string, cc: string): boolean {
  for (let i = codes.indexOf(cc); i >= 0; i = codes.indexOf(cc, i + 1)) if (i % 2 === 0) return true;
  return false;
}

function originOf(o: BakedOrigin): ResolvedOrigin {
  return typeof o === 'string'
    ? { domainName: o, port: 443, protocol: 'https', path: '' }
    : { domainName: o[0], port: o[1], protocol: o[2], path: o[3] };
}

function cidrsOf<T>(t: BakedCidrs<T>): CidrTable<T> {
  return {
    size: t.size,
    starts4: new Float64Array(t.starts4),
    values4: t.values4.map((v) => (v === null ? undefined : v)),
    nets6: new Int32Array(t.nets6),
    masks6: new Int32Array(t.masks6),
    values6: t.values6,
  };
}

/** The RouteTable of baked tables. Runs in every runtime, CloudFront Functions included (which have no trace). */
export function tablesOf(b: Baked): RouteTable {
  const targets: Record<string, Destination> = {};
  const regions = b.regions.map((r): RouteRegion => {
    const id = r[0];
    const target = { kind: 'region' as const, id };
    const entry: RouteRegion = {
      id,
      target,
      origin: originOf(r[1]),
      dialSeed: fnv1a32(`dial:${id}:`),
      canary: r[2] ? { target, origin: originOf(r[2]) } : undefined,
    };
    targets[id] = entry;
    return entry;
  });
  for (let i = 0; i < b.environments.length; i++) {
    const e = b.environments[i];
    targets[e[0]] = { target: { kind: 'environment', id: e[0] }, origin: originOf(e[1]) };
  }
  const rankings = b.rankings.map((r): Ranking => ({ group: r[0] - 1, top: r.slice(1) }));
  // only viewers placed by latitude/longitude need the anchors: made on first use
  let anchors: Anchor[] | undefined;
  return {
    regions,
    fallback: b.fallback,
    rankings,
    byCountry: {
      get: (cc) => {
        if (typeof cc !== 'string' || cc.length !== 2) return undefined;
        for (let r = 0; r < b.countries.length; r++)
          if (holds(b.countries[r], cc)) return { ranking: r, geo: '' };
        return undefined;
      },
    },
    byAnchor: b.byAnchor,
    anchorGeo: [],
    get anchors() {
      if (!anchors) {
        anchors = [];
        const p = b.anchorPlaces;
        for (let i = 0; i < p.length; i += 2)
          anchors.push(anchorAt('', { lat: p[i] / 1e4, lon: p[i + 1] / 1e4 }));
      }
      return anchors;
    },
    noGeo: b.noGeo,
    residency: b.residency,
    targets: { get: (id) => (hasOwn(targets, id) ? targets[id] : undefined) },
    networks: cidrsOf(b.networks),
    networkRoutes: b.networkRoutes.map((r): NetworkRoute => ({ name: r[0], target: r[1] })),
    allow: cidrsOf(b.allow),
    needsIp: b.needsIp,
    maxTokenTtlSeconds: b.maxTokenTtlSeconds,
    sticky: b.sticky,
    affinity: b.affinity,
  };
}
