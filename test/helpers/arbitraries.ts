// fast-check arbitraries shared by the property tests: configs, health documents and request facts.
import fc from 'fast-check';
import {
  AWS_REGIONS,
  COUNTRIES,
  type Facts,
  type HealthDoc,
  parseRouterConfig,
  type RegionHealth,
  type RouterConfig,
} from '../../shared';

export const REGION_CODES = [...AWS_REGIONS.keys()];
export const COUNTRY_CODES = [...COUNTRIES.keys()];

/** Valid configs: 1-6 AWS regions, maybe a residency group, a fallback among them. */
export const configArb: fc.Arbitrary<RouterConfig> = fc
  .uniqueArray(fc.constantFrom(...REGION_CODES), { minLength: 1, maxLength: 6 })
  .chain((ids) =>
    fc.record({
      ids: fc.constant(ids),
      fallback: fc.constantFrom(...ids),
      residency: fc.option(
        fc.record({
          countries: fc.uniqueArray(fc.constantFrom(...COUNTRY_CODES), { minLength: 1, maxLength: 20 }),
          regions: fc.uniqueArray(fc.constantFrom(...ids), { minLength: 1 }),
        }),
        { nil: undefined },
      ),
    }),
  )
  .map(({ ids, fallback, residency }) => {
    const parsed = parseRouterConfig({
      regions: Object.fromEntries(ids.map((id) => [id, { origin: { domainName: `api.${id}.example.com` } }])),
      environments: { staging: { origin: { domainName: 'api.staging.example.com' } } },
      fallbackRegion: fallback,
      residency: residency ? [{ name: 'group', ...residency }] : undefined,
    });
    if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
    return parsed.data;
  });

export const healthArb: fc.Arbitrary<RegionHealth> = fc.record(
  {
    status: fc.constantFrom('up', 'down'),
    role: fc.constantFrom('active', 'standby', 'pilot'),
    dial: fc.oneof(
      fc.constant(100),
      fc.integer({ min: 0, max: 10000 }).map((n) => n / 100),
    ),
  },
  { requiredKeys: ['status'] },
);

export const docArb = (config: RouterConfig): fc.Arbitrary<HealthDoc> =>
  fc
    .dictionary(fc.constantFrom(...Object.keys(config.regions), 'staging', 'eu-west-9'), healthArb)
    .chain((regions) =>
      fc.record({
        version: fc.constant(1 as const),
        serial: fc.nat(),
        updatedAt: fc.constant('2026-11-25T08:00:00Z'),
        regions: fc.constant(regions),
      }),
    );

export const factsArb: fc.Arbitrary<Facts> = fc.record(
  {
    country: fc.oneof(fc.constantFrom(...COUNTRY_CODES), fc.string({ maxLength: 3 })),
    lat: fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }), fc.double()),
    lon: fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }), fc.double()),
    ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()),
    headers: fc.dictionary(fc.string(), fc.string()),
    cookies: fc.dictionary(fc.string(), fc.string()),
    now: fc.integer(),
  },
  { requiredKeys: [] },
);

export const worldArb = configArb.chain((config) =>
  fc.record({ config: fc.constant(config), doc: docArb(config), facts: factsArb }),
);
