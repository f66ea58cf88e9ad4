// What must always hold, whatever the config, document and request (fast-check).
import fc from 'fast-check';
import {
  compileRouter,
  type Facts,
  type HealthDoc,
  parseHealthDoc,
  type RegionHealth,
  type RouterConfig,
  route,
} from '../shared';
import { originOf } from '../shared/router';
import { configArb, factsArb, worldArb } from './helpers/arbitraries';

const health = (doc: HealthDoc, id: string): RegionHealth => ({
  role: 'active',
  ...(doc.regions[id] ?? { status: 'up' }),
});

/** The regions a viewer may be sent to: the residency group of its country, or all. */
function candidates(config: RouterConfig, facts: Facts): string[] {
  const cc = facts.country?.toUpperCase();
  const group = config.residency?.find((g) => cc !== undefined && g.countries.includes(cc));
  return group ? group.regions : Object.keys(config.regions);
}

describe('route() properties', () => {
  test('a configured region is always returned, with its origin', () => {
    fc.assert(
      fc.property(worldArb, ({ config, doc, facts }) => {
        const d = route(facts, doc, compileRouter(config));
        expect(d.target.kind).toBe('region');
        expect(Object.keys(config.regions)).toContain(d.target.id);
        const router = compileRouter(config);
        expect(originOf(router, d).domainName).toBe(
          (d.reason === 'canary'
            ? config.regions[d.target.id].canaryOrigin
            : config.regions[d.target.id].origin
          )?.domainName,
        );
        expect(d.reason).not.toBe('error');
      }),
      { numRuns: 300 },
    );
  });

  test('never a down region while an up active candidate exists', () => {
    fc.assert(
      fc.property(worldArb, ({ config, doc, facts }) => {
        const d = route(facts, doc, compileRouter(config));
        const upActive = candidates(config, facts).some(
          (id) => health(doc, id).status === 'up' && health(doc, id).role === 'active',
        );
        if (upActive) {
          expect(health(doc, d.target.id)).toMatchObject({ status: 'up', role: 'active' });
        }
      }),
      { numRuns: 300 },
    );
  });

  test('never outside the residency set', () => {
    fc.assert(
      fc.property(worldArb, ({ config, doc, facts }) => {
        const d = route(facts, doc, compileRouter(config));
        expect(candidates(config, facts)).toContain(d.target.id);
      }),
      { numRuns: 300 },
    );
  });

  test('same input, same decision, from two separately compiled routers (two containers)', () => {
    fc.assert(
      fc.property(worldArb, ({ config, doc, facts }) => {
        expect(route(facts, doc, compileRouter(config))).toEqual(route(facts, doc, compileRouter(config)));
      }),
      { numRuns: 100 },
    );
  });

  test('arbitrary JSON as document, arbitrary headers: no throw, a configured region, and validation never throws', () => {
    fc.assert(
      fc.property(configArb, fc.jsonValue(), factsArb, (config, junk, facts) => {
        expect(() => parseHealthDoc(junk, config)).not.toThrow();
        const d = route(facts, junk as HealthDoc, compileRouter(config));
        expect(Object.keys(config.regions)).toContain(d.target.id);
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary objects as facts never throw', () => {
    fc.assert(
      fc.property(configArb, fc.anything(), (config, facts) => {
        const d = route((facts ?? {}) as Facts, null, compileRouter(config));
        expect(Object.keys(config.regions)).toContain(d.target.id);
      }),
      { numRuns: 300 },
    );
  });

  test('raising a dial never moves a viewer off that region, nor anywhere but onto it', () => {
    const arb = worldArb.chain((w) =>
      fc.record({
        w: fc.constant(w),
        region: fc.constantFrom(...Object.keys(w.config.regions)),
        from: fc.integer({ min: 0, max: 10000 }),
        to: fc.integer({ min: 0, max: 10000 }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ w: { config, doc, facts }, region, from, to }) => {
        const [lo, hi] = from <= to ? [from, to] : [to, from];
        const withDial = (dial: number): HealthDoc => ({
          ...doc,
          regions: { ...doc.regions, [region]: { ...health(doc, region), dial } },
        });
        const before = route(facts, withDial(lo / 100), compileRouter(config)).target.id;
        const after = route(facts, withDial(hi / 100), compileRouter(config)).target.id;
        if (before === region) expect(after).toBe(region);
        else expect([before, region]).toContain(after);
      }),
      { numRuns: 300 },
    );
  });
});
