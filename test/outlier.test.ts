// The ejection rules (shared/outlier.ts), table-tested: Envoy's consecutive_5xx, base_ejection_time × ejections,
// max_ejection_time and max_ejection_percent, never the last candidate, back when the ejection ends or the document
// says up after down; and the stall rule (StallWatch), which is ours.
import { DEFAULT_OUTLIER, OutlierDetector, StallWatch } from '../shared/outlier';

const FOUR = ['seoul', 'tokyo', 'frankfurt', 'virginia'];
const rules = {
  consecutive5xx: 3,
  baseEjectionTimeMs: 1000,
  maxEjectionTimeMs: 2500,
  maxEjectionPercent: 50,
  stallMs: 500,
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
    stallMs: 500,
  });
});

describe('stalls: no good answer within stallMs of a request sent', () => {
  type S = ['sent' | 'answered', number] | ['sent' | 'answered', number, string];
  // another region answering well in this container: it sees its answers
  const tokyo = (t: number): S => ['answered', t, 'tokyo'];
  test.each<[string, S[], number, number | undefined]>([
    ['nothing sent: not stalled', [], 1000, undefined],
    ['sent, 499 ms without an answer: not yet', [['sent', 0], tokyo(10)], 499, undefined],
    ['sent, 500 ms without an answer: stalled', [['sent', 0], tokyo(10)], 500, 500],
    [
      'answered below 500 meanwhile: not stalled',
      [['sent', 0], ['answered', 100], tokyo(110)],
      600,
      undefined,
    ],
    [
      'the clock runs from the first request since the last answer',
      [['sent', 0], ['sent', 400], tokyo(410)],
      550,
      550,
    ],
    [
      'an answer ends it; the next request starts the clock again',
      [['sent', 0], ['answered', 700], ['sent', 800], tokyo(810)],
      1200,
      undefined,
    ],
    [
      '...and it stalls again 500 ms after that request',
      [['sent', 0], ['answered', 700], ['sent', 800], tokyo(810)],
      1300,
      500,
    ],
    // this container may not see the answers at all (another container's, or no origin-response function)
    ['no good answer from anyone since: not stalled', [['sent', 0]], 600, undefined],
    ['...nor with the only other answer before the request', [tokyo(0), ['sent', 10]], 600, undefined],
    // the answers may have gone to another container: after the longest wait, the next request probes
    ['at the longest wait (10 s) it ends', [['sent', 0], tokyo(10)], 10_000, undefined],
    [
      'a request after the longest wait starts the clock again',
      [['sent', 0], tokyo(10), ['sent', 10_100], tokyo(10_110)],
      10_400,
      undefined,
    ],
    ['...and stalls 500 ms after it', [['sent', 0], tokyo(10), ['sent', 10_100], tokyo(10_110)], 10_600, 500],
  ])('%s', (_, steps, at, forMs) => {
    const w = new StallWatch(500, 10_000);
    for (const [what, t, target = 'seoul'] of steps) {
      if (what === 'sent') w.sent(target, t);
      else w.answered(target, t);
    }
    expect(w.stalled('seoul', at)?.forMs).toBe(forMs);
  });

  test('reported as new once per stall; 0 turns the rule off', () => {
    const w = new StallWatch(500, 10_000);
    w.sent('seoul', 0);
    w.answered('tokyo', 1);
    expect([w.stalled('seoul', 600)?.first, w.stalled('seoul', 700)?.first]).toEqual([true, false]);
    w.answered('seoul', 750);
    w.sent('seoul', 800);
    w.answered('tokyo', 801);
    expect(w.stalled('seoul', 1400)?.first).toBe(true);
    const off = new StallWatch(0, 10_000);
    off.sent('seoul', 0);
    off.answered('tokyo', 1);
    expect(off.stalled('seoul', 5000)).toBeUndefined();
  });
});
