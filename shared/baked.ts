// The tables a pick reads, for a runtime with no room to compile a config: the CloudFront Functions file (10 KB for
// everything, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html) carries
// bake(router) (shared/bake.ts, at build time), and tablesOf() completes it into the RouteTable that pick() reads.
// The tables are compact in every runtime (shared/router.ts), so most of it is baked as it is; what is not:
//   - the countries, as strings of two-letter codes per ranking (not a Map);
//   - the anchors, as six characters each: their vectors on the steps of shared/anchor.ts.
// Only what depends on the config alone and what routing without a plan needs is here. What the health document
// decides comes from the plan's walks in the KeyValueStore, and so do the network tables (network routes,
// allowCidrs: the largest config-only table, WalkNetworks), which keeps a 12-region config within 10 KB at one get
// per request (README, "CloudFront Functions viewer-request function"). No origin is baked: the function selects
// the distribution's origin by id (originId, shared/ids.ts). tablesOf(bake(r)) picks exactly as r does (test/baked.test.ts). tablesOf() runs in
// cloudfront-js-2.0 (no Map, destructuring, default parameters, for-of) and there, for every request: the anchors,
// which only latitude/longitude viewers need, are made on first use.
import { type Point, STEPS } from './anchor';
import { num } from './chars';
import type { CidrTable } from './net';
import type { RouteTable } from './router';
import type { WalkNetworks } from './walk';

/** Anchor coordinates: steps (shared/anchor.ts) in two characters (shared/chars.ts), base BASE. */
export const BASE = 78;

/** The RouteTable as baked: its own fields where they are plain, these where they are not. */
export interface Baked
  extends Omit<RouteTable, 'byCountry' | 'anchors' | 'networks' | 'allow' | 'networkRoutes' | 'words'> {
  /** per ranking (same index), the countries ranked so, two letters each */
  readonly countries: string[];
  /** per anchor, six characters: its unit vector's x, y and z + 1 in steps */
  readonly anchorGrid: string;
}

/**
 * Networks as a walk carries them (WalkNetworks) → the integer table matchCidr reads. This runs for every request
 * in CloudFront Functions, so it parses only what a prefix covers: an IPv4 network's one word (the others of
 * ::ffff:0:0/96 are constants), an IPv6 network's words up to its length (the rest are 0).
 */
function cidrsOf(list: string, values: string): CidrTable<number> {
  const entries = list ? list.split(',') : [];
  const nets: number[] = [];
  const masks: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const net = entries[i].split('/');
    const v4 = net[0].charAt(0) === '.';
    // the prefix's digits, then zeros: every word's eight digits are there
    const hex = `${v4 ? `00000000000000000000ffff${net[0].slice(1)}` : net[0]}0000000`;
    const bits = +net[1] + (v4 ? 96 : 0);
    for (let w = 0; w < 128; w += 32) {
      nets.push(bits > w ? Number.parseInt(hex.substr(w / 4, 8), 16) | 0 : 0);
      masks.push(bits - w > 31 ? -1 : bits > w ? -1 << (32 - bits + w) : 0);
    }
    out.push(num(values, i));
  }
  return { size: entries.length, nets, masks, values: out };
}

/**
 * The table's network tables from the walk a CloudFront Function read (none without one: then no network route
 * or allowCidrs applies, and the viewer is routed by geography). Sets them on the table, for this request.
 */
export function withNetworks(table: RouteTable, w: WalkNetworks | undefined): void {
  const t = table as unknown as Record<string, unknown>;
  t.networks = cidrsOf(w ? w.n : '', w ? w.v : '');
  t.allow = cidrsOf(w ? w.a : '', '');
  t.networkRoutes = w ? w.r : [];
}

/** The RouteTable of baked tables (it completes them in place). Runs in every runtime, CloudFront Functions included. */
export function tablesOf(b: Baked): RouteTable {
  const t = b as unknown as Record<string, unknown>;
  const countries = b.countries;
  t.byCountry = {
    get: (cc: string) => {
      // a two-letter code at an even position (an empty string would be found everywhere, for ever)
      for (let k = 0; cc.length === 2 && k < countries.length; k++)
        for (let i = countries[k].indexOf(cc); i >= 0; i = countries[k].indexOf(cc, i + 1))
          if (i % 2 === 0) return k;
      return undefined;
    },
  };
  withNetworks(b as unknown as RouteTable, undefined);
  // only viewers placed by latitude/longitude need the anchors: made when first asked
  let anchors: Point[] | undefined;
  t.anchors = () => {
    if (!anchors) {
      anchors = [];
      const g = b.anchorGrid;
      const at = (i: number) => (num(g, i) * BASE + num(g, i + 1)) / STEPS - 1;
      for (let i = 0; i < g.length; i += 6) anchors.push({ x: at(i), y: at(i + 2), z: at(i + 4) });
    }
    return anchors;
  };
  return b as unknown as RouteTable;
}
