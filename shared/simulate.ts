// Dry run of a health-document change: who goes where before and after, weighted by a traffic mix. Pure and
// deterministic: every country's viewers are sampled with the same synthetic keys, so dials and canaries split
// them exactly as the edge would.
import { COUNTRIES } from './geo-data';
import { type Decision, pick, type Reason } from './pick';
import { plan } from './plan';
import type { Problem } from './problems';
import type { Router } from './router';
import type { HealthDoc } from './schema';

/** Traffic weight per ISO country code. */
export type TrafficMix = ReadonlyMap<string, number>;

export interface SimulationReport {
  /** percent of all traffic per destination ("eu-central-1", "eu-central-1 (canary)", "staging") */
  readonly before: Record<string, number>;
  readonly after: Record<string, number>;
  /** percent of all traffic from a destination before to one after (moves and stays) */
  readonly matrix: Record<string, Record<string, number>>;
  /** percent of all traffic whose destination changes */
  readonly moved: number;
  /** per region, its load (canary included) before and after, in percent of all traffic */
  readonly regions: Record<
    string,
    { readonly before: number; readonly after: number; readonly delta: number }
  >;
  /** the countries whose viewers move, with where they go; the largest share of traffic first */
  readonly countries: Record<
    string,
    {
      readonly share: number;
      readonly before: Record<string, number>;
      readonly after: Record<string, number>;
    }
  >;
  readonly samplesPerCountry: number;
}

export function parseTrafficCsv(text: string): { mix: Map<string, number>; errors: Problem[] } {
  const mix = new Map<string, number>();
  const errors: Problem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || (i === 0 && /^country\s*,/i.test(line))) return;
    const [cc, w, extra] = line.split(',').map((s) => s.trim());
    const n = Number(w);
    if (
      extra !== undefined ||
      !/^[A-Za-z]{2}$/.test(cc ?? '') ||
      w === undefined ||
      w === '' ||
      !Number.isFinite(n) ||
      n < 0
    ) {
      errors.push({
        path: `line ${i + 1}`,
        message: `expected "country,weight" (ISO code, a number >= 0): ${JSON.stringify(raw.slice(0, 80))}`,
      });
      return;
    }
    mix.set(cc.toUpperCase(), (mix.get(cc.toUpperCase()) ?? 0) + n);
  });
  return { mix, errors };
}

/** Where a decision sends the viewer, telling a region's canary from the region: "ap-northeast-2 (canary)". */
export function destinationOf(d: Decision): string {
  return d.reason === 'canary' ? `${d.target.id} (canary)` : d.target.id;
}

const round = (n: number) => Math.round(n * 100) / 100;

export function simulate(
  router: Router,
  from: HealthDoc | null,
  to: HealthDoc | null,
  mix: TrafficMix,
  now: number,
  samplesPerCountry = 200,
): SimulationReport {
  let total = 0;
  for (const [cc, w] of mix) if (router.byCountry.has(cc)) total += w;
  const before: Record<string, number> = {};
  const after: Record<string, number> = {};
  const matrix: Record<string, Record<string, number>> = {};
  const moves: [string, { share: number; before: Record<string, number>; after: Record<string, number> }][] =
    [];
  let moved = 0;
  const planFrom = plan(router, from);
  const planTo = plan(router, to);
  if (total > 0) {
    for (const [cc, w] of mix) {
      if (!router.byCountry.has(cc) || w <= 0) continue;
      const share = (w / total) * 100;
      const each = share / samplesPerCountry;
      const cb: Record<string, number> = {};
      const ca: Record<string, number> = {};
      let changed = false;
      for (let i = 0; i < samplesPerCountry; i++) {
        const facts = { country: cc, ip: `sim-${i}`, now };
        const a = destinationOf(pick(planFrom, facts));
        const b = destinationOf(pick(planTo, facts));
        before[a] = (before[a] ?? 0) + each;
        after[b] = (after[b] ?? 0) + each;
        matrix[a] ??= {};
        matrix[a][b] = (matrix[a][b] ?? 0) + each;
        cb[a] = (cb[a] ?? 0) + 100 / samplesPerCountry;
        ca[b] = (ca[b] ?? 0) + 100 / samplesPerCountry;
        if (a !== b) {
          moved += each;
          changed = true;
        }
      }
      if (changed) moves.push([cc, { share: round(share), before: roundAll(cb), after: roundAll(ca) }]);
    }
  }
  const countries = Object.fromEntries(
    moves.sort((a, b) => b[1].share - a[1].share || (a[0] < b[0] ? -1 : 1)),
  );
  const regions: Record<string, { before: number; after: number; delta: number }> = {};
  for (const id of router.regions) {
    const load = (m: Record<string, number>) => (m[id] ?? 0) + (m[`${id} (canary)`] ?? 0);
    const b = round(load(before));
    const a = round(load(after));
    regions[id] = { before: b, after: a, delta: round(a - b) };
  }
  return {
    before: roundAll(before),
    after: roundAll(after),
    matrix: Object.fromEntries(Object.entries(matrix).map(([k, v]) => [k, roundAll(v)])),
    moved: round(moved),
    regions,
    countries,
    samplesPerCountry,
  };
}

function roundAll(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(m)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, round(v)]),
  );
}

export interface TableRow {
  readonly target: string;
  readonly reason: Reason;
  /**
   * percent of viewers per destination ("eu-central-1", "ap-northeast-2 (canary)"), present when dials or a
   * canary split the country's viewers
   */
  readonly split?: Readonly<Record<string, number>>;
}

/** Viewer keys sampled per country when dials or a canary split traffic (0.1 % resolution). */
const SAMPLES = 1000;

/** For every country CloudFront can send, where its viewers go and why, at time `now`. */
export function routingTable(router: Router, doc: HealthDoc | null, now: number): Record<string, TableRow> {
  const splits =
    doc !== null &&
    (Object.values(doc.regions).some((h) => h.dial !== undefined && h.dial < 100) ||
      doc.canary !== undefined);
  const table: Record<string, TableRow> = {};
  const p = plan(router, doc);
  for (const iso of [...COUNTRIES.keys()].sort()) {
    if (!splits) {
      const d = pick(p, { country: iso, now });
      table[iso] = { target: d.target.id, reason: d.reason };
      continue;
    }
    // dials and canaries split a country's viewers by key: sample keys, report the majority and the split
    const counts = new Map<string, { n: number; target: string; reason: Reason }>();
    for (let i = 0; i < SAMPLES; i++) {
      const d = pick(p, { country: iso, ip: `sample-${i}`, now });
      const label = destinationOf(d);
      const c = counts.get(label);
      counts.set(label, { n: (c?.n ?? 0) + 1, target: d.target.id, reason: c?.reason ?? d.reason });
    }
    const ranked = [...counts].sort((a, b) => b[1].n - a[1].n);
    const { target, reason } = ranked[0][1];
    table[iso] =
      ranked.length === 1
        ? { target, reason }
        : {
            target,
            reason,
            split: Object.fromEntries(ranked.map(([label, c]) => [label, (c.n * 100) / SAMPLES])),
          };
  }
  return table;
}
