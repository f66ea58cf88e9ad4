// The health checker's decision: from every vantage's latest probe results, which targets flip, with quorum (a
// majority of the configured vantages must agree), hysteresis (`fall` failures in a row to go down, `rise` successes
// in a row to come back), freshness (a vantage silent for three intervals does not vote), a minimum dwell between
// flips, and two rules that keep it from fighting people or the world: a held status (an operator's change, until
// handed back or its hold ends) is never changed, and it never marks every region of a residency group, or of the
// world, down on its own. Pure: no I/O, no clock.
import type { RouterConfig } from './config-schema';
import type { HealthDoc, RegionHealth } from './schema';

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
  readonly why: 'held' | 'dwell' | 'guard-rail';
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

/** An operator's hold on a region, if it holds at `now`: a hold until handed back or until its end (`pinned`, of older documents, holds with no end). */
export function holdOf(
  h: RegionHealth | undefined,
  now: number,
): { readonly by: string; readonly since?: string; readonly until?: string } | undefined {
  if (h?.hold && (h.hold.until === undefined || now < Date.parse(h.hold.until))) return h.hold;
  if (h?.pinned) return { by: h.setBy ?? 'operator', since: h.changedAt };
  return undefined;
}

/** How a hold reads: "held by alice since …, until …" (or "until handed back"). */
export function holdWords(hold: {
  readonly by: string;
  readonly since?: string;
  readonly until?: string;
}): string {
  return `held by ${hold.by}${hold.since ? ` since ${hold.since}` : ''}, ${hold.until ? `until ${hold.until}` : 'until handed back (doc status ID auto)'}`;
}

/** Each target's votes from the vantages' fresh observations (quorum: a majority of the configured vantages). */
export function votesOf(
  config: RouterConfig,
  observations: readonly VantageObservations[],
  now: number,
): Record<string, Votes & { readonly verdict: 'up' | 'down' | null }> {
  const out: Record<string, Votes & { verdict: 'up' | 'down' | null }> = {};
  const check = config.health;
  if (!check) return out;
  const probe = check.probe;
  const vantages = new Set(check.vantages);
  const quorum = Math.floor(vantages.size / 2) + 1;
  const maxAge = 3 * probe.intervalSeconds * 1000;
  const fresh = observations.filter((o) => vantages.has(o.vantage) && now - o.at <= maxAge);
  for (const target of [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})]) {
    let down = 0;
    let up = 0;
    for (const o of fresh) {
      const v = vote(o.targets[target] ?? [], probe.rise, probe.fall);
      if (v === 'down') down++;
      else if (v === 'up') up++;
    }
    const verdict = down >= quorum ? 'down' : up >= quorum ? 'up' : null;
    out[target] = { down, up, fresh: fresh.length, quorum, verdict };
  }
  return out;
}

export function decideHealth(
  config: RouterConfig,
  doc: HealthDoc | null,
  observations: readonly VantageObservations[],
  now: number,
): HealthDecision {
  const check: Check | undefined = config.health;
  if (!check) return { flips: [], suppressed: [], doc: null };
  const base = doc ?? emptyDoc();
  const votesByTarget = votesOf(config, observations, now);

  const flips: Flip[] = [];
  const suppressed: Suppressed[] = [];
  for (const target of Object.keys(votesByTarget)) {
    const { verdict, ...votes } = votesByTarget[target];
    const h = base.regions[target];
    const current = h?.status ?? 'up';
    const to = verdict !== null && verdict !== current ? verdict : null;
    if (!to) continue;
    const flip = { target, to, votes } as const;
    if (holdOf(h, now)) suppressed.push({ ...flip, why: 'held' });
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
    // a hold that has ended is dropped with the flip it no longer stops
    const { hold: _, pinned: __, ...rest } = next.regions[f.target] ?? { status: 'up' };
    next.regions[f.target] = { ...rest, status: f.to, setBy: 'probe', changedAt: at };
  }
  return { flips: kept, suppressed, doc: next };
}
