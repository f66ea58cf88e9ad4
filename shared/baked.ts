// The tables a pick reads, as compact JSON, for a runtime with no room to compile a config: the CloudFront Functions
// file (10 KB for everything, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html)
// carries bake(router) (shared/bake.ts, at build time), and tablesOf() turns it back into the RouteTable that pick()
// reads. Only what depends on the config alone is here; what the health document decides comes from the plan's
// walks in the KeyValueStore. Of each ranking only its group and first two candidates are baked: all that routing
// without a walk needs (fallbackWalk, shared/walk.ts). No origin is baked either: the function selects the
// distribution's origin by id (originId, shared/ids.ts), and the distribution is made from the same config.
// tablesOf(bake(r)) picks exactly as r does (test/baked.test.ts).
//
// Small numbers (region, ranking and group indexes) are characters, CHAR0 + n; anchors are two base-91 characters
// per coordinate on the grid of shared/anchor.ts. tablesOf() runs in cloudfront-js-2.0 (no Map, destructuring,
// default parameters, for-of) and, there, for every request: it builds what every request reads and leaves the rest
// (a country's row, the anchors) to the requests that need it.
import { type Anchor, anchorAt, GRID } from './anchor';
import { fnv1a32 } from './hash';
import type { CidrTable } from './net';
import { hasOwn } from './own';
import type { AffinityTable, Destination, Ranking, ResolvedOrigin, RouteRegion, RouteTable } from './router';

/** The character of a small number n ≥ -1: CHAR0 + n (so -1 is "/"). */
export const CHAR0 = 48;
/** Anchor coordinates: grid steps in two characters, base 91 from "#". */
export const DIGIT0 = 35;

export interface BakedCidrs {
  /** IPv4: the intervals' starts, base 36, comma-separated */
  readonly starts4: string;
  /** IPv4: each interval's value as a character (network route index, "1" for allowCidrs; "/" for none) */
  readonly values4: string;
  /** IPv6: each network as `<hex of its first words>/<prefix length>`, comma-separated, longest prefix first */
  readonly nets6: string;
  readonly values6: string;
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

const num = (s: string, i: number) => s.charCodeAt(i) - CHAR0;

/** Whether a string of two-letter codes holds `cc` (at an even position). */
function holds(codes: string, cc: string): boolean {
  for (let i = codes.indexOf(cc); i >= 0; i = codes.indexOf(cc, i + 1)) if (i % 2 === 0) return true;
  return false;
}

function cidrsOf<T>(t: BakedCidrs, value: (c: number) => T): CidrTable<T> {
  const starts = t.starts4 ? t.starts4.split(',') : [];
  const nets = t.nets6 ? t.nets6.split(',') : [];
  const v6 = { nets: [] as number[], masks: [] as number[], values: [] as T[] };
  for (let i = 0; i < nets.length; i++) {
    const slash = nets[i].indexOf('/');
    const hex = `${nets[i].slice(0, slash)}00000000000000000000000000000000`;
    const bits = Number(nets[i].slice(slash + 1));
    for (let w = 0; w < 4; w++) {
      const b = bits - 32 * w;
      v6.nets.push(Number.parseInt(hex.slice(8 * w, 8 * w + 8), 16) | 0);
      v6.masks.push(b >= 32 ? -1 : b > 0 ? -1 << (32 - b) : 0);
    }
    v6.values.push(value(num(t.values6, i)));
  }
  const values4: (T | undefined)[] = [];
  for (let i = 0; i < starts.length; i++)
    values4.push(num(t.values4, i) < 0 ? undefined : value(num(t.values4, i)));
  return {
    size: starts.length + nets.length,
    starts4: starts.map((s) => Number.parseInt(s, 36)),
    values4,
    nets6: v6.nets,
    masks6: v6.masks,
    values6: v6.values,
  };
}

/** The RouteTable of baked tables. Runs in every runtime, CloudFront Functions included (which have no trace). */
export function tablesOf(b: Baked): RouteTable {
  const targets: Record<string, Destination> = {};
  const regions = b.regions.split(',').map((r): RouteRegion => {
    const canary = r.slice(-1) === '+';
    const id = canary ? r.slice(0, -1) : r;
    const target = { kind: 'region' as const, id };
    const entry: RouteRegion = {
      id,
      target,
      origin: NO_ORIGIN,
      dialSeed: fnv1a32(`dial:${id}:`),
      canary: canary ? { target, origin: NO_ORIGIN } : undefined,
    };
    targets[id] = entry;
    return entry;
  });
  const envs = b.environments ? b.environments.split(',') : [];
  for (let i = 0; i < envs.length; i++)
    targets[envs[i]] = { target: { kind: 'environment', id: envs[i] }, origin: NO_ORIGIN };
  const rankings: Ranking[] = [];
  for (let i = 0; i < b.rankings.length; i += 3)
    rankings.push({ group: num(b.rankings, i) - 1, top: [num(b.rankings, i + 1), num(b.rankings, i + 2)] });
  const byAnchor = b.byAnchor.map((row) => {
    const out: number[] = [];
    for (let i = 0; i < row.length; i++) out.push(num(row, i));
    return out;
  });
  const grid = (i: number) => (b.anchors.charCodeAt(i) - DIGIT0) * 91 + b.anchors.charCodeAt(i + 1) - DIGIT0;
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
    byAnchor,
    anchorGeo: [],
    get anchors() {
      if (!anchors) {
        anchors = [];
        for (let i = 0; i < b.anchors.length; i += 4)
          anchors.push(anchorAt('', { lat: grid(i) / GRID - 90, lon: grid(i + 2) / GRID - 180 }));
      }
      return anchors;
    },
    noGeo: b.noGeo,
    residency: b.residency.map((g) => {
      const out: number[] = [];
      for (let i = 0; i < g.length; i++) out.push(num(g, i));
      return out;
    }),
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
