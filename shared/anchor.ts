// The viewer's anchor: the AWS region nearest to a point, by the largest dot product of unit vectors. No data
// imports, so the request path (shared/route.ts) stays small; the anchors come compiled in the Router.
import type { Place } from './geo-data';

const RAD = Math.PI / 180;

/**
 * Grid steps per degree of the places viewers are attached to: 0.1° (about 11 km), so that every runtime carries the
 * same anchors, in four characters each (shared/baked.ts). Placing a viewer at the nearest AWS region needs no more.
 */
export const GRID = 10;

/** A coordinate on the anchor grid, `offset` (90 for latitude, 180 for longitude) making it positive. */
export function onGrid(v: number, offset: number): number {
  return Math.round((v + offset) * GRID) / GRID - offset;
}

export interface Anchor {
  readonly code: string;
  readonly place: Place;
  // unit vector, so the nearest anchor is the one with the largest dot product
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

export function anchorAt(code: string, place: Place): Anchor {
  const la = place.lat * RAD;
  const lo = place.lon * RAD;
  return { code, place, x: Math.cos(la) * Math.cos(lo), y: Math.cos(la) * Math.sin(lo), z: Math.sin(la) };
}

/** Index into `anchors` of the one nearest (great circle) to a point. */
export function nearestAnchor(lat: number, lon: number, anchors: readonly Anchor[]): number {
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
