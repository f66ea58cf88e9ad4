// The origin timeouts in force (config originTimeouts), for the infra app, the Lambda@Edge function and the local
// edge. No zod here: the function's bundle imports it.

export interface OriginTimeouts {
  readonly connectionAttempts: number;
  readonly connectionTimeoutSeconds: number;
  readonly readTimeoutSeconds: number;
  readonly keepaliveTimeoutSeconds: number;
  /**
   * With originGroups: the read timeout of a first attempt CloudFront can send again to the next region (a GET, HEAD
   * or OPTIONS with a retry target), as Envoy's per_try_timeout; undefined without originGroups. Lambda@Edge sets it
   * on the request's origin; CloudFront Functions select the origin's per-try copy (shared/ids.ts PER_TRY).
   */
  readonly perTryTimeoutSeconds?: number;
}

/** The methods CloudFront fails over within an origin group ("Optimize high availability with origin failover"). */
export const FAILOVER_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS'];

/** CloudFront's defaults for a custom origin. */
export const CLOUDFRONT_ORIGIN_TIMEOUTS: OriginTimeouts = {
  connectionAttempts: 3,
  connectionTimeoutSeconds: 10,
  readTimeoutSeconds: 30,
  keepaliveTimeoutSeconds: 5,
};

/**
 * The defaults with in-request retry (originGroups): one connection attempt of 2 s, so a dead or black-holed region
 * fails over in 2 s instead of 30 (3 × 10 s); a 10 s read timeout, so a region that accepts and never answers holds a
 * request 10 s, not 30 (3 attempts × 30 s) — set it to the API's slowest normal response plus a margin. A GET, HEAD
 * or OPTIONS that can be sent again waits 1 s for its first answer (perTryTimeoutSeconds), then goes to the next
 * region with the whole read timeout: a hung region holds it 1 s, a slow one costs 1 s more.
 */
export const FAILOVER_ORIGIN_TIMEOUTS: OriginTimeouts = {
  connectionAttempts: 1,
  connectionTimeoutSeconds: 2,
  readTimeoutSeconds: 10,
  keepaliveTimeoutSeconds: 5,
  perTryTimeoutSeconds: 1,
};

/** The origin timeouts in force: the config's, else failover's with originGroups, else CloudFront's. */
export function resolveOriginTimeouts(config: {
  readonly originTimeouts?: Partial<OriginTimeouts>;
  readonly originGroups?: unknown;
}): OriginTimeouts {
  const grouped = config.originGroups !== undefined;
  const base = grouped ? FAILOVER_ORIGIN_TIMEOUTS : CLOUDFRONT_ORIGIN_TIMEOUTS;
  const t = config.originTimeouts ?? {};
  const readTimeoutSeconds = t.readTimeoutSeconds ?? base.readTimeoutSeconds;
  return {
    connectionAttempts: t.connectionAttempts ?? base.connectionAttempts,
    connectionTimeoutSeconds: t.connectionTimeoutSeconds ?? base.connectionTimeoutSeconds,
    readTimeoutSeconds,
    keepaliveTimeoutSeconds: t.keepaliveTimeoutSeconds ?? base.keepaliveTimeoutSeconds,
    // never longer than the read timeout (a config that sets only a shorter read timeout gets it for both)
    ...(grouped
      ? {
          perTryTimeoutSeconds: Math.min(
            t.perTryTimeoutSeconds ?? (base.perTryTimeoutSeconds as number),
            readTimeoutSeconds,
          ),
        }
      : {}),
  };
}
