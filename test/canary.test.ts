// Canary distribution and its consequences: sticky, monotonic, independent of dials, reshuffled by a seed.
import { type HealthDoc, route } from '../shared';
import { bundledRouter, coldStart, DIST_ORIGIN_REQUEST } from './helpers/bundle';
import { originRequest, setClientIp } from './helpers/fixtures';
import { docWith, exampleRouter } from './helpers/load';

const router = exampleRouter();
const NOW = Date.UTC(2027, 0, 15, 8);
const keys = (n: number, prefix = 'user') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const withCanary = (canary: HealthDoc['canary'], regions = {}): HealthDoc => ({
  ...docWith(regions),
  canary,
});
const inCanary = (ip: string, doc: HealthDoc, country = 'KR') =>
  route({ country, ip, now: NOW }, doc, router).reason === 'canary';

test('at 10%, 100,000 random keys: 10% ± 0.3 points', () => {
  const doc = withCanary({ percent: 10 });
  const n = keys(100000).filter((k) => inCanary(k, doc)).length;
  expect(Math.abs(n / 1000 - 10)).toBeLessThan(0.3);
});

test('at 0.01%, about 10 of 100,000', () => {
  const doc = withCanary({ percent: 0.01 });
  const n = keys(100000).filter((k) => inCanary(k, doc)).length;
  expect(n).toBeGreaterThanOrEqual(3);
  expect(n).toBeLessThanOrEqual(20);
});

test('a ramp from 0 to 100 in 1% steps only ever adds viewers', () => {
  const sample = keys(5000);
  let previous = new Set<string>();
  for (let p = 0; p <= 100; p++) {
    const doc = withCanary({ percent: p });
    const now = new Set(sample.filter((k) => inCanary(k, doc)));
    for (const k of previous) expect(now.has(k)).toBe(true);
    expect(Math.abs(now.size / 50 - p)).toBeLessThan(2.5);
    previous = now;
  }
  expect(previous.size).toBe(sample.length);
});

test('a new seed reshuffles who is in', () => {
  const a = new Set(keys(20000).filter((k) => inCanary(k, withCanary({ percent: 10, seed: 'a' }))));
  const b = new Set(keys(20000).filter((k) => inCanary(k, withCanary({ percent: 10, seed: 'b' }))));
  const both = [...a].filter((k) => b.has(k)).length;
  // independent 10% draws overlap on about 1% of keys (10% of 10%)
  expect(both / 20000).toBeGreaterThan(0.005);
  expect(both / 20000).toBeLessThan(0.015);
});

test('dial and canary buckets are independent: a dial does not pick the canary viewers', () => {
  // Seoul at dial 50 and canary 50: viewers kept by the dial are in the canary half the time
  const doc = withCanary({ percent: 50 }, { 'ap-northeast-2': { dial: 50 } });
  let kept = 0;
  let keptAndCanary = 0;
  for (const k of keys(40000)) {
    const d = route({ country: 'KR', ip: k, now: NOW }, doc, router);
    if (d.target.id === 'ap-northeast-2') {
      kept++;
      if (d.reason === 'canary') keptAndCanary++;
    }
  }
  expect(kept / 40000).toBeCloseTo(0.5, 1);
  expect(keptAndCanary / kept).toBeGreaterThan(0.48);
  expect(keptAndCanary / kept).toBeLessThan(0.52);
});

test('sticky across fresh module instances of the Lambda@Edge bundle (separate containers)', async () => {
  const doc = withCanary({ percent: 30 });
  const run = async () => {
    const mod = coldStart(DIST_ORIGIN_REQUEST);
    const handler = mod.createHandler({
      router: bundledRouter(mod, router.config),
      telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
      docs: { current: async () => ({ doc, stale: false, ageMs: 0 }) },
      now: () => NOW,
    });
    const out: string[] = [];
    for (const ip of keys(300, '198.51.100')) {
      const e = originRequest({ 'CloudFront-Viewer-Country': 'KR' });
      setClientIp(e, ip);
      out.push((await handler(e)).origin?.custom?.domainName ?? '');
    }
    return out;
  };
  const [a, b] = [await run(), await run()];
  expect(a).toEqual(b);
  expect(a.filter((d) => d.startsWith('canary.')).length).toBeGreaterThan(50);
  // and the same as the core decides
  const core = keys(300, '198.51.100').map((ip) => (inCanary(ip, doc) ? 'canary.' : 'api.'));
  expect(a.map((d) => d.slice(0, d.indexOf('.') + 1))).toEqual(core);
});

test('config sticky: the user id cookie, then the header, then the IP', () => {
  const r = exampleRouter((c) => {
    c.sticky = { cookie: 'uid', header: 'x-user' };
  });
  const doc = withCanary({ percent: 50 });
  const decide = (facts: object) => route({ country: 'KR', now: NOW, ...facts }, doc, r).reason;
  // the same user from many IPs: one answer
  const byCookie = new Set(keys(50, '203.0.113').map((ip) => decide({ ip, cookies: { uid: 'alice' } })));
  expect(byCookie.size).toBe(1);
  const byHeader = new Set(keys(50, '203.0.113').map((ip) => decide({ ip, headers: { 'x-user': 'bob' } })));
  expect(byHeader.size).toBe(1);
  // with neither, the IP decides: many IPs, both answers
  expect(new Set(keys(50, '203.0.113').map((ip) => decide({ ip }))).size).toBe(2);
});

test('a canary region that is down sends nobody to the canary (failover goes to the next region)', () => {
  const d = route(
    { country: 'KR', ip: 'x', now: NOW },
    withCanary({ percent: 100 }, { 'ap-northeast-2': { status: 'down' } }),
    router,
  );
  expect({ target: d.target.id, reason: d.reason }).toEqual({ target: 'us-east-1', reason: 'failover' });
});
