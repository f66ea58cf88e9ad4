// The tables a pick reads, as compact JSON, for a runtime with no room to compile a config: the CloudFront Functions
// file (10 KB for everything, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html)
// carries bake(router) (shared/bake.ts, at build time), and tablesOf() turns it back into the RouteTable that pick()
// reads. Only what depends on the config alone is here; what the health document decides comes from the plan's
// walks in the KeyValueStore. Of each ranking only its group and first two candidates are baked: all that routing
// without a walk needs (fallbackWalk, shared/walk.ts). No origin is baked either: the function selects the
// distribution's origin by id (originId, shared/ids.ts), and the distribution is made from the same config.
// tablesOf(bake(r)) picks exactly as r does (test/baked.test.ts).
//
// Small numbers (region, ranking and group indexes) are characters, CHAR0 + n; anchors are two such characters
// (base 78) per coordinate on the grid of shared/anchor.ts. tablesOf() runs in cloudfront-js-2.0 (no Map, destructuring,
// default parameters, for-of) and, there, for every request: it builds what every request reads and leaves the rest
// (a country's row, the anchors) to the requests that need it.
import { type Anchor, anchorAt, GRID } from './anchor';
import { fnv1a32 } from './hash';
import type { CidrTable } from './net';
import { hasOwn } from './own';
import type { AffinityTable, Destination, Ranking, ResolvedOrigin, RouteRegion, RouteTable } from './router';

/** The character of a small number n ≥ -1: CHAR0 + n (so -1 is "/"). */
export const CHAR0 = 48;
/** Anchor coordinates: grid steps in two characters of that kind, base BASE. */
export const BASE = 78;

export interface BakedCidrs {
  /**
   * Each network, longest prefix first, as `<hex of its first words>/<prefix length>`, comma-separated; an IPv4
   * network as `.<hex>/<IPv4 prefix length>` (it stands for ::ffff:<hex>/<96 + length>)
   */
  readonly nets: string;
  /** each network's value as a character (network route index; 0 for allowCidrs) */
  readonly values: string;
}

export interface Baked {
  /** region ids, comma-separated, in order; "+" after one that has a canary origin */
  readonly regions: string;
  /** environment ids, comma-separated */
  readonly environments: string;
  readonly fallback: number;
  /** per ranking, three characters: residency group + 1, first candidate, second candidate (or "/") */
  readonly rankings: string;
  /** per residency group + 1, per anchor: the ranking (a character each) */
  readonly byAnchor: string[];
  /** per anchor, four characters: latitude + 90 and longitude + 180 in grid steps */
  readonly anchors: string;
  /** per ranking (same index), the countries ranked so, two letters each */
  readonly countries: string[];
  readonly noGeo: number;
  /** per residency group, its regions (a character each) */
  readonly residency: string[];
  readonly networks: BakedCidrs;
  /** per network route: the target it sends its viewers to */
  readonly networkRoutes: string[];
  readonly allow: BakedCidrs;
  readonly needsIp: boolean;
  readonly maxTokenTtlSeconds: number;
  readonly sticky: { readonly cookie?: string; readonly header?: string };
  readonly affinity?: AffinityTable;
}

/** Not baked: the function selects the distribution's origin by id, and never reads this. */
const NO_ORIGIN: ResolvedOrigin = { domainName: '', port: 443, protocol: 'https', path: '' };

/** A string of small numbers, one character each (CHAR0 + n), as numbers. */
const nums = (s: string): number[] =>
  Array.prototype.map.call(s, (c: string) => c.charCodeAt(0) - CHAR0) as number[];
const split = (s: string) => (s ? s.split(',') : []);

/** Whether a string of two-letter codes holds `cc` (at an even position). */
function holds(codes: string, cc: string): boolean {
  for (let i = codes.indexOf(cc); i >= 0; i = codes.indexOf(cc, i + 1)) if (i % 2 === 0) return true;
  return false;
}

function cidrsOf<T>(t: BakedCidrs, value: (c: number) => T): CidrTable<T> {
  const list = split(t.nets);
  const nets: number[] = [];
  const masks: number[] = [];
  for (let i = 0; i < list.length; i++) {
    const net = list[i].split('/');
    const v4 = net[0].charAt(0) === '.';
    const hex = `${v4 ? `00000000000000000000ffff${net[0].slice(1)}` : net[0]}00000000000000000000000000000000`;
    for (let w = 0; w < 4; w++) {
      const b = Number(net[1]) + (v4 ? 96 : 0) - 32 * w;
      nets.push(Number.parseInt(hex.substr(8 * w, 8), 16) | 0);
      masks.push(b > 31 ? -1 : b > 0 ? -1 << (32 - b) : 0);
    }
  }
  return { size: list.length, nets, masks, values: nums(t.values).map(value) };
}

/** The RouteTable of baked tables. Runs in every runtime, CloudFront Functions included (which have no trace). */
export function tablesOf(b: Baked): RouteTable {
  const targets: Record<string, Destination> = {};
  const regions = b.regions.split(',').map((r): RouteRegion => {
    const id = r.replace('+', '');
    const target = { kind: 'region' as const, id };
    const entry: RouteRegion = {
      id,
      target,
      origin: NO_ORIGIN,
      dialSeed: fnv1a32(`dial:${id}:`),
      canary: id !== r ? { target, origin: NO_ORIGIN } : undefined,
    };
    targets[id] = entry;
    return entry;
  });
  const envs = split(b.environments);
  for (let i = 0; i < envs.length; i++)
    targets[envs[i]] = { target: { kind: 'environment', id: envs[i] }, origin: NO_ORIGIN };
  const r = nums(b.rankings);
  const rankings: Ranking[] = [];
  for (let i = 0; i < r.length; i += 3) rankings.push({ group: r[i] - 1, top: [r[i + 1], r[i + 2]] });
  // only viewers placed by latitude/longitude need the anchors: made on first use
  let anchors: Anchor[] | undefined;
  return {
    regions,
    fallback: b.fallback,
    rankings,
    byCountry: {
      get: (cc) => {
        for (let k = 0; k < b.countries.length; k++)
          if (typeof cc === 'string' && cc.length === 2 && holds(b.countries[k], cc))
            return { ranking: k, geo: '' };
        return undefined;
      },
    },
    byAnchor: b.byAnchor.map(nums),
    anchorGeo: [],
    get anchors() {
      if (!anchors) {
        anchors = [];
        const g = nums(b.anchors);
        for (let i = 0; i < g.length; i += 4)
          anchors.push(
            anchorAt('', {
              lat: (g[i] * BASE + g[i + 1]) / GRID - 90,
              lon: (g[i + 2] * BASE + g[i + 3]) / GRID - 180,
            }),
          );
      }
      return anchors;
    },
    noGeo: b.noGeo,
    residency: b.residency.map(nums),
    targets: { get: (id) => (hasOwn(targets, id) ? targets[id] : undefined) },
    networks: cidrsOf(b.networks, (v) => v),
    networkRoutes: b.networkRoutes.map((target) => ({ name: '', target })),
    allow: cidrsOf(b.allow, (): true => true),
    needsIp: b.needsIp,
    maxTokenTtlSeconds: b.maxTokenTtlSeconds,
    sticky: b.sticky,
    affinity: b.affinity,
  };
}
