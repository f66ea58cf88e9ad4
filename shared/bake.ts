// Baking a compiled router into the compact tables of shared/baked.ts, at build time (Node.js): what the CloudFront
// Functions file carries instead of a config it has no room to compile.
import { GRID } from './anchor';
import { BASE, type Baked, type BakedCidrs, CHAR0 } from './baked';
import type { CidrTable } from './net';
import type { Router } from './router';

/** A small number (≥ -1) as one character. */
function char(n: number): string {
  if (!(n >= -1 && n < 0xd800 - CHAR0)) throw new Error(`${n} does not fit one character`);
  return String.fromCharCode(CHAR0 + n);
}
const chars = (ns: readonly number[]) => ns.map(char).join('');

/** A coordinate in grid steps (0 ≤ k < BASE²) as two characters. */
function grid(v: number, offset: number): string {
  const k = Math.round((v + offset) * GRID);
  return char(Math.floor(k / BASE)) + char(k % BASE);
}

function bakeCidrs<T>(t: CidrTable<T>, value: (v: T) => number): BakedCidrs {
  const nets: string[] = [];
  for (let i = 0; i < t.size; i++) {
    const words = Array.from(t.nets).slice(4 * i, 4 * i + 4);
    // a mask is the prefix length's leading ones
    const bits = Array.from(t.masks)
      .slice(4 * i, 4 * i + 4)
      .reduce((n, m) => n + popcount(m), 0);
    const hex = words.map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
    const v4 = bits >= 96 && hex.startsWith('00000000000000000000ffff');
    const [digits, length] = v4 ? [hex.slice(24), bits - 96] : [hex, bits];
    nets.push(`${v4 ? '.' : ''}${digits.slice(0, Math.ceil(length / 4)) || '0'}/${length}`);
  }
  return { nets: nets.join(','), values: chars(t.values.map(value)) };
}

function popcount(m: number): number {
  let n = 0;
  for (let x = m >>> 0; x; x >>>= 1) n += x & 1;
  return n;
}

/** The baked form of a compiled router (build time, Node.js). */
export function bake(router: Router): Baked {
  const countries = router.rankings.map(() => '');
  for (const [cc, c] of router.byCountry) {
    if (!/^[A-Z]{2}$/.test(cc)) throw new Error(`country code ${cc} is not two capital letters`);
    countries[c.ranking] += cc;
  }
  const routes = router.networkRoutes;
  return {
    regions: router.regions.map((r) => (r.canary ? `${r.id}+` : r.id)).join(','),
    environments: [...router.environments.keys()].join(','),
    fallback: router.fallback,
    rankings: router.rankings
      .map((r) => chars([r.group + 1, r.top[0], r.top.length > 1 ? r.top[1] : -1]))
      .join(''),
    byAnchor: router.byAnchor.map(chars),
    anchors: router.anchors.map((a) => grid(a.place.lat, 90) + grid(a.place.lon, 180)).join(''),
    countries,
    noGeo: router.noGeo,
    residency: router.residency.map(chars),
    networks: bakeCidrs(router.networks, (v) => v),
    networkRoutes: routes.map((r) => r.target),
    allow: bakeCidrs(router.allow, () => 0),
    needsIp: router.needsIp,
    maxTokenTtlSeconds: router.maxTokenTtlSeconds,
    sticky: router.sticky,
    affinity: router.affinity,
  };
}
