// The health checker's decision (shared/health-check.ts): quorum, hysteresis, freshness, pins, dwell, guard rails.
import fc from 'fast-check';
import { decideHealth, type ProbeResult, type VantageObservations, vote } from '../shared/health-check';
import { docWith, exampleConfig } from './helpers/load';

const NOW = Date.UTC(2027, 0, 15, 8);
const config = exampleConfig((c) => {
  c.health = { vantages: ['us-east-1', 'eu-central-1', 'ap-northeast-2'] } as never;
});
const INTERVAL = 10_000;

/** Results for one target: true = success, oldest first, one interval apart, ending now. */
const results = (...oks: boolean[]): ProbeResult[] =>
  oks.map((ok, i) => ({ at: NOW - (oks.length - 1 - i) * INTERVAL, ok, ms: ok ? 20 : 2000 }));
const obs = (vantage: string, targets: Record<string, ProbeResult[]>, at = NOW): VantageObservations => ({
  vantage,
  at,
  targets,
});
const F = false;
const T = true;

test('the config defaults: probe /health every 10 s, 2 s timeout, 200-399, rise 2, fall 3', () => {
  expect(config.health?.probe).toEqual({
    path: '/health',
    intervalSeconds: 10,
    timeoutMs: 2000,
    expect: '200-399',
    rise: 2,
    fall: 3,
  });
});

test('a vantage votes down after fall failures in a row, up after rise successes in a row', () => {
  expect(vote(results(F, F, F), 2, 3)).toBe('down');
  expect(vote(results(T, F, F), 2, 3)).toBeNull();
  expect(vote(results(F, T, T), 2, 3)).toBe('up');
  expect(vote(results(T), 2, 3)).toBeNull();
});

test('one failed probe, or one failing vantage, flips nothing', () => {
  const doc = docWith();
  expect(decideHealth(config, doc, [obs('us-east-1', { 'sa-east-1': results(T, T, F) })], NOW).flips).toEqual(
    [],
  );
  const one = decideHealth(config, doc, [obs('us-east-1', { 'sa-east-1': results(F, F, F) })], NOW);
  expect(one.flips).toEqual([]);
  expect(one.doc).toBeNull();
});

test('a majority of vantages with fall failures marks the target down, by the probe, at that time', () => {
  const d = decideHealth(
    config,
    docWith(),
    [
      obs('us-east-1', { 'sa-east-1': results(F, F, F) }),
      obs('eu-central-1', { 'sa-east-1': results(T, F, F, F) }),
      obs('ap-northeast-2', { 'sa-east-1': results(T, T, T) }),
    ],
    NOW,
  );
  expect(d.flips).toEqual([
    { target: 'sa-east-1', to: 'down', votes: { down: 2, up: 1, fresh: 3, quorum: 2 } },
  ]);
  expect(d.doc?.regions['sa-east-1']).toEqual({
    status: 'down',
    role: 'active',
    dial: 100,
    setBy: 'probe',
    changedAt: new Date(NOW).toISOString(),
  });
});

test('back up only after rise successes by a majority', () => {
  const down = docWith({ 'sa-east-1': { status: 'down', setBy: 'probe' } });
  const oneUp = [
    obs('us-east-1', { 'sa-east-1': results(T, T) }),
    obs('eu-central-1', { 'sa-east-1': results(F, T) }),
  ];
  expect(decideHealth(config, down, oneUp, NOW).flips).toEqual([]);
  const twoUp = [
    obs('us-east-1', { 'sa-east-1': results(T, T) }),
    obs('eu-central-1', { 'sa-east-1': results(F, T, T) }),
  ];
  expect(decideHealth(config, down, twoUp, NOW).flips.map((f) => [f.target, f.to])).toEqual([
    ['sa-east-1', 'up'],
  ]);
});

test('alternating results never flip a target (no flapping)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), fc.boolean(), (n, startOk) => {
      const alternating = Array.from({ length: n }, (_, i) => (i % 2 === 0) === startOk);
      const all = config.health?.vantages.map((v) => obs(v, { 'sa-east-1': results(...alternating) })) ?? [];
      expect(decideHealth(config, docWith(), all, NOW).flips).toEqual([]);
      expect(decideHealth(config, docWith({ 'sa-east-1': { status: 'down' } }), all, NOW).flips).toEqual([]);
    }),
  );
});

