// The first stage of the policy: plan(router, doc) → Plan, once per health document. Everything that depends on
// the document is resolved here, for every ranking at once: health, roles, residency, fail-open, the retry
// targets and canary eligibility. What is left for a request (shared/pick.ts) is a short walk: the dial buckets,
// the canary bucket and its schedule, the affinity value's region. Pure: no I/O, no clock, never throws.
//
// A walk (shared/walk.ts) is also the value CloudFront Functions read from the KeyValueStore, one per ranking. This
// file runs where there is room (Node.js: Lambda@Edge, the CLI, the publishers), never in CloudFront Functions.
import { fnv1a32 } from './hash';
import { hasOwn } from './own';
import type { Router, RouteTable } from './router';
import type { HealthDoc } from './schema';
import { type CanaryWalk, type Excluded, KEEP_ALL, type Step, type Walk } from './walk';

/** The health document as planning reads it: possibly absent, possibly not validated. */
export type DocInput = HealthDoc | null | undefined;

export interface Plan {
  readonly table: RouteTable;
  /** the document's serial; null without a document */
  readonly serial: number | null;
  /** by ranking (table.rankings); a missing walk is that of no document (fallbackWalk) */
  readonly walks: ArrayLike<Walk | undefined>;
  /** why planning failed, if it did: every pick then goes to the fallback region, reason `error` */
  readonly error?: string;
}

interface Health {
  readonly down: boolean;
  readonly role: 'active' | 'standby' | 'pilot';
  /** dial threshold */
  readonly keep: number;
  readonly canaryDown: boolean;
  /** down because this container ejected it (passive health), not because the document says so */
  readonly ejected?: 'region' | 'canary';
}

const UP: Health = { down: false, role: 'active', keep: KEEP_ALL, canaryDown: false };

/**
 * What a Lambda@Edge container has ejected by passive health (shared/outlier.ts): planned as down (a region) or
 * canary down, and said so in the trace. The document's word comes first: a region it says is down is down.
 */
export interface Ejections {
  readonly regions?: readonly string[];
  readonly canaries?: readonly string[];
}

function withEjections(h: Health, id: string, ejected: Ejections | undefined): Health {
  if (!ejected) return h;
  if (!h.down && ejected.regions?.includes(id)) return { ...h, down: true, ejected: 'region' };
  if (!h.canaryDown && ejected.canaries?.includes(id)) return { ...h, canaryDown: true, ejected: 'canary' };
  return h;
}

/** A region's health from the doc; a region missing from it (or any doc problem) reads as up, active, dial 100. */
function healthOf(doc: DocInput, id: string): Health {
  const regions = doc?.regions;
  if (typeof regions !== 'object' || regions === null || !hasOwn(regions, id)) return UP;
  const h = regions[id] as unknown;
  if (typeof h !== 'object' || h === null) return UP;
  const { status, role, dial, canaryStatus } = h as Record<string, unknown>;
  return {
    down: status === 'down',
    role: role === 'standby' || role === 'pilot' ? role : 'active',
    // NaN and anything from 100 up keep everyone; anything below 0 no one
    keep: typeof dial === 'number' && dial < 100 ? Math.max(0, Math.round(dial * 100)) : KEEP_ALL,
    canaryDown: canaryStatus === 'down',
  };
}

/** percent → threshold; anything but a positive number is 0 (no one). */
function threshold(pct: unknown): number {
  return typeof pct === 'number' && pct > 0 ? Math.min(KEEP_ALL, Math.round(pct * 100)) : 0;
}

/** The document's canary as thresholds, or undefined when it can send no one at any time. */
function canaryOf(doc: DocInput): Omit<CanaryWalk, 'r'> | undefined {
  const canary = doc?.canary as unknown;
  if (typeof canary !== 'object' || canary === null) return undefined;
  const c = canary as Record<string, unknown>;
  const p = threshold(c.percent);
  let most = p;
  const t: number[] = [];
  if (Array.isArray(c.schedule)) {
    // the edge's clock passes the steps in order: a step without a valid time ends the schedule
    for (const step of c.schedule as unknown[]) {
      const at = typeof step === 'object' && step !== null ? (step as Record<string, unknown>).at : undefined;
      const ms = typeof at === 'string' ? Date.parse(at) : Number.NaN;
      if (!Number.isFinite(ms)) break;
      const k = threshold((step as Record<string, unknown>).percent);
      t.push(ms, k);
      most = Math.max(most, k);
    }
  }
  if (most === 0) return undefined;
  const h = fnv1a32(`canary:${typeof c.seed === 'string' ? c.seed : ''}:`);
  return t.length ? { p, t, h } : { p, h };
}

/** Whether the canary names the region (no list: every region with a canaryOrigin). */
function inCanary(doc: DocInput, id: string): boolean {
  const regions = (doc?.canary as { regions?: unknown } | undefined)?.regions;
  return !Array.isArray(regions) || regions.includes(id);
}

const pct = (keep: number) => keep / 100;

/**
 * The walk of one ranking. Candidates are taken in order: pilots are skipped; standbys are held back; the first
 * active candidate is the nearest, whatever its health; each active one that is up is a step, kept by its dial, until
 * one keeps everyone. If every step may spill, a last step keeps the viewer on the first of them (a dial cannot send
 * traffic nowhere); with no active candidate up, the first standby up; with nothing up, the best-ranked candidate
 * regardless of health, preferring one that is not a pilot light (fail open, as Route 53 and Global Accelerator do).
 */
