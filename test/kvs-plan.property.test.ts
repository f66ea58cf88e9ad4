// The built CloudFront Functions file (dist/viewer-request/index.js, `npm run build` from router.config.json) in the
// harness, with a store whose walk for the viewer's ranking is unusable: planned for another config (a foreign
// fingerprint), missing, torn (parts of two versions, or a part missing), malformed, or garbage. Each time the
// function must route exactly as with no store at all, on the baked default of the viewer's ranking (the origin of
// route(facts, null, router)), never throw nor answer with an error, and log why (`plan-unusable`).
import { join } from 'node:path';
import fc from 'fast-check';
import { decisionHeader } from '../functions/route-headers';
import { asStore, planEntries } from '../lib/kvs';
import {
  COUNTRIES,
  compileRouter,
  type Facts,
  fingerprint,
  type HealthDoc,
  parseRouterConfig,
  place,
  type RegionHealth,
  type Router,
  route,
} from '../shared';
import { originId } from '../shared/ids';
import { KVS_MAX_PARTS, kvsParts, planTag, walkKey } from '../shared/kvs-layout';
import { matchCidr, parseIp } from '../shared/net';
import { distributionOrigins } from '../shared/router';
import { CffHarness, type CffResult } from './helpers/cff';
import { viewerRequest } from './helpers/fixtures';

const ROOT = join(__dirname, '..');
const DIST_VIEWER_REQUEST = join(ROOT, 'dist', 'viewer-request', 'index.js');

function routerOf(config: unknown): Router {
  const parsed = parseRouterConfig(config);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
  return compileRouter(parsed.data);
}

// the config the file was built from, and another one (whose plans are foreign to it)
const router = routerOf(require('../router.config.json'));
const other = routerOf(require('./configs/twelve-regions.config.json'));
const FP = fingerprint(router);
const OTHER_FP = fingerprint(other);
const ids = router.regions;

const harness = new CffHarness(DIST_VIEWER_REQUEST, {
  origins: [...distributionOrigins(router.config).keys()],
});

const NOW = Date.UTC(2027, 0, 15, 8);
const HOUR = 3600_000;

/** A canary schedule of `steps` hourly steps around NOW: 55 or more make every walk two parts. */
const schedule = (steps: number, seed: number) =>
  Array.from({ length: steps }, (_, i) => ({
    at: new Date(NOW + (i - steps / 2) * HOUR).toISOString(),
    percent: (seed * 7 + i * 13) % 101,
  }));

/**
 * A document whose plan routes unlike the baked defaults: every region down but one (so a function that used the
 * stored walk would send most viewers elsewhere), with a canary whose schedule may be long enough for two parts.
 * For a torn walk, the regions with a canary origin are the ones up, so that every ranking's walk has the canary,
 * and with at least 55 steps, two parts.
 */
const CANARY_IDS = router.canaries.map((i) => ids[i]);
const docArb = (torn: boolean) =>
  fc
    .record({
      up: torn ? fc.constant(CANARY_IDS) : fc.constantFrom(...ids).map((id) => [id]),
      serial: fc.nat({ max: 1_000_000 }),
      steps: fc.integer({ min: torn ? 55 : 0, max: 70 }),
      percent: fc.integer({ min: 0, max: 100 }),
    })
    .map(
      ({ up, serial, steps, percent }): HealthDoc => ({
        version: 1,
        serial,
        updatedAt: '2026-11-25T08:00:00Z',
        regions: Object.fromEntries(
          ids.map((id) => [id, { status: up.includes(id) ? 'up' : 'down' } as RegionHealth]),
        ),
        canary: { percent, seed: `s${serial}`, ...(steps ? { schedule: schedule(steps, serial) } : {}) },
      }),
    );

type Store = Record<string, string>;

/** The walk keys of ranking r in a store: part 0 and the others. */
const partsOf = (store: Store, r: number) =>
  Object.keys(store).filter((k) => k === walkKey(r) || k.startsWith(`${walkKey(r)}/`));

/** The values of a walk with its header replaced (`<tag>/<count>|`). */
const retag = (value: string, tag: string) => `${tag}${value.slice(value.indexOf('|') - 2)}`;

const notJson = (s: string) => {
  try {
    JSON.parse(s);
    return false;
  } catch (_) {
    return true;
  }
};

/**
 * How the viewer's walk is spoiled, and the words the function's log line must have. Each kind is a function of the
 * store of a good plan, the viewer's ranking and the document (for a second version).
 */
