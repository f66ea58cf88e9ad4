// Baking a compiled router into the tables of shared/baked.ts, at build time (Node.js): what the CloudFront Functions
// file carries instead of a config it has no room to compile.
import { STEPS } from './anchor';
import { BASE, type Baked } from './baked';
import { chars } from './chars';
import type { CidrTable } from './net';
import type { Router } from './router';
import type { WalkNetworks } from './walk';

/** A unit vector's coordinate in steps (0 ≤ k < BASE²) as two characters. */
function steps(v: number): string {
  const k = Math.round((v + 1) * STEPS);
  return chars([Math.floor(k / BASE), k % BASE]);
}

function popcount(m: number): number {
  let n = 0;
  for (let x = m >>> 0; x; x >>>= 1) n += x & 1;
  return n;
}

/** A CIDR table as hex prefixes (WalkNetworks). */
function bakeCidrs(t: CidrTable<number>): { nets: string; values: string } {
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
  return { nets: nets.join(','), values: chars(t.values) };
}

/** The baked form of a compiled router (build time, Node.js): its tables, none of its words or origins. */
export function bake(router: Router): Baked {
  const countries = router.orders.map(() => '');
  for (const [cc, r] of router.byCountry) {
    if (!/^[A-Z]{2}$/.test(cc)) throw new Error(`country code ${cc} is not two capital letters`);
    countries[r] += cc;
  }
  return {
    regions: router.regions,
    canaries: router.canaries,
    environments: router.environments,
    fallback: router.fallback,
    rankings: router.rankings,
    byAnchor: router.byAnchor,
    noGeo: router.noGeo,
    residency: router.residency,
    needsIp: router.needsIp,
    maxTokenTtlSeconds: router.maxTokenTtlSeconds,
    sticky: router.sticky,
    affinity: router.affinity,
    countries,
    anchorGrid: router
      .anchors()
      .map((a) => steps(a.x) + steps(a.y) + steps(a.z))
      .join(''),
  };
}

/** The network tables every stored walk carries (CloudFront Functions do not bake them); none without networks. */
export function walkNetworks(router: Router): WalkNetworks | undefined {
  if (!router.needsIp) return undefined;
  const n = bakeCidrs(router.networks);
  return { n: n.nets, v: n.values, a: bakeCidrs(router.allow).nets, r: router.networkRoutes };
}
