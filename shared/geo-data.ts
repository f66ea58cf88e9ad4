// Reference tables, baked into every bundle. Provenance and licences: data/README.md.
import latencyFile from '../data/aws-inter-region-latency-p50.json';
import regionsFile from '../data/aws-regions.json';
import countriesFile from '../data/countries.json';

export interface Place {
  readonly lat: number;
  readonly lon: number;
}
export interface Country extends Place {
  readonly iso: string;
  readonly name: string;
}

// Both tables are marked pure (the call and its argument's), so that a bundle that never reads one does not carry
// it: the Lambda@Edge function routes on the router the build compiled, and its cold start parses every byte.

/** AWS region code → coordinates (city level). */
export const AWS_REGIONS: ReadonlyMap<string, Place> = /* @__PURE__ */ new Map(
  /* @__PURE__ */ regionsFile.map((r) => [r.code, { lat: r.lat, lon: r.lon }]),
);

/** ISO 3166-1 alpha-2 code → name and centroid; every code CloudFront can send. */
export const COUNTRIES: ReadonlyMap<string, Country> = /* @__PURE__ */ new Map(
  /* @__PURE__ */ countriesFile.map((c) => [c.iso, c]),
);

const latency = latencyFile.data as Record<string, Record<string, number>>;

/** p50 round-trip time in ms from one AWS region to another (cloudping.co, one year), if measured. */
export function awsLatencyMs(from: string, to: string): number | undefined {
  return latency[from]?.[to];
}