type Corrupt = {
  group: string;
  kind: string;
  why: RegExp;
  spoil: (store: Store, r: number, doc: HealthDoc) => Store;
};

const foreignArb: fc.Arbitrary<Corrupt> = fc
  .oneof(fc.constant(OTHER_FP), fc.stringMatching(/^[0-9a-z]{0,8}$/))
  .filter((fp) => fp !== FP)
  .chain((fp) =>
    fc.constantFrom<Corrupt>(
      {
        // this document's walks, under another fingerprint (every part consistently)
        group: 'foreign fingerprint',
        kind: `foreign fingerprint ${JSON.stringify(fp)}`,
        why: new RegExp(`planned for config ${fp}, not ${FP}`),
        spoil: (store, _r, doc) => {
          const out: Store = {};
          for (const [k, v] of Object.entries(store)) out[k] = retag(v, planTag(doc.serial, fp));
          return out;
        },
      },
      {
        // the walks another config planned (its rankings are other ones; a key may be missing)
        group: 'the plan of another config',
        kind: 'the plan of another config',
        why: new RegExp(`planned for config ${OTHER_FP}, not ${FP}|key not found`),
        spoil: (_store, _r, doc) => asStore(planEntries(other, doc)),
      },
    ),
  );

const missingArb: fc.Arbitrary<Corrupt> = fc.constantFrom<Corrupt>(
  {
    group: 'missing',
    kind: 'missing: an empty store',
    why: /key not found: edge-router\/plan\/\d+$/,
    spoil: () => ({}),
  },
  {
    // the other rankings' walks are there
    group: 'missing',
    kind: "missing: the viewer's walk (every part)",
    why: /key not found: edge-router\/plan\/\d+$/,
    spoil: (store, r) => {
      const out = { ...store };
      for (const k of partsOf(store, r)) delete out[k];
      return out;
    },
  },
  {
    group: 'missing',
    kind: "missing: the viewer's part 0 only",
    why: /key not found: edge-router\/plan\/\d+$/,
    spoil: (store, r) => {
      const out = { ...store };
      delete out[walkKey(r)];
      return out;
    },
  },
);

/** Torn: the store holds (two-part) walks of two versions, and the viewer's parts come from both, or one is gone. */
const tornArb: fc.Arbitrary<Corrupt> = fc
  .record({ serial: fc.nat({ max: 1_000_000 }), steps: fc.integer({ min: 55, max: 70 }), swap: fc.boolean() })
  .chain(({ serial, steps, swap }) =>
    fc.constantFrom<Corrupt>(
      {
        group: 'torn',
        kind: `torn: part 0 of one version, part 1 of another (${swap ? 'newer first' : 'older first'})`,
        why: /edge-router\/plan\/\d+\/1: another version/,
        spoil: (store, r, doc) => {
          const next: HealthDoc = {
            ...doc,
            serial: doc.serial === serial ? serial + 1 : serial,
            canary: { percent: 50, schedule: schedule(steps, serial) },
          };
          const newer = asStore(planEntries(router, next));
          const out = { ...store };
          if (swap) out[walkKey(r)] = newer[walkKey(r)];
          else out[`${walkKey(r)}/1`] = newer[`${walkKey(r)}/1`];
          return out;
        },
      },
      {
        group: 'torn',
        kind: 'torn: part 1 not there yet',
        why: /key not found: edge-router\/plan\/\d+\/1$/,
        spoil: (store, r) => {
          const out = { ...store };
          delete out[`${walkKey(r)}/1`];
          return out;
        },
      },
      {
        // the same text cut into a different number of parts: the counts differ, so the headers do
        group: 'torn',
        kind: 'torn: part 1 of a version with another part count',
        why: /edge-router\/plan\/\d+\/1: another version/,
        spoil: (store, r, doc) => {
          const out = { ...store };
          const tag = planTag(doc.serial, FP);
          const [, p1] = kvsParts(walkKey(r), tag, `${'x'.repeat(3000)}`);
          out[`${walkKey(r)}/1`] = p1.value;
          return out;
        },
      },
    ),
  );