function walkOf(
  router: Router,
  order: readonly number[],
  text: string,
  health: readonly Health[],
  doc: DocInput,
  canary: Omit<CanaryWalk, 'r'> | undefined,
): Walk {
  const says: string[] = [text];
  const s: Step[] = [];
  const actives: number[] = [];
  const standbys: number[] = [];
  const x: Record<string, Excluded> = {};
  let excluded = false;
  let nearest = -1;
  let nearestDown = false;
  let kept = false;
  const canaryRegions: number[] = [];
  for (const i of order) {
    const h = health[i];
    const id = router.regions[i];
    if (h.down || h.role === 'pilot') {
      x[i] = h.down ? 'region-down' : 'region-pilot';
      excluded = true;
    }
    if (canary && router.canaries.includes(i) && inCanary(doc, id)) {
      if (h.down || h.canaryDown) {
        const why =
          h.ejected === 'canary' ? 'canary ejected (passive health)' : h.down ? 'down' : 'canary down';
        says.push(`canary: ${id} ${why}, none sent`);
      } else canaryRegions.push(i);
    }
    if (h.role === 'pilot') {
      says.push(`${id}: pilot, skipped`);
      continue;
    }
    if (h.role === 'standby') {
      if (!h.down) standbys.push(i);
      says.push(`${id}: standby${h.down ? ', down' : ''}, held back`);
      continue;
    }
    if (nearest < 0) {
      nearest = i;
      nearestDown = h.down;
    }
    if (h.down) {
      says.push(`${id}: ${h.ejected === 'region' ? 'ejected (passive health)' : 'down'}`);
      continue;
    }
    actives.push(i);
    if (!kept) {
      const reason = i === nearest ? 'nearest' : nearestDown ? 'failover' : 'dial-spill';
      s.push(h.keep < KEEP_ALL ? [i, h.keep, reason, fnv1a32(`dial:${id}:`)] : [i, h.keep, reason]);
      kept = h.keep >= KEEP_ALL;
    }
  }
  const name = (i: number) => router.regions[i];
  if (!kept) {
    if (actives.length) {
      const first = actives[0];
      s.push([first, KEEP_ALL, first === nearest ? 'nearest' : 'failover']);
    } else if (standbys.length) {
      s.push([standbys[0], KEEP_ALL, 'standby']);
    } else {
      // nothing up: the first candidate that is not a pilot light, else the first
      let open = order[0];
      for (const i of order) {
        if (health[i].role !== 'pilot') {
          open = i;
          break;
        }
      }
      s.push([open, KEEP_ALL, 'fail-open']);
    }
  }
  const n = [...actives, ...standbys].slice(0, 2);
  const steps = s.map(([i, keep, why], k) => {
    const last = k === s.length - 1;
    const spilled = last && k > 0 && i === s[0][0];
    return `${name(i)} (${why}${keep < KEEP_ALL ? `, dial ${pct(keep)}` : ''}${spilled ? ', every up candidate spilled: dial ignored' : ''})`;
  });
  says.push(`walk: ${steps.join(' → ')}`);
  says.push(n.length ? `retry: ${n.map(name).join(', else ')}` : 'retry: none');
  if (excluded) {
    const not = Object.keys(x).map(
      (k) =>
        `${name(Number(k))} (${x[k] === 'region-down' ? (health[Number(k)].ejected === 'region' ? 'ejected' : 'down') : 'pilot'})`,
    );
    says.push(`affinity: not to ${not.join(', ')}`);
  }
  const c = canary && canaryRegions.length ? { r: canaryRegions, ...canary } : undefined;
  if (c) {
    const schedule = c.t ? `, then ${scheduleWords(c.t)}` : '';
    says.push(`canary: ${pct(c.p)}%${schedule} of ${canaryRegions.map(name).join(', ')}`);
  }
  return { s, n, ...(excluded ? { x } : {}), ...(c ? { c } : {}), says };
}

function scheduleWords(t: readonly number[]): string {
  const words: string[] = [];
  for (let i = 0; i < t.length; i += 2) words.push(`${pct(t[i + 1])}% at ${new Date(t[i]).toISOString()}`);
  return words.join(', ');
}

/**
 * Plans a document for a compiled router: one walk per ranking. Never throws; a document that is absent or not
 * validated reads as every region up wherever it is missing or malformed. `ejected`: what a Lambda@Edge container's
 * passive health has ejected, planned as down.
 */
export function plan(router: Router, doc: DocInput, ejected?: Ejections): Plan {
  const serial = doc && typeof doc.serial === 'number' ? doc.serial : null;
  try {
    const health = router.regions.map((id) => withEjections(healthOf(doc, id), id, ejected));
    const canary = canaryOf(doc);
    const walks = router.orders.map((r) => walkOf(router, r.order, r.text, health, doc, canary));
    return { table: router, serial, walks };
  } catch (e) {
    return {
      table: router,
      serial,
      walks: [],
      error: `no plan: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

/** The version of the stored walk's format (shared/walk.ts): raise it whenever that format changes. */
export const WALK_FORMAT = 'walk/2';

/**
 * What a walk's numbers refer to: the regions (in order, with whether each has a canary origin) and every ranking
 * (its residency group and candidates). A function built from a config with another fingerprint cannot read this
 * plan's walks; anything else in a config (origins, networks, overrides, affinity, sticky keys) may change without
 * changing it. The walk's format (WALK_FORMAT) is part of it too, so that a function never reads walks written by a
 * publisher of another format: it routes on its baked defaults until its own kind are published.
 */
export function fingerprint(router: Router): string {
  const regions = router.regions.map((id, i) => (router.canaries.includes(i) ? `${id}+` : id));
  const rankings = router.orders.map((r) => `${r.group}:${r.order.join(',')}`);
  return fnv1a32(`${WALK_FORMAT}|${regions.join(' ')}|${rankings.join(' ')}`).toString(36);
}
