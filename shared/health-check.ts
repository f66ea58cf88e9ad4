// The health checker's decision: from every vantage's latest probe results, which targets flip, with quorum (a
// majority of the configured vantages must agree), hysteresis (`fall` failures in a row to go down, `rise` successes
// in a row to come back), freshness (a vantage silent for three intervals does not vote), a minimum dwell between
// flips, and two rules that keep it from fighting people or the world: a pinned status is never changed, and it
// never marks every region of a residency group, or of the world, down on its own. Pure: no I/O, no clock.
import type { RouterConfig } from './config-schema';
import type { HealthDoc } from './schema';

export interface ProbeResult {
  /** ms since the epoch */
  readonly at: number;
  readonly ok: boolean;
  readonly ms: number;
  readonly status?: number;
  readonly error?: string;
}

/** What one vantage wrote (observations/<vantage>.json next to the document). */
export interface VantageObservations {
  readonly vantage: string;
  /** when it was written, ms since the epoch */
  readonly at: number;
  /** per target, its latest results, oldest first */
  readonly targets: Readonly<Record<string, readonly ProbeResult[]>>;
}

export interface Votes {
  readonly down: number;
  readonly up: number;
  /** vantages whose observations are fresh */
  readonly fresh: number;
  readonly quorum: number;
}

export interface Flip {
  readonly target: string;
  readonly to: 'up' | 'down';
  readonly votes: Votes;
}

export interface Suppressed extends Flip {
  readonly why: 'pinned' | 'dwell' | 'guard-rail';
}

export interface HealthDecision {
  readonly flips: readonly Flip[];
  readonly suppressed: readonly Suppressed[];
  /** the document with the flips applied (serial and updatedAt untouched), or null when nothing flips */
  readonly doc: HealthDoc | null;
}

type Check = NonNullable<RouterConfig['health']>;

/** How a vantage votes on a target: down after `fall` failures in a row, up after `rise` successes in a row. */
export function vote(results: readonly ProbeResult[], rise: number, fall: number): 'up' | 'down' | null {
  const lastFall = results.slice(-fall);
  if (lastFall.length === fall && lastFall.every((r) => !r.ok)) return 'down';
  const lastRise = results.slice(-rise);
  if (lastRise.length === rise && lastRise.every((r) => r.ok)) return 'up';
  return null;
}

/** A document with every region and environment up: a store's first. */
export function everyTargetUp(config: RouterConfig, serial: number, updatedAt: string): HealthDoc {
  const ids = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];
  return {
    version: 1,
    serial,
    updatedAt,
    regions: Object.fromEntries(ids.map((id) => [id, { status: 'up' as const }])),
  };
}

function emptyDoc(): HealthDoc {
  return { version: 1, serial: 0, updatedAt: new Date(0).toISOString(), regions: {} };
}

export function decideHealth(
  config: RouterConfig,
  doc: HealthDoc | null,
  observations: readonly VantageObservations[],
  now: number,
): HealthDecision {
  const check: Check | undefined = config.health;
  if (!check) return { flips: [], suppressed: [], doc: null };
  const probe = check.probe;
  const vantages = new Set(check.vantages);
  const quorum = Math.floor(vantages.size / 2) + 1;
  const maxAge = 3 * probe.intervalSeconds * 1000;
  const fresh = observations.filter((o) => vantages.has(o.vantage) && now - o.at <= maxAge);
  const base = doc ?? emptyDoc();
  const targets = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];

  const flips: Flip[] = [];
  const suppressed: Suppressed[] = [];
  for (const target of targets) {
    let down = 0;
    let up = 0;
    for (const o of fresh) {
      const v = vote(o.targets[target] ?? [], probe.rise, probe.fall);
      if (v === 'down') down++;
      else if (v === 'up') up++;
    }
    const votes = { down, up, fresh: fresh.length, quorum };
    const h = base.regions[target];
    const current = h?.status ?? 'up';
    const to = current === 'up' && down >= quorum ? 'down' : current === 'down' && up >= quorum ? 'up' : null;
    if (!to) continue;
    const flip = { target, to, votes } as const;
    if (h?.pinned) suppressed.push({ ...flip, why: 'pinned' });
    else if (h?.changedAt && now - Date.parse(h.changedAt) < check.minDwellSeconds * 1000) {
      suppressed.push({ ...flip, why: 'dwell' });
    } else flips.push(flip);
  }

  // Guard rail: never every region of the world, or of a residency group, down by the checker's own hand.
  const regions = Object.keys(config.regions);
  const downAfter = (id: string, fl: readonly Flip[]) => {
    const f = fl.find((x) => x.target === id);
    return f ? f.to === 'down' : (base.regions[id]?.status ?? 'up') === 'down';
  };
  const groups = [regions, ...(config.residency ?? []).map((g) => g.regions)];
  let kept = flips;
  for (const group of groups) {
    if (!group.every((id) => downAfter(id, kept))) continue;
    const blocked = kept.filter((f) => f.to === 'down' && group.includes(f.target));
    if (blocked.length === 0) continue; // already all down by an operator: not the checker's doing
    for (const f of blocked) suppressed.push({ ...f, why: 'guard-rail' });
    kept = kept.filter((f) => !blocked.includes(f));
  }

  if (kept.length === 0) return { flips: [], suppressed, doc: null };
  const next: HealthDoc = structuredClone(base);
  const at = new Date(now).toISOString();
  for (const f of kept) {
    next.regions[f.target] = {
      ...(next.regions[f.target] ?? { status: 'up' }),
      status: f.to,
      setBy: 'probe',
      changedAt: at,
    };
  }
  return { flips: kept, suppressed, doc: next };
}