/** Malformed part headers, and texts with this function's own tag that are not JSON. */
const malformedArb: fc.Arbitrary<Corrupt> = fc
  .record({
    header: fc.constantFrom(
      (t: string) => t.replace('|', ''), // no "|" at all
      (t: string) => `|${t}`, // nothing before the "|"
      (t: string) => `${t.slice(0, t.indexOf('|'))}`, // the header alone, no bar
      (_t: string) => '',
      (t: string) => t.replace(/\/\d\|/, '/0|'),
      (t: string) => t.replace(/\/\d\|/, `/${KVS_MAX_PARTS + 1}|`),
      (t: string) => t.replace(/\/\d\|/, '/x|'),
      (t: string) => t.replace(/\/\d\|/, '/-1|'),
      (t: string) => t.replace(/\/\d\|/, '|'),
    ),
    cut: fc.integer({ min: 1, max: 200 }),
  })
  .chain(({ header, cut }) =>
    fc.constantFrom<Corrupt>(
      {
        group: 'malformed part header',
        kind: 'malformed part header',
        why: /edge-router\/plan\/\d+: malformed|planned for config|key not found/,
        spoil: (store, r) => {
          const out = { ...store };
          out[walkKey(r)] = header(store[walkKey(r)]);
          return out;
        },
      },
      {
        // a single-part value, its JSON cut short
        group: 'its own tag, the JSON cut short',
        kind: `its own tag, the JSON cut ${cut} characters short`,
        why: /SyntaxError/,
        spoil: (store, r, doc) => {
          const out = { ...store };
          for (const k of partsOf(store, r)) delete out[k];
          const text = JSON.stringify({ s: [[0, 10000, 'nearest']], n: [0, 1] });
          out[walkKey(r)] = `${planTag(doc.serial, FP)}/1|${text.slice(0, Math.max(0, text.length - cut))}`;
          return out;
        },
      },
    ),
  );

/** Random garbage in the viewer's part 0: bare, or after this function's own header (then never valid JSON). */
const garbageArb: fc.Arbitrary<Corrupt> = fc
  .record({
    text: fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: fc.constantFrom('|', '/', '.', '0', '1', '9', 'a', FP), maxLength: 12 }),
    ),
    headed: fc.boolean(),
  })
  // a value this function would take as its own walk, with JSON that is not one, is the known bug below
  .filter(({ text, headed }) =>
    headed ? notJson(text) : !text.includes(FP) || notJson(text.slice(text.indexOf('|') + 1)),
  )
  .map(
    ({ text, headed }): Corrupt => ({
      group: headed ? 'garbage after its own header' : 'garbage',
      kind: `garbage${headed ? ' after its own header' : ''}: ${JSON.stringify(text)}`,
      why: /./,
      spoil: (store, r, doc) => {
        const out = { ...store };
        out[walkKey(r)] = headed ? `${planTag(doc.serial, FP)}/1|${text}` : text;
        return out;
      },
    }),
  );

// viewers: any country (or none, or junk), maybe coordinates, an address in none of the config's networks (without a
// walk, network routes do not apply: README), any method
const viewerArb = fc
  .record(
    {
      country: fc.oneof(fc.constantFrom(...COUNTRIES.keys()), fc.constantFrom('kr', 'XX', '', 'EU')),
      coords: fc.tuple(fc.integer({ min: -9000, max: 9000 }), fc.integer({ min: -18000, max: 18000 })),
      ip: fc.oneof(fc.ipV4(), fc.ipV6()).filter((ip) => {
        const a = parseIp(ip);
        return matchCidr(router.networks, a) === undefined && matchCidr(router.allow, a) === undefined;
      }),
      method: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT'),
    },
    { requiredKeys: ['ip', 'method'] },
  )
  .map((v) => {
    const headers: Record<string, string> = {};
    if (v.country !== undefined) headers['cloudfront-viewer-country'] = v.country;
    if (v.coords) {
      headers['cloudfront-viewer-latitude'] = String(v.coords[0] / 100);
      headers['cloudfront-viewer-longitude'] = String(v.coords[1] / 100);
    }
    const facts: Facts = {
      country: v.country,
      lat: v.coords && v.coords[0] / 100,
      lon: v.coords && v.coords[1] / 100,
      ip: v.ip,
      headers,
      cookies: {},
      method: v.method,
      now: NOW,
    };
    const event = viewerRequest(headers, {}, v.ip);
    event.request.method = v.method;
    return { facts, event };
  });

/** What a run did to the request: our headers and the origin it selected. */
const routed = (r: CffResult) => ({
  returned: r.returned,
  calls: r.calls,
  statusCode: r.returned.statusCode,
});

