import { DocCache } from '../../functions/origin-request/object-cache';
import { Telemetry } from '../../functions/origin-request/telemetry';
import { route } from '../../shared';
import { docWith, exampleConfig, exampleRouter } from '../helpers/load';

const router = exampleRouter();
const nearest = route({ country: 'KR' }, null, router);
const failover = route({ country: 'KR' }, docWith({ 'ap-northeast-2': { status: 'down' } }), router);

function clocked(opts: { flushMs?: number; flushCount?: number } = {}) {
  let now = 0;
  const lines: string[] = [];
  const t = new Telemetry({ runtime: 'test', write: (l) => lines.push(l), now: () => now, ...opts });
  return { t, lines, advance: (ms: number) => (now += ms), parsed: () => lines.map((l) => JSON.parse(l)) };
}

describe('Telemetry', () => {
  test('metrics are flushed as one EMF line once flushMs has passed, never per decision', () => {
    const { t, advance, parsed } = clocked({ flushMs: 5000 });
    for (let i = 0; i < 100; i++) t.decision(nearest);
    expect(parsed()).toEqual([]);
    advance(5000);
    t.decision(failover);
    const emf = parsed().filter((l) => l._aws);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      Decisions: 101,
      'Reason.nearest': 100,
      'Reason.failover': 1,
      'Target.ap-northeast-2': 100,
      'Target.us-east-1': 1,
    });
    expect(emf[0]._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: 'Decisions', Unit: 'Count' });
  });

  test('or once flushCount decisions were counted', () => {
    const { t, parsed } = clocked({ flushCount: 50 });
    for (let i = 0; i < 120; i++) t.decision(nearest);
    expect(parsed().map((l) => l.Decisions)).toEqual([50, 50]);
  });

  test('decisions other than nearest are logged at most once a second, with the count left out', () => {
    const { t, advance, parsed } = clocked();
    for (let i = 0; i < 5; i++) t.decision(failover);
    advance(1000);
    t.decision(failover);
    const logged = parsed().filter((l) => l.event === 'decision');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ reason: 'failover', target: 'us-east-1', suppressedSinceLast: 0 });
    expect(logged[1]).toMatchObject({ suppressedSinceLast: 4 });
    expect(logged[0].trace).toEqual(failover.trace);
  });
});

describe('DocCache back-off', () => {
  test('doubles after each failure in a row, up to 30 s, and resets after a success', async () => {
    let now = 0;
    let fail = true;
    let calls = 0;
    const lines: string[] = [];
    const cache = new DocCache({
      config: exampleConfig(),
      telemetry: new Telemetry({ runtime: 'test', write: (l) => lines.push(l) }),
      now: () => now,
      fetch: async () => {
        calls++;
        if (fail) throw new Error('down');
        return { status: 'ok', text: JSON.stringify(docWith({}, 3)), etag: '"e"' };
      },
    });
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      await cache.current();
      const last = JSON.parse(lines.at(-1) as string);
      waits.push(last.retryInMs);
      await cache.current(); // within the back-off: no new attempt
      now += last.retryInMs;
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(calls).toBe(7);
    fail = false;
    expect((await cache.current()).doc?.serial).toBe(3);
  });
});