test('observations older than three intervals do not vote', () => {
  const old = NOW - 3 * INTERVAL - 1;
  const d = decideHealth(
    config,
    docWith(),
    [
      obs('us-east-1', { 'sa-east-1': results(F, F, F) }),
      obs('eu-central-1', { 'sa-east-1': results(F, F, F) }, old),
    ],
    NOW,
  );
  expect(d.flips).toEqual([]);
});

test('a vantage not in the config does not vote', () => {
  const d = decideHealth(
    config,
    docWith(),
    [
      obs('us-east-1', { 'sa-east-1': results(F, F, F) }),
      obs('somewhere', { 'sa-east-1': results(F, F, F) }),
    ],
    NOW,
  );
  expect(d.flips).toEqual([]);
});

const allFailing = (target: string) =>
  config.health?.vantages.map((v) => obs(v, { [target]: results(F, F, F) })) ?? [];

test('an operator’s pin wins: the flip is recorded as suppressed, the document left alone', () => {
  const d = decideHealth(
    config,
    docWith({ 'sa-east-1': { status: 'up', pinned: true, setBy: 'operator' } }),
    allFailing('sa-east-1'),
    NOW,
  );
  expect(d.flips).toEqual([]);
  expect(d.suppressed.map((s) => [s.target, s.why])).toEqual([['sa-east-1', 'held']]);
  expect(d.doc).toBeNull();
});

test('a minimum dwell between flips', () => {
  const c = exampleConfig((x) => {
    x.health = { vantages: ['us-east-1'], minDwellSeconds: 60 } as never;
  });
  const recent = docWith({ 'sa-east-1': { status: 'up', changedAt: new Date(NOW - 30_000).toISOString() } });
  const d = decideHealth(c, recent, [obs('us-east-1', { 'sa-east-1': results(F, F, F) })], NOW);
  expect(d.suppressed.map((s) => s.why)).toEqual(['dwell']);
  const older = docWith({ 'sa-east-1': { status: 'up', changedAt: new Date(NOW - 61_000).toISOString() } });
  expect(
    decideHealth(c, older, [obs('us-east-1', { 'sa-east-1': results(F, F, F) })], NOW).flips,
  ).toHaveLength(1);
});

test('guard rail: never the last region of a residency group, nor of the world, on its own', () => {
  // eu-central-1 is the only region of the eu residency group
  const eu = decideHealth(config, docWith(), allFailing('eu-central-1'), NOW);
  expect(eu.suppressed.map((s) => [s.target, s.why])).toEqual([['eu-central-1', 'guard-rail']]);
  expect(eu.doc).toBeNull();
  // every region failing at once: more likely the prober's network than the world
  const world = config.health?.vantages.map((v) =>
    obs(
      v,
      Object.fromEntries(
        ['us-east-1', 'eu-central-1', 'ap-northeast-2', 'sa-east-1'].map((id) => [id, results(F, F, F)]),
      ),
    ),
  );
  const w = decideHealth(config, docWith(), world ?? [], NOW);
  expect(w.flips).toEqual([]);
  expect(w.suppressed.every((s) => s.why === 'guard-rail')).toBe(true);
  expect(w.suppressed).toHaveLength(4);
});

test("an operator's hold wins until it ends; then the checker flips, and the ended hold goes with the flip", () => {
  const hold = {
    by: 'alice',
    since: new Date(NOW - 600_000).toISOString(),
    until: new Date(NOW + 60_000).toISOString(),
  };
  const doc = docWith({ 'sa-east-1': { status: 'up', setBy: 'operator', hold } });
  const during = decideHealth(config, doc, allFailing('sa-east-1'), NOW);
  expect(during.suppressed.map((s) => [s.target, s.why])).toEqual([['sa-east-1', 'held']]);
  expect(during.doc).toBeNull();
  const after = decideHealth(
    config,
    doc,
    allFailing('sa-east-1').map((o) => ({ ...o, at: NOW + 61_000 })),
    NOW + 61_000,
  );
  expect(after.flips.map((f) => [f.target, f.to])).toEqual([['sa-east-1', 'down']]);
  expect(after.doc?.regions['sa-east-1']).toEqual({
    status: 'down',
    setBy: 'probe',
    changedAt: new Date(NOW + 61_000).toISOString(),
  });
  // a hold with no end holds for ever
  const { until: _, ...open } = hold;
  const forever = docWith({ 'sa-east-1': { status: 'up', setBy: 'operator', hold: open } });
  const later = NOW + 365 * 86400_000;
  expect(
    decideHealth(
      config,
      forever,
      allFailing('sa-east-1').map((o) => ({ ...o, at: later })),
      later,
    ).flips,
  ).toEqual([]);
});
