// A compiled router as plain JSON, for a runtime with no room to compile one: the CloudFront Functions bundle
// (10 KB for everything, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html)
// carries packRouter()'s output (shared/router.ts), baked in at build time, and unpackRouter() turns it back into
// the RouteTable that route() reads. unpackRouter(packRouter(r)) routes exactly as r does (test/packed-router.test.ts).
//
// The unpacked table is lazy: CloudFront Functions may run a function's top-level code for every request, so
// nothing is built until a request needs it (a country's row, the anchors for a latitude/longitude viewer).
// This file runs in cloudfront-js-2.0: no Map, no destructuring, no default parameters, no for-of.
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
export type PackedOrigin = string | [string, number, 'https' | 'http', string];

export interface PackedCidrs<T> {
  readonly size: number;
  readonly starts4: number[];
  readonly values4: (T | null)[];
  readonly nets6: number[];
  readonly masks6: number[];
  readonly values6: T[];
}

export interface PackedRouter {
  /** [id, origin, canary origin?] */
  readonly regions: ([string, PackedOrigin] | [string, PackedOrigin, PackedOrigin])[];
  /** [id, origin] */
  readonly environments: [string, PackedOrigin][];
  readonly fallback: number;
  /** residency groups, in config order: [name, country codes (two letters each)] */
  readonly groups: [string, string][];
  /** each distinct ranking: [residency group + 1, ...region indexes] */
  readonly rankings: number[][];
  /** anchor latitude and longitude in 1/10000 degrees, in pairs */
  readonly anchorPlaces: number[];
  /** [group + 1][anchor] → index into rankings */
  readonly byAnchor: number[][];
  /** per ranking (same index), the countries ranked so, two letters each */
  readonly countries: string[];
  readonly noGeo: number;
  readonly networks: PackedCidrs<number>;
  readonly networkRoutes: [string, string][];
  readonly allow: PackedCidrs<true>;
  readonly needsIp: boolean;
  readonly maxTokenTtlSeconds: number;
  readonly sticky: { readonly cookie?: string; readonly header?: string };
  readonly affinity?: AffinityTable;
  /**
   * For traces only (absent in the CloudFront Functions bundle, which has none): the anchor codes, joined by ",",
   * and per two-letter code (slot (first − 65) × 26 + second − 65) the country's anchor, as CHAR0 + index.
   */
  readonly names?: { readonly anchors: string; readonly countryAnchors: string };
}

export const CHAR0 = 48;

/** The slot of a two-letter code in a 26 × 26 table, or -1. */
export function countrySlot(cc: string): number {
  const a = cc.charCodeAt(0) - 65;
  const b = cc.charCodeAt(1) - 65;
  return cc.length === 2 && a >= 0 && a < 26 && b >= 0 && b < 26 ? a * 26 + b : -1;
}

/** Whether a string of two-letter codes holds `cc` (at an even position). */
function holds(codes: string, cc: string): boolean {
  for (let i = codes.indexOf(cc); i >= 0; i = codes.indexOf(cc, i + 1)) if (i % 2 === 0) return true;
  return false;
}

const NO_SAYS = { down: '', chose: '' };

function unpackOrigin(o: PackedOrigin): ResolvedOrigin {
  return typeof o === 'string'
    ? { domainName: o, port: 443, protocol: 'https', path: '' }
    : { domainName: o[0], port: o[1], protocol: o[2], path: o[3] };
}

function unpackCidrs<T>(t: PackedCidrs<T>): CidrTable<T> {
  return {
    size: t.size,
    starts4: new Float64Array(t.starts4),
    values4: t.values4.map((v) => (v === null ? undefined : v)),
    nets6: new Int32Array(t.nets6),
    masks6: new Int32Array(t.masks6),
    values6: t.values6,
  };
}

/**
 * The RouteTable of a packed router. Runs in every runtime, CloudFront Functions included, where the build drops
 * the TRACE-labelled statements (the trace lines are for the Lambda@Edge trace header) and `names`.
 */
export function unpackRouter(p: PackedRouter): RouteTable {
  const targets: Record<string, Destination> = {};
  const regions = p.regions.map((r): RouteRegion => {
    const id = r[0];
    const target = { kind: 'region' as const, id };
    let says = NO_SAYS;
    TRACE: says = { down: `${id}: down`, chose: `chose ${id}` };
    const entry: RouteRegion = {
      id,
      target,
      origin: unpackOrigin(r[1]),
      dialSeed: fnv1a32(`dial:${id}:`),
      says,
      canary: r[2] ? { target, origin: unpackOrigin(r[2]) } : undefined,
    };
    targets[id] = entry;
    return entry;
  });
  for (let i = 0; i < p.environments.length; i++) {
    const e = p.environments[i];
    targets[e[0]] = { target: { kind: 'environment', id: e[0] }, origin: unpackOrigin(e[1]) };
  }
  const rankings = p.rankings.map((packed): Ranking => {
    const g = packed[0] - 1;
    const order = packed.slice(1);
    let text = '';
    TRACE: text = `${g < 0 ? 'rank' : `rank (residency ${p.groups[g][0]})`}: ${order.map((k) => regions[k].id).join(' > ')}`;
    return { order, group: g, text };
  });
  const names = p.names;
  const codes = names ? names.anchors.split(',') : [];
  let anchorGeo: string[] = [];
  TRACE: anchorGeo = codes.map((c) => `geo: lat/lon near ${c}`);
  // only viewers placed by latitude/longitude need the anchors: made on first use
  let anchors: Anchor[] | undefined;
  return {
    regions,
    fallback: p.fallback,
    byCountry: {
      get: (cc) => {
        if (typeof cc !== 'string') return undefined;
        let r = 0;
        while (r < p.countries.length && !holds(p.countries[r], cc)) r++;
        if (cc.length !== 2 || r === p.countries.length) return undefined;
        let group = -1;
        for (let g = 0; g < p.groups.length; g++) if (holds(p.groups[g][1], cc)) group = g;
        let anchor = '';
        TRACE: anchor = names ? codes[names.countryAnchors.charCodeAt(countrySlot(cc)) - CHAR0] : '';
        let geo = '';
        TRACE: geo = anchor ? `geo: country ${cc} near ${anchor}` : '';
        return { anchor, ranking: rankings[r], group, geo };
      },
    },
    byAnchor: p.byAnchor.map((row) => row.map((r) => rankings[r])),
    anchorGeo,
    get anchors() {
      if (!anchors) {
        anchors = [];
        for (let i = 0; i < p.anchorPlaces.length; i += 2) {
          anchors.push(
            anchorAt(codes[i / 2] || '', { lat: p.anchorPlaces[i] / 1e4, lon: p.anchorPlaces[i + 1] / 1e4 }),
          );
        }
      }
      return anchors;
    },
    noGeo: rankings[p.noGeo],
    targets: { get: (id) => (hasOwn(targets, id) ? targets[id] : undefined) },
    networks: unpackCidrs(p.networks),
    networkRoutes: p.networkRoutes.map((r): NetworkRoute => ({ name: r[0], target: r[1] })),
    allow: unpackCidrs(p.allow),
    needsIp: p.needsIp,
    maxTokenTtlSeconds: p.maxTokenTtlSeconds,
    sticky: p.sticky,
    affinity: p.affinity,
  };
}
