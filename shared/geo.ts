// Geometry for ranking regions by expected latency. Only used when a router is compiled, and for viewers
// who come with latitude/longitude; a request with only a country does a table lookup.
import { type Anchor, anchorAt, nearestAnchor } from './anchor';
import { AWS_REGIONS, awsLatencyMs, type Place } from './geo-data';

export { type Anchor, nearestAnchor };

const EARTH_KM = 6371;
const RAD = Math.PI / 180;
// Round-trip ms per great-circle km: light in fibre covers ~200 km/ms one way, and real paths are
// about twice the great-circle distance, so RTT ≈ 2 × 2 × km / 200.
const RTT_MS_PER_KM = 0.02;

export function distanceKm(a: Place, b: Place): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Every AWS region with measured latencies: the network points a viewer is attached to. */
export const ANCHORS: readonly Anchor[] = [...AWS_REGIONS].map(([code, place]) => anchorAt(code, place));

export interface Site {
  readonly id: string;
  readonly place: Place;
}

/**
 * Expected round-trip ms from the anchor (the viewer's nearest AWS region) to a configured site.
 * An AWS region code uses the measured p50 matrix; a non-AWS site is reached through the AWS region
 * nearest to it, plus a fibre estimate for the last leg.
 */
export function expectedLatencyMs(anchor: Anchor, site: Site): number {
  const measured = awsLatencyMs(anchor.code, site.id);
  if (measured !== undefined) return measured;
  const via = ANCHORS[nearestAnchor(site.place.lat, site.place.lon, ANCHORS)];
  const hop = awsLatencyMs(anchor.code, via.code) ?? distanceKm(anchor.place, via.place) * RTT_MS_PER_KM;
  return hop + distanceKm(via.place, site.place) * RTT_MS_PER_KM;
}

/**
 * The columns of the latency matrix expectedLatencyMs reads for these sites, from any anchor: each site's own, and
 * the AWS region it is reached through. A bundle carries only these (esbuild.config.mjs): the same rankings, from
 * a fraction of the matrix.
 */
export function latencyColumns(sites: readonly Site[]): string[] {
  const out = new Set<string>();
  for (const s of sites) {
    out.add(s.id);
    out.add(ANCHORS[nearestAnchor(s.place.lat, s.place.lon, ANCHORS)].code);
  }
  return [...out];
}

/**
 * Sites ordered by expected latency from the anchor (whole ms), ties broken by distance from the viewer's
 * position, then by id, so the order is total and the same in every runtime.
 */
export function rankSites(anchor: Anchor, viewer: Place, sites: readonly Site[]): Site[] {
  const keyed = sites.map((s) => ({
    s,
    ms: Math.round(expectedLatencyMs(anchor, s)),
    km: distanceKm(viewer, s.place),
  }));
  keyed.sort((a, b) => a.ms - b.ms || a.km - b.km || (a.s.id < b.s.id ? -1 : 1));
  return keyed.map((k) => k.s);
}
