import fc from 'fast-check';
import {
  fallbackWalk,
  fingerprint,
  fnv1a32,
  type HealthDoc,
  type Plan,
  pick,
  plan,
  type RegionHealth,
  route,
  type Walk,
} from '../shared';
import { KEEP_ALL } from '../shared/walk';
import { factsArb, healthArb } from './helpers/arbitraries';
import { BOTH_CONFIGS, routerOf } from './helpers/load';

const CONFIGS = BOTH_CONFIGS;

function docOf(
  regions: Record<string, RegionHealth>,
  extra: Partial<HealthDoc> = {},
  serial = 11,
): HealthDoc {
  return { version: 1, serial, updatedAt: '2026-11-25T08:00:00Z', regions, ...extra };
}

/** The walk of ranking r, which plan() must give (a missing walk would silently mean the fallback). */
function walkOf(p: Plan, r: number): Walk {
  const w = p.walks[r];
  if (!w) throw new Error(`no walk for ranking ${r}`);
  return w;
}

/** Only what a pick reads of a walk: not the words. */
const bare = (w: Walk) => {
  const { says: _, ...rest } = w;
  return rest;
};

describe.each(CONFIGS)('plan() for %s', (_name, file) => {
  const router = routerOf(file);
  const R = router.orders.length;
  const ids = router.regions;

  test('the config has several rankings, each with its own walk', () => {
    expect(R).toBeGreaterThan(3);
    expect(router.rankings.length).toBe(3 * R);
    const p = plan(router, null);
    expect(p.error).toBeUndefined();
    expect(p.serial).toBeNull();
    expect(p.walks.length).toBe(R);
  });

  test.each([
    ['null', null],
    ['undefined', undefined],
  ])('plan(router, %s) gives fallbackWalk(table, r) for every ranking', (_what, doc) => {
    const p = plan(router, doc);
    for (let r = 0; r < R; r++) {
      const w = walkOf(p, r);
      const fb = fallbackWalk(router, r);
      expect({ r, s: w.s, n: w.n }).toEqual({ r, s: fb.s, n: fb.n });
      // nothing excluded, no canary, with no document
      expect(w.x).toBeUndefined();
      expect(w.c).toBeUndefined();
      expect(bare(w)).toEqual(fb);
    }
  });

  test('fallbackWalk is the ranking itself: its first candidate, kept, and its second as the retry', () => {
    for (let r = 0; r < R; r++) {
      const order = router.orders[r].order;
      const fb = fallbackWalk(router, r);
      expect(fb.s).toEqual([[order[0], KEEP_ALL, 'nearest']]);
      expect(fb.n).toEqual(order.slice(0, 2));
    }
  });

  test('a document with every region up, active, dial 100 plans exactly the fallback walks', () => {
    const doc = docOf(
      Object.fromEntries(ids.map((id) => [id, { status: 'up', role: 'active', dial: 100 } as RegionHealth])),
    );
    const p = plan(router, doc);
    expect(p.serial).toBe(11);
    for (let r = 0; r < R; r++) expect(bare(walkOf(p, r))).toEqual(fallbackWalk(router, r));
  });

  test('a region down is in no step and no retry; where it was the nearest, the next candidate takes over (failover)', () => {
    let failovers = 0;
    ids.forEach((id, i) => {
      const p = plan(router, docOf({ [id]: { status: 'down' } }));
      for (let r = 0; r < R; r++) {
        const order = router.orders[r].order;
        const w = walkOf(p, r);
        if (!order.includes(i)) {
          expect(bare(w)).toEqual(fallbackWalk(router, r));
          continue;
        }
        if (order.length === 1) {
          // nothing else up: fail open to the down region itself
          expect(w.s).toEqual([[i, KEEP_ALL, 'fail-open']]);
          continue;
        }
        expect(w.s.map((s) => s[0])).not.toContain(i);
        expect(w.n).not.toContain(i);
        expect(w.x).toEqual({ [i]: 'region-down' });
        const up = order.filter((k) => k !== i);
        expect(w.n).toEqual(up.slice(0, 2));
        if (order[0] === i) {
          failovers++;
          expect(w.s).toEqual([[order[1], KEEP_ALL, 'failover']]);
        } else {
          expect(w.s).toEqual([[order[0], KEEP_ALL, 'nearest']]);
        }
      }
    });
    expect(failovers).toBeGreaterThan(0);
  });

  test.each([
    [0, 0],
    [0.01, 1],
    [37.5, 3750],
    [50, 5000],
    [99.99, 9999],
  ])(
    'dial %p on the nearest region: a step at threshold %p with the dial hash, then a dial-spill step keeping everyone',
    (dial, keep) => {
      let seen = 0;
      ids.forEach((id, i) => {
        const p = plan(router, docOf({ [id]: { status: 'up', dial } }));
        for (let r = 0; r < R; r++) {
          const order = router.orders[r].order;
          const w = walkOf(p, r);
          if (order[0] !== i) {
            if (!order.includes(i)) expect(bare(w)).toEqual(fallbackWalk(router, r));
            continue;
          }
          seen++;
          const first = [i, keep, 'nearest', fnv1a32(`dial:${id}:`)];
          // a ranking of one region: the dial cannot send its viewers nowhere; they stay on it
          const last = order.length > 1 ? [order[1], KEEP_ALL, 'dial-spill'] : [i, KEEP_ALL, 'nearest'];
          expect(w.s).toEqual([first, last]);
          expect(w.s[w.s.length - 1]).toHaveLength(3);
          // a dial does not exclude the region, nor take it from the retry
          expect(w.x).toBeUndefined();
          expect(w.n).toEqual(order.slice(0, 2));
        }
      });
      expect(seen).toBeGreaterThan(0);
    },
  );

  test('the dial hash is per region: two regions dialled down hash differently', () => {
    const hashes = new Set(ids.map((id) => fnv1a32(`dial:${id}:`)));
    expect(hashes.size).toBe(ids.length);
  });

  test('every active candidate dialled below 100: a step per region, then the first kept (every up candidate spilled)', () => {
    const doc = docOf(Object.fromEntries(ids.map((id) => [id, { status: 'up', dial: 10 } as RegionHealth])));
    const p = plan(router, doc);
    for (let r = 0; r < R; r++) {
      const order = router.orders[r].order;
      const w = walkOf(p, r);
      expect(w.s).toEqual([
        ...order.map((i, k) => [i, 1000, k === 0 ? 'nearest' : 'dial-spill', fnv1a32(`dial:${ids[i]}:`)]),
        [order[0], KEEP_ALL, 'nearest'],
      ]);
    }
  });

  test('pilots are skipped and excluded; standbys held back until no active candidate is up', () => {
    let seen = 0;
    for (let r = 0; r < R; r++) {
      const order = router.orders[r].order;
      if (order.length < 3) continue;
      seen++;
      const [a, b, c] = order;
      // the nearest a pilot, the second a standby: the third, the first active candidate, is the nearest
      const p1 = plan(
        router,
        docOf({ [ids[a]]: { status: 'up', role: 'pilot' }, [ids[b]]: { status: 'up', role: 'standby' } }),
      );
      const w1 = walkOf(p1, r);
      expect(w1.s[0]).toEqual([c, KEEP_ALL, 'nearest']);
      expect(w1.x).toEqual({ [a]: 'region-pilot' });
      expect(w1.n[0]).toBe(c);
      expect(w1.n).not.toContain(a);
      // every candidate but b down: b, the standby, takes everyone
      const down = Object.fromEntries(order.map((i) => [ids[i], { status: 'down' } as RegionHealth]));
      const p2 = plan(router, docOf({ ...down, [ids[b]]: { status: 'up', role: 'standby' } }));
      expect(walkOf(p2, r).s).toEqual([[b, KEEP_ALL, 'standby']]);
      expect(walkOf(p2, r).n).toEqual([b]);
    }
    expect(seen).toBeGreaterThan(0);
  });

  test('every region down: fail open to the best-ranked candidate that is not a pilot light', () => {
    const down = Object.fromEntries(ids.map((id) => [id, { status: 'down' } as RegionHealth]));
    const p = plan(router, docOf(down));
    for (let r = 0; r < R; r++) {
      const order = router.orders[r].order;
      expect(walkOf(p, r).s).toEqual([[order[0], KEEP_ALL, 'fail-open']]);
      expect(walkOf(p, r).n).toEqual([]);
    }
    const pilot = {
      ...down,
      [ids[router.orders[0].order[0]]]: { status: 'down', role: 'pilot' } as RegionHealth,
    };
    const w = walkOf(plan(router, docOf(pilot)), 0);
    const order = router.orders[0].order;
    expect(w.s).toEqual([[order.length > 1 ? order[1] : order[0], KEEP_ALL, 'fail-open']]);
  });

  test('a canary is planned only into rankings with a canary region up', () => {
    const doc = docOf({}, { canary: { percent: 12.5, seed: 's1' } });
    const p = plan(router, doc);
    let with_ = 0;
    for (let r = 0; r < R; r++) {
      const order = router.orders[r].order;
      const w = walkOf(p, r);
      const canaryRegions = order.filter((i) => router.canaries.includes(i));
      if (!canaryRegions.length) {
        expect(w.c).toBeUndefined();
        continue;
      }
      with_++;
      expect(w.c).toEqual({ r: canaryRegions, p: 1250, h: fnv1a32('canary:s1:') });
      // the canary changes no step
      expect(w.s).toEqual(fallbackWalk(router, r).s);
    }
    expect(with_).toBeGreaterThan(0);
  });

  test('property: on random documents, every walk ends with a step that keeps everyone, and only it', () => {
    const docArb = fc
      .dictionary(fc.constantFrom(...ids), healthArb)
      .map((regions) => docOf(regions as Record<string, RegionHealth>));
    fc.assert(
      fc.property(docArb, (doc) => {
        const p = plan(router, doc);
        expect(p.error).toBeUndefined();
        for (let r = 0; r < R; r++) {
          const order = router.orders[r].order;
          const w = walkOf(p, r);
          const h = (i: number) => doc.regions[ids[i]];
          const isDown = (i: number) => h(i)?.status === 'down';
          const role = (i: number) => h(i)?.role ?? 'active';
          expect(w.s.length).toBeGreaterThan(0);
          const last = w.s[w.s.length - 1];
          expect(last[1]).toBe(KEEP_ALL);
          expect(last).toHaveLength(3);
          for (const step of w.s.slice(0, -1)) {
            expect(step[1]).toBeLessThan(KEEP_ALL);
            expect(step[3]).toBe(fnv1a32(`dial:${ids[step[0]]}:`));
          }
          // the steps are candidates of the ranking, in its order
          const at = w.s.map((s) => order.indexOf(s[0]));
          expect(at.every((k) => k >= 0)).toBe(true);
          const distinct = w.s.length > 1 && last[0] === w.s[0][0] ? at.slice(0, -1) : at;
          expect([...distinct].sort((a, b) => a - b)).toEqual(distinct);
          expect(new Set(distinct).size).toBe(distinct.length);
          if (last[2] !== 'fail-open') {
            // no down region and no pilot is ever a step, unless nothing is up
            for (const s of w.s) {
              expect(isDown(s[0])).toBe(false);
              expect(role(s[0])).not.toBe('pilot');
            }
          } else {
            expect(order.every((i) => isDown(i) || role(i) === 'pilot')).toBe(true);
          }
          // the retry: up, not a pilot, at most two, distinct
          expect(w.n.length).toBeLessThanOrEqual(2);
          expect(new Set(w.n).size).toBe(w.n.length);
          for (const i of w.n) {
            expect(isDown(i)).toBe(false);
            expect(role(i)).not.toBe('pilot');
          }
          // exclusions are exactly the down regions and pilots of the ranking
          const excluded = order.filter((i) => isDown(i) || role(i) === 'pilot');
          expect(
            Object.keys(w.x ?? {})
              .map(Number)
              .sort((a, b) => a - b),
          ).toEqual([...excluded].sort((a, b) => a - b));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('property: route(facts, null) is the pick over a plan with no walks (fallbackWalk per ranking)', () => {
    const empty: Plan = { table: router, serial: null, walks: [] };
    fc.assert(
      fc.property(factsArb, (facts) => {
        expect(route(facts, null, router)).toEqual(pick(empty, facts));
      }),
      { numRuns: 300 },
    );
  });

  test('the fingerprint is stable and names the config', () => {
    expect(fingerprint(router)).toBe(fingerprint(routerOf(file)));
    expect(fingerprint(router)).toMatch(/^[0-9a-z]+$/);
  });
});

test('the two configs have different fingerprints', () => {
  const [a, b] = CONFIGS.map(([, f]) => fingerprint(routerOf(f)));
  expect(a).not.toBe(b);
});
