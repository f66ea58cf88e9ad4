// The origin timeouts in force (config originTimeouts), for the infra app, the Lambda@Edge function and the local
// edge. No zod here: the function's bundle imports it.

export interface OriginTimeouts {
  readonly connectionAttempts: number;
  readonly connectionTimeoutSeconds: number;
  readonly readTimeoutSeconds: number;
  readonly keepaliveTimeoutSeconds: number;
}

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
 * request 10 s, not 30 (3 attempts × 30 s) — set it to the API's slowest normal response plus a margin.
 */
export const FAILOVER_ORIGIN_TIMEOUTS: OriginTimeouts = {
  connectionAttempts: 1,
  connectionTimeoutSeconds: 2,
  readTimeoutSeconds: 10,
  keepaliveTimeoutSeconds: 5,
};

/** The origin timeouts in force: the config's, else failover's with originGroups, else CloudFront's. */
export function resolveOriginTimeouts(config: {
  readonly originTimeouts?: Partial<OriginTimeouts>;
  readonly originGroups?: unknown;
}): OriginTimeouts {
  const base = config.originGroups !== undefined ? FAILOVER_ORIGIN_TIMEOUTS : CLOUDFRONT_ORIGIN_TIMEOUTS;
  const t = config.originTimeouts ?? {};
  return {
    connectionAttempts: t.connectionAttempts ?? base.connectionAttempts,
    connectionTimeoutSeconds: t.connectionTimeoutSeconds ?? base.connectionTimeoutSeconds,
    readTimeoutSeconds: t.readTimeoutSeconds ?? base.readTimeoutSeconds,
    keepaliveTimeoutSeconds: t.keepaliveTimeoutSeconds ?? base.keepaliveTimeoutSeconds,
  };
}
