// The drill's verdict, table-tested: moved after, failures by method, p99, and the goal met or missed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  type DrillEvent,
  drillOutcome,
  percentile,
  type Sample,
  verdicts,
  verdictTable,
} from '../../local/drill-verdict';
import { ROOT } from '../helpers/load';

const KOREA = 'kr';
const at = (
  ms: number,
  viewer: string,
  region: string | undefined,
  method = 'GET',
  latency = 10,
): Sample => ({
  at: ms - latency,
  done: ms,
  viewer,
  method,
  region,
  ok: region !== undefined,
});
const goal = { movedWithinMs: 3000, maxFailedIdempotent: 0, words: 'moved ≤ 3 s, 0 failed GET' };
const run = (events: DrillEvent[], samples: Sample[], end = 20_000) =>
  verdicts({ runtime: 'lambda-edge', events, samples, end, watched: KOREA, region: 'seoul' });

test.each([
  // [what, the watched viewer's answers after the event at 1000 (ms: region), moved after, pass]
  [
    'moves at once',
    [
      [1100, 'tokyo'],
      [1200, 'tokyo'],
    ],
    0,
    true,
  ],
  [
    'moves after 1.5 s',
    [
      [1100, 'seoul'],
      [2500, 'seoul'],
      [2600, 'tokyo'],
    ],
    1500,
    true,
  ],
  [
    'a failure counts as not moved yet',
    [
      [1100, 'seoul'],
      [3000, undefined],
      [3100, 'tokyo'],
    ],
    2000,
    false,
  ],
  [
    'moves after 3.5 s: too late',
    [
      [4500, 'seoul'],
      [4600, 'tokyo'],
    ],
    3500,
    false,
  ],
  [
    'never moves',
    [
      [1100, 'tokyo'],
      [4600, 'seoul'],
    ],
    null,
    false,
  ],
] as const)('an event away from the region: %s', (_, answers, moved, pass) => {
  const samples = answers.map(([ms, region]) => at(ms, KOREA, region));
  const [v] = run([{ name: 'seoul down', at: 1000, away: true, goal }], samples);
  expect(v.movedAfterMs).toBe(moved);
  expect(v.pass).toBe(pass);
  expect(v.requests).toBe(samples.length);
});

describe("with the edge's attempts: away has moved when no request is sent to the region any more", () => {
  // Korea is answered from Tokyo at once (the retry), while the edge still sends first attempts to Seoul
  const answers = [at(1100, KOREA, 'tokyo'), at(1500, KOREA, 'tokyo'), at(2500, KOREA, 'tokyo')];
  const sent = (...ms: number[]) => ms.map((t) => ({ at: t, target: 'seoul' }));
  test.each<[string, { at: number; target: string }[], number | null, boolean]>([
    [
      'the last attempt to Seoul 2.2 s after the event: moved after 2.2 s, within the goal of 3 s',
      sent(1100, 3200),
      2200,
      true,
    ],
    ['the last one 3.5 s after: too late', sent(1100, 4500), 3500, false],
    ['none after the event: 0', [...sent(900), { at: 1200, target: 'tokyo' }], 0, true],
    ["one within 1 s of the window's end (20 s): never moved", sent(1100, 19_500), null, false],
    ['attempts to other regions do not count', [...sent(1100), { at: 19_500, target: 'tokyo' }], 100, true],
  ])('%s', (_, attempts, moved, pass) => {
    const [v] = verdicts({
      runtime: 'lambda-edge',
      events: [{ name: 'seoul hung', at: 1000, away: true, goal }],
      samples: answers,
      end: 20_000,
      watched: KOREA,
      region: 'seoul',
      attempts,
    });
    expect([v.movedAfterMs, v.pass]).toEqual([moved, pass]);
  });

  test('an event back to the region still goes by the answers', () => {
    const [v] = verdicts({
      runtime: 'lambda-edge',
      events: [{ name: 'seoul up', at: 1000, away: false, goal }],
      samples: [at(1100, KOREA, 'tokyo'), at(2000, KOREA, 'seoul')],
      end: 20_000,
      watched: KOREA,
      region: 'seoul',
      attempts: sent(1050),
    });
    // the last answer from elsewhere (Tokyo, 1100): the attempt to Seoul at 1050 changes nothing
    expect(v.movedAfterMs).toBe(100);
  });
});

test('an event back to the region: moved when the watched viewer is answered from it again', () => {
  const samples = [at(1100, KOREA, 'tokyo'), at(1900, KOREA, 'tokyo'), at(2000, KOREA, 'seoul')];
  const [v] = run([{ name: 'seoul up', at: 1000, away: false, goal }], samples);
  expect(v.movedAfterMs).toBe(900);
});

test('failures by method, each window up to the next event, and the p99 latency', () => {
  const samples = [
    at(1100, 'de', undefined, 'GET', 5),
    at(1200, 'de', undefined, 'POST', 5),
    at(1300, KOREA, 'tokyo', 'GET', 2000),
    at(5100, 'de', 'frankfurt', 'GET', 7),
  ];
  const [first, second] = run(
    [
      { name: 'killed', at: 1000, away: true, goal },
      { name: 'restarted', at: 5000, away: false, goal: { movedWithinMs: 3000, maxFailed: 0, words: '' } },
    ],
    samples,
  );
  expect(first).toMatchObject({
    requests: 3,
    failed: 2,
    failedIdempotent: 1,
    failedOther: 1,
    p99Ms: 2000,
    p99BeforeMs: 0,
    pass: false,
  });
  expect(first.misses).toEqual(['1 failed GET/HEAD, goal 0']);
  // no answer from the watched viewer in the window: the traffic did not move
  expect(second).toMatchObject({ requests: 1, failed: 0, movedAfterMs: null, pass: false });
  expect(verdictTable([first, second])).toMatch(
    /\| lambda-edge \| killed +\| 0\.00 s +\| 2 of 3 +\| 1 +\| 1 +\| 2000 ms \(0 ms\) .*FAIL: 1 failed GET\/HEAD, goal 0/,
  );
});

