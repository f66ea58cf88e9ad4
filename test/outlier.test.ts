// The ejection rules (shared/outlier.ts), table-tested: Envoy's consecutive_5xx, base_ejection_time × ejections,
// max_ejection_time and max_ejection_percent, never the last candidate, back when the ejection ends or the document
// says up after down.
import { DEFAULT_OUTLIER, OutlierDetector } from '../shared/outlier';

const FOUR = ['seoul', 'tokyo', 'frankfurt', 'virginia'];
const rules = {
  consecutive5xx: 3,
  baseEjectionTimeMs: 1000,
  maxEjectionTimeMs: 2500,
  maxEjectionPercent: 50,
};

type Step = ['fail' | 'ok', string, number] | ['doc', string, 'up' | 'down', 'up' | 'down', number];

/** `rules.consecutive5xx` (3) failures of `target` in a row, 1 ms apart from `t`: enough to eject it. */
const threeFails = (target: string, t = 0): Step[] => [
  ['fail', target, t],
  ['fail', target, t + 1],
  ['fail', target, t + 2],
];

test.each<[string, Step[], number, string[]]>([
  [
    'two failures in a row: not yet',
    [
      ['fail', 'seoul', 0],
      ['fail', 'seoul', 1],
    ],
    2,
    [],
  ],
  ['three in a row: ejected', [...threeFails('seoul')], 3, ['seoul']],
  [
    'a success between starts the count again',
    [
      ['fail', 'seoul', 0],
      ['fail', 'seoul', 1],
      ['ok', 'seoul', 2],
      ['fail', 'seoul', 3],
      ['fail', 'seoul', 4],
    ],
    5,
    [],
  ],
  ['the ejection ends after the base time', [...threeFails('seoul')], 1002, []],
  [
    'the second ejection lasts twice as long',
    [...threeFails('seoul'), ...threeFails('seoul', 1100)],
    3000,
    ['seoul'],
  ],
  ['...and ends then', [...threeFails('seoul'), ...threeFails('seoul', 1100)], 3103, []],
  [
    'at most 50 %: two of four, not three',
    [...['seoul', 'tokyo', 'frankfurt'].flatMap((t) => threeFails(t))],
    10,
    ['seoul', 'tokyo'],
  ],
  [
    'the document says up after down: back at once',
    [...threeFails('seoul'), ['doc', 'seoul', 'down', 'up', 50]],
    60,
    [],
  ],
  [
    'the document saying up again (no change) does not end it',
    [...threeFails('seoul'), ['doc', 'seoul', 'up', 'up', 50]],
    60,
    ['seoul'],
  ],
  [
    'failures while ejected do not extend it',
    [...threeFails('seoul'), ['fail', 'seoul', 500], ['fail', 'seoul', 600], ['fail', 'seoul', 700]],
    1003,
    [],
  ],
])('%s', (_, steps, at, ejected) => {
  const d = new OutlierDetector(FOUR, rules);
  for (const s of steps) {
    if (s[0] === 'fail') d.failure(s[1], s[2]);
    else if (s[0] === 'ok') d.success(s[1]);
    else if (s[0] === 'doc') d.documentSays(s[1], s[2] as 'up' | 'down', s[3] as 'up' | 'down');
  }
  expect(d.ejected(at)).toEqual(ejected);
});

test('the maximum ejection time caps the multiplier', () => {
  const d = new OutlierDetector(FOUR, rules);
  let t = 0;
  const until: number[] = [];
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3; i++) {
      const e = d.failure('seoul', t++);
      if (e?.kind === 'ejected') until.push(e.untilMs - (t - 1));
    }
    t += 3000;
  }
  expect(until).toEqual([1000, 2000, 2500, 2500]);
});

test('never the last candidate', () => {
  const d = new OutlierDetector(['seoul', 'tokyo'], { ...rules, maxEjectionPercent: 100 });
  for (let i = 0; i < 3; i++) d.failure('seoul', i);
  const events = [0, 1, 2].map((i) => d.failure('tokyo', 10 + i));
  expect(events[2]).toEqual({ kind: 'not-ejected', target: 'tokyo', why: 'last-candidate' });
  expect(d.ejected(20)).toEqual(['seoul']);
  const alone = new OutlierDetector(['seoul'], { ...rules, maxEjectionPercent: 100 });
  for (let i = 0; i < 3; i++) alone.failure('seoul', i);
  expect(alone.ejected(5)).toEqual([]);
});

test("Envoy's defaults, with half of the regions allowed out", () => {
  expect(DEFAULT_OUTLIER).toEqual({
    consecutive5xx: 5,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 50,
  });
});
