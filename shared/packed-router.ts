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
  CountryRoute,
  Destination,
  Lookup,
  NetworkRoute,
  Ranking,
  RegionEntry,
  ResolvedOrigin,
  RouteTable,
} from './router';

/** [domainName, port, protocol, path] */
export type PackedOrigin = [string, number, 'https' | 'http', string];

export interface PackedCidrs<T> {
  readonly size: number;
  readonly starts4: number[];
  readonly values4: (T | null)[];
  readonly nets6: number[];
  readonly masks6: number[];
  readonly values6: T[];
}

export interface PackedRouter {
  /** [id, lat, lon, origin, canary origin or 0] */
  readonly regions: [string, number, number, PackedOrigin, PackedOrigin | 0][];
  /** [id, origin] */
  readonly environments: [string, PackedOrigin][];
  readonly fallback: number;
  /** residency groups, in config order: [name, country codes (two letters each)] */
  readonly groups: [string, string][];
  /** each distinct ranking: [residency group + 1, ...region indexes] */
  readonly rankings: number[][];
  /** anchor latitude and longitude, in pairs */
  readonly anchorPlaces: number[];
  /** [group + 1][anchor] → index into rankings */
  readonly byAnchor: number[][];
  /**
   * 26 × 26 characters, one per two-letter code (AA, AB, ... ZZ): the country's ranking (index char), or a space
   * where the code is not a country.
   */
  readonly countries: string;
  readonly noGeo: number;
  readonly networks: PackedCidrs<number>;
  readonly networkRoutes: [string, string][];
  readonly allow: PackedCidrs<true>;
  readonly needsIp: boolean;
  readonly maxTokenTtlSeconds: number;
  readonly sticky: { readonly cookie?: string; readonly header?: string };
  /** For traces only (absent in the CloudFront Functions bundle, which has none): the anchor codes, joined by
   * ",", and per two-letter code (as `countries`) the country's anchor. */
  readonly names?: { readonly anchors: string; readonly countryAnchors: string };
}

/** An index as one character, from "0" (48) up; the CloudFront Functions build writes the file as UTF-8. */
export const CHAR0 = 48;
export const MAX_CHAR_INDEX = 0x7ff - CHAR0;

/** The slot of a two-letter code in PackedRouter.countries, or -1. */
export function countrySlot(cc: string): number {
  if (typeof cc !== 'string' || cc.length !== 2) return -1;
  const a = cc.charCodeAt(0) - 65;
  const b = cc.charCodeAt(1) - 65;
  return a >= 0 && a < 26 && b >= 0 && b < 26 ? a * 26 + b : -1;
}

/** Whether a string of two-letter codes holds `cc`. */
function holds(codes: string, cc: string): boolean {
  for (let i = 0; i < codes.length; i += 2)
    if (codes.charCodeAt(i) === cc.charCodeAt(0) && codes.charCodeAt(i + 1) === cc.charCodeAt(1)) return true;
  return false;
}

const NO_SAYS = { down: '', chose: '' };

/** `rank (residency eu): eu-central-1 > ...`, the trace line of a ranking. */
function rankingText(
  packed: number[],
  regions: readonly RegionEntry[],
  groups: PackedRouter['groups'],
): string {
  const ids: string[] = [];
  for (let k = 1; k < packed.length; k++) ids.push(regions[packed[k]].id);
  const g = packed[0] - 1;
  return `${g < 0 ? 'rank' : `rank (residency ${groups[g][0]})`}: ${ids.join(' > ')}`;
}

function unpackOrigin(o: PackedOrigin): ResolvedOrigin {
  return { domainName: o[0], port: o[1], protocol: o[2], path: o[3] };
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

/** A lookup over an object's own keys (never an inherited one such as "constructor"). */
function lookup<V>(table: Record<string, V>): Lookup<V> {
  return { get: (key) => (hasOwn(table, key) ? table[key] : undefined) };
}

/**
 * The RouteTable of a packed router. Runs in every runtime, CloudFront Functions included, where the build drops
 * the TRACE-labelled statements (the trace lines are for the Lambda@Edge trace header) and `names`.
 */
export function unpackRouter(p: PackedRouter): RouteTable {
  const targets: Record<string, Destination> = {};
  const regions: RegionEntry[] = p.regions.map((r) => {
    const id = r[0];
    const target = { kind: 'region' as const, id };
    const canary = r[4];
    let says = NO_SAYS;
    TRACE: says = { down: `${id}: down`, chose: `chose ${id}` };
    const entry: RegionEntry = {
      id,
      place: { lat: r[1], lon: r[2] },
      target,
      origin: unpackOrigin(r[3]),
      dialSeed: fnv1a32(`dial:${id}:`),
      says,
      canary: canary ? { target, origin: unpackOrigin(canary) } : undefined,
    };
    targets[id] = entry;
    return entry;
  });
  for (let i = 0; i < p.environments.length; i++) {
    const e = p.environments[i];
    targets[e[0]] = { target: { kind: 'environment', id: e[0] }, origin: unpackOrigin(e[1]) };
  }

  const rankings: Ranking[] = [];
  const ranking = (i: number): Ranking => {
    let r = rankings[i];
    if (!r) {
      const packed = p.rankings[i];
      const g = packed[0] - 1;
      let text = '';
      TRACE: text = rankingText(packed, regions, p.groups);
      r = { order: packed.slice(1), group: g, text };
      rankings[i] = r;
    }
    return r;
  };
  const names = p.names;
  const codes = names ? names.anchors.split(',') : [];

  const byCountry: Lookup<CountryRoute> = {
    get: (cc) => {
      const slot = countrySlot(cc);
      const r = slot < 0 ? -1 : p.countries.charCodeAt(slot) - CHAR0;
      if (r < 0) return undefined;
      let group = -1;
      for (let g = 0; g < p.groups.length; g++) if (holds(p.groups[g][1], cc)) group = g;
      let anchor = '';
      TRACE: anchor = names ? codes[names.countryAnchors.charCodeAt(slot) - CHAR0] : '';
      let geo = '';
      TRACE: geo = anchor ? `geo: country ${cc} near ${anchor}` : '';
      return { anchor, ranking: ranking(r), group, geo };
    },
  };

  // Only viewers placed by latitude/longitude need these: built on first use.
  let anchors: Anchor[] | undefined;
  let byAnchor: Ranking[][] | undefined;
  let anchorGeo: string[] | undefined;
  return {
    regions,
    fallback: p.fallback,
    byCountry,
    get byAnchor() {
      if (!byAnchor) byAnchor = p.byAnchor.map((row) => row.map(ranking));
      return byAnchor;
    },
    get anchorGeo() {
      if (!anchorGeo) anchorGeo = codes.map((c) => `geo: lat/lon near ${c}`);
      return anchorGeo;
    },
    get anchors() {
      if (!anchors) {
        anchors = [];
        for (let i = 0; i < p.anchorPlaces.length; i += 2) {
          anchors.push(anchorAt(codes[i / 2] || '', { lat: p.anchorPlaces[i], lon: p.anchorPlaces[i + 1] }));
        }
      }
      return anchors;
    },
    noGeo: ranking(p.noGeo),
    targets: lookup(targets),
    networks: unpackCidrs(p.networks),
    networkRoutes: p.networkRoutes.map((r): NetworkRoute => ({ name: r[0], target: r[1] })),
    allow: unpackCidrs(p.allow),
    needsIp: p.needsIp,
    maxTokenTtlSeconds: p.maxTokenTtlSeconds,
    sticky: p.sticky,
  };
}