test('a goal on the failures CloudFront cannot retry (the outlier threshold in Lambda@Edge)', () => {
  const posts = (n: number) =>
    Array.from({ length: n }, (_, i) => at(1100 + i, 'jp', undefined, 'POST', 10_000));
  const capped = { ...goal, maxFailedOther: 5 };
  const [five] = run(
    [{ name: 'hung', at: 1000, away: true, goal: capped }],
    [...posts(5), at(1200, KOREA, 'tokyo')],
  );
  expect([five.failedOther, five.pass, five.misses]).toEqual([5, true, []]);
  const [six] = run(
    [{ name: 'hung', at: 1000, away: true, goal: capped }],
    [...posts(6), at(1200, KOREA, 'tokyo')],
  );
  expect([six.pass, six.misses]).toEqual([false, ['6 failed POST/PUT/…, goal 5']]);
});

test('the p99 of GET/HEAD apart: a hung POST holds the p99 of all, not theirs', () => {
  const samples = [
    at(1100, 'jp', undefined, 'POST', 10_000),
    at(1200, KOREA, 'tokyo', 'GET', 1000),
    at(1300, 'de', 'frankfurt'),
  ];
  const [v] = run([{ name: 'hung', at: 1000, away: true, goal }], samples);
  expect([v.p99Ms, v.p99IdempotentMs]).toEqual([10_000, 1000]);
  expect(verdictTable([v])).toMatch(/\| 10000 ms \(0 ms\) +\| 1000 ms +\|/);
});

test('the p99 against the p99 before the event: a goal on how much higher it may be; no goal for moving', () => {
  const samples = [
    at(700, 'de', 'frankfurt', 'GET', 20),
    at(800, 'de', 'frankfurt', 'GET', 30),
    at(1100, KOREA, 'tokyo', 'GET', 2500),
    at(1200, 'de', 'frankfurt', 'GET', 10),
  ];
  const slow = { maxP99AboveBeforeMs: 2000, words: 'p99 ≤ before + 2 s' };
  const [v] = run([{ name: 'hung', at: 1000, away: true, goal: slow }], samples);
  expect(v).toMatchObject({ p99BeforeMs: 30, p99Ms: 2500, pass: false });
  expect(v.misses).toEqual(['p99 2500 ms, goal ≤ 30 + 2000 ms']);
  const [ok] = run(
    [{ name: 'hung', at: 1000, away: true, goal: { ...slow, maxP99AboveBeforeMs: 2500 } }],
    samples,
  );
  expect(ok.pass).toBe(true);
});

test.each([
  [[], 99, 0],
  [[5], 99, 5],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
  [[...Array.from({ length: 99 }, () => 1), 500], 99, 1],
  [[...Array.from({ length: 98 }, () => 1), 500, 500], 99, 500],
])('percentile, nearest rank: case %#', (values, p, want) => {
  expect(percentile(values, p)).toBe(want);
});

describe('npm run drill: what it prints and its exit code', () => {
  const events: DrillEvent[] = [{ name: 'seoul killed', at: 1000, away: true, goal }];
  const moved = run(events, [at(1100, KOREA, 'tokyo'), at(1200, KOREA, 'tokyo')]);
  const stuck = run(events, [at(1100, KOREA, 'seoul'), at(9000, KOREA, 'seoul')]);

  test('--json: one object per event and runtime with the fields the README names; 0 when every goal is met', () => {
    const out = drillOutcome([...moved, ...moved], true);
    expect(out.code).toBe(0);
    expect(out.stderr).toEqual([]);
    expect(out.stdout).toHaveLength(2);
    for (const line of out.stdout)
      expect(Object.keys(JSON.parse(line))).toEqual(
        expect.arrayContaining([
          'event',
          'runtime',
          'movedAfterMs',
          'requests',
          'failed',
          'failedIdempotent',
          'p99Ms',
        ]),
      );
  });

  test('an event that missed its goal: exit 1 and a line saying how many, in either format', () => {
    expect(stuck[0].pass).toBe(false);
    for (const json of [true, false]) {
      const out = drillOutcome([...moved, ...stuck], json);
      expect(out.code).toBe(1);
      expect(out.stderr).toEqual(['drill: 1 of 2 events missed their goal']);
    }
    expect(drillOutcome(moved, false).stdout).toEqual([`\n${verdictTable(moved)}`]);
  });

  test.each([
    [['--runtime', 'bogus'], /^drill: --runtime bogus: one or more of lambda-edge, cloudfront-functions/],
    [['--read-timeout', '0'], /^drill: --read-timeout 0: whole seconds, 1-120$/],
  ])(
    'a bad argument %j: one line, exit 2, before anything starts',
    (args, line) => {
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'local', 'drill.ts'), ...args],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(line);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    },
    60_000,
  );
});
