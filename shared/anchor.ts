// The viewer's anchor: the AWS region nearest to a point, by the largest dot product of unit vectors. No data
// imports, so the request path (shared/pick.ts) stays small; the anchors come compiled in the Router.
import type { Place } from './geo-data';

const RAD = Math.PI / 180;

/**
 * Steps per unit of the vectors viewers are placed against: each coordinate in [-1, 1] is a whole number of steps
 * (0 to 6083: two characters in base 78, shared/baked.ts), about 2 km on the globe. Every runtime places viewers
 * against the same vectors; nearest to an AWS region needs no more.
 */
export const STEPS = 3041.5;

/** A coordinate of a unit vector on the step grid. */
export function onSteps(v: number): number {
  return Math.round((v + 1) * STEPS) / STEPS - 1;
}

/** A point on the globe as a unit vector, so the nearest is the one with the largest dot product. */
export interface Point {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

export interface Anchor extends Point {
  readonly code: string;
  readonly place: Place;
}

export function anchorAt(code: string, place: Place): Anchor {
  const la = place.lat * RAD;
  const lo = place.lon * RAD;
  return { code, place, x: Math.cos(la) * Math.cos(lo), y: Math.cos(la) * Math.sin(lo), z: Math.sin(la) };
}

/** Index into `anchors` of the one nearest (great circle) to a point. */
export function nearestAnchor(lat: number, lon: number, anchors: readonly Point[]): number {
  const la = lat * RAD;
  const lo = lon * RAD;
  const c = Math.cos(la);
  const x = c * Math.cos(lo);
  const y = c * Math.sin(lo);
  const z = Math.sin(la);
  let best = 0;
  let bestDot = -2;
  for (let i = 0; i < anchors.length; i++) {
    const a = anchors[i];
    const dot = a.x * x + a.y * y + a.z * z;
    if (dot > bestDot) {
      bestDot = dot;
      best = i;
    }
  }
  return best;
}