describe('dist/viewer-request/index.js with an unusable walk in its store', () => {
  test('the build is of router.config.json: its own plan is read', async () => {
    // a plan that sends everyone to sa-east-1 (every other region down), read and followed
    const doc: HealthDoc = {
      version: 1,
      serial: 41,
      updatedAt: '2026-11-25T08:00:00Z',
      regions: Object.fromEntries(
        ids.map((id) => [id, { status: id === 'sa-east-1' ? 'up' : 'down' } as RegionHealth]),
      ),
    };
    const event = viewerRequest({ 'cloudfront-viewer-country': 'JP' }, {}, '203.0.113.5');
    const r = await harness.run(event, NOW, asStore(planEntries(router, doc)));
    expect(r.returned.headers['x-route-decision'].value).toBe(
      'target=sa-east-1; reason=failover; doc=41; stale=0',
    );
    expect(r.logs).toEqual([]);
  });

  test('property: foreign, missing, torn, malformed or garbage → routed as with no store, and logged', async () => {
    const kinds = new Map<string, number>();
    let differs = 0;
    let runs = 0;
    const corruptArb = fc.oneof(foreignArb, missingArb, tornArb, malformedArb, garbageArb);
    await fc.assert(
      fc.asyncProperty(
        corruptArb.chain((c) =>
          fc.record({
            c: fc.constant(c),
            // a torn walk needs two parts: a long schedule
            doc: docArb(c.group === 'torn'),
            viewer: viewerArb,
          }),
        ),
        async ({ c, doc, viewer }) => {
          runs++;
          const good = asStore(planEntries(router, doc));
          const r = place(router, viewer.facts).ranking;
          if (c.group === 'torn') expect(partsOf(good, r).length).toBeGreaterThanOrEqual(2);
          const store = c.spoil(good, r, doc);

          const none = await harness.run(viewer.event, NOW);
          const got = await harness.run(viewer.event, NOW, store);
          // exactly as with no store associated
          expect(routed(got)).toEqual(routed(none));
          expect(got.returned.statusCode).toBeUndefined();
          // the baked default: route(facts, null), its origin and decision
          const d = route(viewer.facts, null, router);
          expect(d.reason).not.toBe('error');
          expect(got.calls).toEqual([
            {
              helper: 'selectRequestOriginById',
              args: [originId(d.target.id, d.reason === 'canary'), undefined],
            },
          ]);
          expect(got.returned.headers['x-route-decision']).toEqual({ value: decisionHeader(d) });
          expect(got.returned.headers['x-route-reason']).toEqual({ value: d.reason });
          // and one log line says why (with no store there is nothing to say)
          expect(none.logs).toEqual([]);
          expect(got.logs).toHaveLength(1);
          const line = JSON.parse(got.logs[0]);
          expect(line.edgeRouter).toBe('plan-unusable');
          expect(line.detail).toMatch(c.why);
          // the good plan would have routed this viewer otherwise (the corruption is what the test sees)
          if (decisionHeader(route(viewer.facts, doc, router)) !== decisionHeader(d)) differs++;
          kinds.set(c.group, (kinds.get(c.group) ?? 0) + 1);
        },
      ),
      { numRuns: 200 },
    );
    expect(runs).toBe(200);
    expect([...kinds.keys()].sort()).toEqual(
      [
        'foreign fingerprint',
        'the plan of another config',
        'missing',
        'torn',
        'malformed part header',
        'its own tag, the JSON cut short',
        'garbage',
        'garbage after its own header',
      ].sort(),
    );
    expect(differs).toBeGreaterThan(100);
  });

  // KNOWN BUG (reported, not fixed here): a value with this function's own tag whose text is JSON but not a walk
  // (`{}`, `[]`, `1`, `{"s":[]}`, a walk without "n") is taken as the walk: pick() then throws on it, and the
  // request goes to the fallback region with reason `error` (log `route-error`), not to the baked default of the
  // viewer's ranking (README: "a malformed one: refused, not glued; the baked default"). test.failing passes while
  // the bug is there; once the handler refuses such a value, this fails: make it a plain test.
  test.failing('a value with its own tag whose JSON is not a walk → routed as with no store', async () => {
    const event = viewerRequest({ 'cloudfront-viewer-country': 'BR' }, {}, '203.0.113.9');
    const r = place(router, { country: 'BR' }).ranking;
    const none = await harness.run(event, NOW);
    for (const text of ['{}', '[]', '1', '"s"', '{"s":[]}', '{"s":[[0,10000,"nearest"]]}']) {
      const got = await harness.run(event, NOW, { [walkKey(r)]: `7.${FP}/1|${text}` });
      expect({ text, ...routed(got) }).toEqual({ text, ...routed(none) });
      expect(got.logs.map((l) => JSON.parse(l).edgeRouter)).toEqual(['plan-unusable']);
    }
  });
});
