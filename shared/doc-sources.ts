// Where the health document and the keys are kept: the primary bucket (healthDoc) and its replicas
// (healthDoc.replicas), each object under the same key. Readers read the copy nearest to them; writers write all.
// Zod-free: the edge bundle imports it.
import type { RouterConfig } from './config-schema';
import { awsLatencyMs } from './geo-data';

export interface DocSource {
  /** 'primary', or the replica's region */
  readonly name: string;
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly primary: boolean;
}

type HealthDocSource = NonNullable<RouterConfig['healthDoc']>;

/** Every copy, the primary first: the order writers write in. */
export function docSources(src: HealthDocSource): DocSource[] {
  return [
    { name: 'primary', bucket: src.bucket, region: src.region, endpoint: src.endpoint, primary: true },
    ...(src.replicas ?? []).map((r) => ({
      name: r.region,
      bucket: r.bucket,
      region: r.region,
      endpoint: r.endpoint,
      primary: false,
    })),
  ];
}

/**
 * The copies a reader in `at` (a Lambda function's AWS_REGION) reads, in order: the copy in its own region, else the
 * nearest by the inter-region latency matrix (the primary included: a replica farther than the primary is not read),
 * then the primary. A reader whose region is unknown, or not in the matrix, reads the primary only.
 */
export function readOrder(src: HealthDocSource, at: string | undefined): DocSource[] {
  const all = docSources(src);
  const primary = all[0];
  if (!at || all.length === 1) return [primary];
  const cost = (s: DocSource) =>
    s.region === at ? 0 : (awsLatencyMs(at, s.region) ?? Number.POSITIVE_INFINITY);
  let nearest = primary;
  for (const s of all) if (cost(s) < cost(nearest)) nearest = s;
  return nearest === primary ? [primary] : [nearest, primary];
}
