// Baking a compiled router into the plain tables of shared/baked.ts, at build time (Node.js): what the CloudFront
// Functions file carries instead of a config it has no room to compile.
import type { Baked, BakedCidrs, BakedOrigin } from './baked';
import type { CidrTable } from './net';
import type { ResolvedOrigin, Router } from './router';

/** The baked form of a compiled router (build time, Node.js). */
export function bake(router: Router): Baked {
  const countries = router.rankings.map(() => '');
  for (const [cc, c] of router.byCountry) {
    if (!/^[A-Z]{2}$/.test(cc)) throw new Error(`country code ${cc} is not two capital letters`);
    countries[c.ranking] += cc;
  }
  return {
    regions: router.regions.map((r) =>
      r.canary ? [r.id, bakeOrigin(r.origin), bakeOrigin(r.canary.origin)] : [r.id, bakeOrigin(r.origin)],
    ),
    environments: [...router.environments].map(([id, e]) => [id, bakeOrigin(e.origin)]),
    fallback: router.fallback,
    rankings: router.rankings.map((r) => [r.group + 1, ...r.top]),
    // whole 1/10000 degrees: the same doubles after division, fewer characters than decimals
    anchorPlaces: router.anchors.flatMap((a) => [
      Math.round(a.place.lat * 1e4),
      Math.round(a.place.lon * 1e4),
    ]),
    byAnchor: router.byAnchor.map((row) => row.slice()),
    countries,
    noGeo: router.noGeo,
    residency: router.residency.map((g) => g.slice()),
    networks: bakeCidrs(router.networks),
    networkRoutes: router.networkRoutes.map((r) => [r.name, r.target]),
    allow: bakeCidrs(router.allow),
    needsIp: router.needsIp,
    maxTokenTtlSeconds: router.maxTokenTtlSeconds,
    sticky: router.sticky,
    affinity: router.affinity,
  };
}

/** The default origin (https, 443, no path) as its domain name alone. */
function bakeOrigin(o: ResolvedOrigin): BakedOrigin {
  return o.protocol === 'https' && o.port === 443 && o.path === ''
    ? o.domainName
    : [o.domainName, o.port, o.protocol, o.path];
}

function bakeCidrs<T>(t: CidrTable<T>): BakedCidrs<T> {
  return {
    size: t.size,
    starts4: Array.prototype.slice.call(t.starts4),
    values4: t.values4.map((v) => (v === undefined ? null : v)),
    nets6: Array.prototype.slice.call(t.nets6),
    masks6: Array.prototype.slice.call(t.masks6),
    values6: t.values6.slice(),
  };
}
