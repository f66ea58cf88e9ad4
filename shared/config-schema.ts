// The one source of the router config format (deploy time): its type, its validator and its published JSON Schema
// (schemas/router.config.schema.json, written by `npm run schemas`). Kept apart from the run-time document
// schemas (shared/schema.ts) so that the edge functions, which read only documents, do not build it at load.

import * as ipaddr from 'ipaddr.js';
import * as z from 'zod';
import { cidrProblem } from './cidr';
import { AWS_REGIONS, COUNTRIES } from './geo-data';
import { TARGET_ID } from './ids';
import { DEFAULT_OUTLIER } from './outlier';
import { type Parsed, type Problem, problemsOf, reservedKeyProblems } from './problems';

const COUNTRY = /^[A-Z]{2}$/;
// A DNS name as CloudFront accepts it for a custom origin: labels of letters, digits and hyphens.
const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

const PORT_ERROR = { error: 'must be 80, 443 or an integer from 1024 to 65535' };

export const OriginSchema = z
  .strictObject({
    domainName: z
      .string()
      .max(253, 'at most 253 characters')
      .refine((s) => !s.includes(':'), 'must not contain ":" (give the port in "port")')
      .refine(
        (s) => !ipaddr.isValid(s),
        'must be a DNS name, not an IP address (CloudFront origins are names)',
      )
      .regex(HOSTNAME, 'must be a DNS name (letters, digits, hyphens and dots)')
      .meta({ description: 'DNS name of the origin, as CloudFront connects to it.' }),
    port: z
      .union(
        [z.literal(80), z.literal(443), z.int().min(1024, PORT_ERROR).max(65535, PORT_ERROR)],
        PORT_ERROR,
      )
      .optional()
      .meta({
        description:
          'Origin port; defaults to 443 for https and 80 for http. Lambda@Edge allows 80, 443, 1024-65535.',
      }),
    protocol: z
      .enum(['https', 'http'])
      .optional()
      .meta({ description: 'Origin protocol, https by default.' }),
    path: z
      .string()
      .max(255, 'at most 255 characters')
      .regex(/^\/.*[^/]$/, 'must start with "/" and must not end with "/"')
      .optional()
      .meta({
        description:
          'Path prefix prepended to the request URI at the origin; starts with "/", no trailing "/".',
      }),
  })
  .meta({ id: 'Origin', description: 'Where CloudFront sends the request.' });

const LocationSchema = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});

export const RegionConfigSchema = z.strictObject({
  origin: OriginSchema,
  canaryOrigin: OriginSchema.optional().meta({
    description:
      "The new version's deployment in this region: the health document's canary sends a share of viewers here.",
  }),
  location: LocationSchema.optional().meta({
    description:
      'Where the origin is. Required for a site that is not an AWS region; for an AWS region code it overrides the built-in coordinates.',
  }),
});

export const EnvironmentConfigSchema = z.strictObject({ origin: OriginSchema });

export const ResidencySchema = z.strictObject({
  name: z.string().min(1).max(64),
  countries: z
    .array(z.string().regex(COUNTRY, 'must be an ISO 3166-1 alpha-2 code in capitals'))
    .min(1)
    .meta({ description: 'Viewers from these countries are only ever routed to `regions`.' }),
  regions: z.array(z.string()).min(1),
});

/** The most replicas of the health document: one per Lambda@Edge regional edge cache region, with room to spare. */
export const MAX_REPLICAS = 20;

export const HealthDocSourceSchema = z.strictObject({
  bucket: z.string().min(3).max(63),
  key: z.string().min(1).max(1024),
  region: z.string().regex(TARGET_ID),
  ttlSeconds: z
    .number()
    .min(0)
    .max(3600)
    .default(10)
    .meta({ description: 'How long an edge reuses a fetched document.' }),
  timeoutMs: z.number().int().min(1).max(30000).optional(),
  maxStaleSeconds: z.number().min(0).optional().meta({
    description: 'How long a last-known-good document may be served when the store cannot be read.',
  }),
  endpoint: z.url().optional().meta({ description: 'An S3-compatible endpoint, for local runs and tests.' }),
  replicas: z
    .array(
      z.strictObject({
        region: z.string().regex(TARGET_ID).meta({ description: 'The AWS region the replica bucket is in.' }),
        bucket: z.string().min(3).max(63),
        endpoint: z
          .url()
          .optional()
          .meta({ description: 'An S3-compatible endpoint, for local runs and tests.' }),
      }),
    )
    .max(MAX_REPLICAS)
    .optional()
    .meta({
      description:
        "Copies of the health document and the keys (same keys, other buckets), near the Lambda@Edge regions: a function reads its own region's, else the nearest by latency, else the primary, and falls back to the primary. Every writer writes the primary, then each replica.",
    }),
  kvsArn: z
    .string()
    .regex(/^arn:aws:cloudfront::\d{12}:key-value-store\/[A-Za-z0-9-]+$/, 'a CloudFront KeyValueStore ARN')
    .optional()
    .meta({
      description:
        'The KeyValueStore the CloudFront Functions runtime reads: every `edge-router doc` write updates it too.',
    }),
});

/**
 * The most CIDRs a config may list, networkRoutes and override.allowCidrs together. Every request is matched against
 * each of them in turn: measured on this project's machine, a pick takes 0.2 µs with the example's few and 9-11 µs
 * with 1,000 (82 µs with 10,000).
 */
export const MAX_CIDRS = 1000;

/** The CIDRs a raw config lists, counted before anything is validated (a huge list is refused at once). */
function cidrCountProblem(input: unknown): Problem[] {
  if (typeof input !== 'object' || input === null) return [];
  const c = input as { networkRoutes?: unknown; override?: { allowCidrs?: unknown } };
  let n = 0;
  if (Array.isArray(c.networkRoutes))
    for (const r of c.networkRoutes) if (Array.isArray(r?.cidrs)) n += r.cidrs.length;
  if (Array.isArray(c.override?.allowCidrs)) n += c.override.allowCidrs.length;
  return n > MAX_CIDRS
    ? [
        {
          path: '$',
          message: `${n} CIDRs in networkRoutes and override.allowCidrs together; at most ${MAX_CIDRS} (aggregate them into wider prefixes)`,
        },
      ]
    : [];
}

const CidrSchema = z.string().superRefine((c, ctx) => {
  const problem = cidrProblem(c);
  if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(c)}: ${problem}` });
});

export const NetworkRouteSchema = z.strictObject({
  name: z.string().min(1).max(64),
  cidrs: z
    .array(CidrSchema)
    .min(1)
    .max(MAX_CIDRS)
    .meta({
      description: `IPv4 or IPv6 networks, e.g. "10.8.0.0/16", "2001:db8:8::/48"; at most ${MAX_CIDRS} in the config.`,
    }),
  target: z.string().meta({ description: 'A configured region or environment.' }),
});

export const OverrideSchema = z.strictObject({
  allowCidrs: z
    .array(CidrSchema)
    .max(MAX_CIDRS)
    .default([])
    .meta({
      description: `Viewers from these networks (the VPN egress) may choose a target with x-route-to or the route_to cookie; at most ${MAX_CIDRS} CIDRs in the config.`,
    }),
  keysKey: z.string().min(1).max(1024).default('keys.json').meta({
    description:
      'Object key, in the health document bucket, of the signing keys for x-route-token (never in the repo or a bundle).',
  }),
  maxTokenTtlSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 86400)
    .default(7 * 86400)
    .meta({ description: 'Tokens that expire later than this from now are refused.' }),
});

export const TraceSchema = z.strictObject({
  publicRegion: z.boolean().default(false).meta({
    description:
      'Send x-route-region on every response; the full x-route-decision goes only to authorised viewers.',
  }),
});

/** Request headers the router reads or writes itself: an application's home-region header cannot be one. */
const RESERVED_HEADERS = [
  'x-route-to',
  'x-route-token',
  'x-route-affinity',
  'x-route-region',
  'x-route-reason',
  'x-route-decision',
  'x-route-authorised',
];

export const AffinitySchema = z
  .strictObject({
    cookie: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" (1 to 64)')
      .default('route_affinity')
      .meta({ description: 'The affinity cookie, issued by the response-side function.' }),
    ttlSeconds: z.number().int().min(10).max(86400).default(300).meta({
      description:
        'How long a viewer stays on the region that served its write: at least the replication lag between regions.',
    }),
    after: z.enum(['writes', 'always']).default('writes').meta({
      description:
        'writes: the cookie is issued (and refreshed) on responses to POST, PUT, PATCH and DELETE; always: on every response.',
    }),
    homeHeader: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, 'a lower-case header name')
      .refine((h) => !RESERVED_HEADERS.includes(h), 'a header the router reads or writes itself')
      .optional()
      .meta({
        description:
          "A request header in which the application names the user's home region, signed like the cookie (`edge-router affinity mint`).",
      }),
    homeMaxTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86400)
      .default(86400)
      .meta({ description: 'Home-region values that expire later than this from now are refused.' }),
  })
  .meta({
    description:
      'Region affinity (read-your-writes): a viewer with a valid signed affinity cookie (or home-region header) goes to that region while it is up, not a pilot, and allowed by residency, ahead of geography, dials and standby.',
  });

/** Status codes CloudFront accepts as origin-group failover criteria. */
export const FAILOVER_STATUS_CODES = [400, 403, 404, 416, 500, 502, 503, 504] as const;

export const OriginGroupsSchema = z
  .strictObject({
    failoverStatusCodes: z
      .array(z.union(FAILOVER_STATUS_CODES.map((c) => z.literal(c))))
      .min(1)
      .default([500, 502, 503, 504])
      .meta({ description: 'Responses of the chosen region that send the request to the next one.' }),
  })
  .meta({
    description:
      "Retry a failed GET, HEAD or OPTIONS on the next region within the same request. CloudFront Functions: each request goes through an origin group of the chosen region and the next candidate (one distribution origin per region, whose origin id is the region id: the infra app makes them). Lambda@Edge: the behaviour uses an origin group whose second origin carries X-Route-Attempt: 2; CloudFront invokes the origin-request function again for it, and the function sends the request to the decision's retry target.",
  });

/**
 * How long CloudFront waits for an origin (every origin of the distribution, and the one a function points a request
 * at). CloudFront's own defaults are 3 connection attempts of 10 s and a 30 s read timeout: up to 30 s before a dead
 * region fails over. With originGroups, the defaults are failover's (resolveOriginTimeouts).
 */
export const OriginTimeoutsSchema = z
  .strictObject({
    connectionAttempts: z.number().int().min(1).max(3).optional().meta({
      description:
        'Times CloudFront tries to connect (and, for a custom origin, to get a response after a read timeout): 1-3.',
    }),
    connectionTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(10)
      .optional()
      .meta({ description: 'How long CloudFront waits to establish a connection: 1-10 s.' }),
    readTimeoutSeconds: z.number().int().min(1).max(120).optional().meta({
      description:
        'How long CloudFront waits for a response (origin response timeout): 1-60 s, up to 120 with a quota increase.',
    }),
    keepaliveTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(60)
      .optional()
      .meta({ description: 'How long CloudFront keeps an idle origin connection: 1-60 s.' }),
    perTryTimeoutSeconds: z.number().int().min(1).max(120).optional().meta({
      description:
        "With originGroups: how long the first attempt of a GET, HEAD or OPTIONS that CloudFront can send to the next region waits for its answer (Envoy's per_try_timeout); the retry, and every other method, get readTimeoutSeconds. A region that accepts and never answers then holds such a request this long, not the read timeout. Default 1 s (at most readTimeoutSeconds): set it above the API's slowest normal GET. Lambda@Edge sets it as the request's origin read timeout; CloudFront Functions send such a request first to the origin's per-try copy (origin id try.<id>, which the infra app makes with this read timeout).",
    }),
  })
  .refine(
    (t) =>
      t.perTryTimeoutSeconds === undefined ||
      t.readTimeoutSeconds === undefined ||
      t.perTryTimeoutSeconds <= t.readTimeoutSeconds,
    { path: ['perTryTimeoutSeconds'], message: 'at most readTimeoutSeconds (the retry waits that long)' },
  )
  .meta({
    description:
      "Origin timeouts, applied by the infra app to every origin and by the Lambda@Edge function to the origin it sets. Defaults: CloudFront's (3 attempts, 10 s connect, 30 s read, 5 s keep-alive); with originGroups, failover's (1 attempt, 2 s connect, 10 s read): a dead region costs 2 s, not 30.",
  });

/** Passive health in Lambda@Edge: Envoy's outlier-detection rules (shared/outlier.ts), per function container. */
export const OutlierSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'On unless false (Lambda@Edge only).' }),
    consecutive5xx: z
      .number()
      .int()
      .min(1)
      .max(1000)

      .default(DEFAULT_OUTLIER.consecutive5xx)
      .meta({
        description: 'Failures in a row (5xx, or no answer) that eject a target (Envoy: consecutive_5xx).',
      }),
    baseEjectionTimeMs: z
      .number()
      .int()
      .min(1000)
      .max(3_600_000)
      .default(DEFAULT_OUTLIER.baseEjectionTimeMs)
      .meta({
        description:
          'An ejection lasts this long times the number of times the target was ejected (base_ejection_time).',
      }),
    maxEjectionTimeMs: z
      .number()
      .int()
      .min(1000)
      .max(86_400_000)
      .default(DEFAULT_OUTLIER.maxEjectionTimeMs)
      .meta({ description: 'The longest an ejection lasts (max_ejection_time).' }),
    maxEjectionPercent: z
      .number()
      .min(0)
      .max(100)
      .default(DEFAULT_OUTLIER.maxEjectionPercent)
      .meta({ description: 'At most this share of the regions ejected at once (max_ejection_percent).' }),
    stallMs: z.number().int().min(0).max(180_000).default(DEFAULT_OUTLIER.stallMs).meta({
      description:
        'A region that has not answered below 500 within this long of a request this container sent it is stalled: requests CloudFront cannot send again (POST, PUT, …; every request without originGroups) go to the retry target until it answers. 0: off. Not an Envoy rule.',
    }),
  })
  .meta({
    description:
      'Passive health (Lambda@Edge; on by default, with these defaults): each function container ejects a region, for a while, after its origin fails this many requests in a row; never the last candidate. The health checker still confirms the fault and writes the document.',
  });

export const ProbeSchema = z.strictObject({
  path: z.string().startsWith('/').default('/health').meta({ description: 'What each vantage GETs.' }),
  intervalSeconds: z.number().min(1).max(300).default(10),
  timeoutMs: z.number().int().min(100).max(30000).default(2000),
  expect: z
    .string()
    .regex(/^[1-5]\d\d-[1-5]\d\d$/, 'a status range, e.g. 200-399')
    .default('200-399')
    .meta({ description: 'Statuses that count as a success.' }),
  rise: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(2)
    .meta({ description: 'Successes in a row to count as up.' }),
  fall: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(3)
    .meta({ description: 'Failures in a row to count as down.' }),
});

export const HealthCheckSchema = z
  .strictObject({
    probe: ProbeSchema.prefault({}).meta({ description: 'The probe of every region and environment.' }),
    vantages: z
      .array(z.string().regex(TARGET_ID))
      .min(1)
      .default(['us-east-1'])
      .meta({ description: 'Where probes run from; a flip needs a majority of them.' }),
    minDwellSeconds: z
      .number()
      .min(0)
      .default(0)
      .meta({ description: 'The least time between two flips of one target.' }),
  })
  .meta({
    description:
      'The health checker: active probes that mark targets down and up, with quorum and hysteresis, never against an operator.',
  });

const targetId = (what: string) =>
  z
    .string()
    .regex(TARGET_ID, `${what} must be lower-case letters, digits and hyphens, starting with a letter`);

export const RouterConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    regions: z
      .record(targetId('a region id'), RegionConfigSchema)
      .refine((r) => Object.keys(r).length > 0, 'at least one region is required')
      .meta({ description: 'The regional origins, keyed by AWS region code (or any id with a `location`).' }),
    environments: z
      .record(targetId('an environment name'), EnvironmentConfigSchema)
      .optional()
      .meta({ description: 'Named non-regional targets (staging, ...) that geo routing never picks.' }),
    fallbackRegion: z
      .string()
      .meta({ description: 'Where a request goes when it cannot be placed or routing fails.' }),
    residency: z.array(ResidencySchema).optional(),
    networkRoutes: z.array(NetworkRouteSchema).optional().meta({
      description:
        'Viewers from these networks go to the route target (reason network); the longest prefix wins.',
    }),
    override: OverrideSchema.optional(),
    trace: TraceSchema.optional(),
    sticky: z
      .strictObject({
        cookie: z.string().min(1).max(128).optional(),
        header: z
          .string()
          .regex(/^[a-z0-9-]{1,64}$/, 'a lower-case header name')
          .optional(),
      })
      .optional()
      .meta({
        description:
          'The stable viewer key for canaries and dials (a user or session id): this cookie, else this header, else the viewer IP.',
      }),
    affinity: AffinitySchema.optional(),
    healthDoc: HealthDocSourceSchema.optional(),
    runtime: z.enum(['lambda-edge', 'cloudfront-functions']).default('lambda-edge').meta({
      description:
        'Where routing runs: a Lambda@Edge origin-request function, or a CloudFront Functions viewer-request function (the build then fails unless that bundle fits its 10 KB).',
    }),
    originGroups: OriginGroupsSchema.optional(),
    originTimeouts: OriginTimeoutsSchema.optional(),
    outlier: OutlierSchema.optional(),
    health: HealthCheckSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const regions = c.regions;
    const replicas = c.healthDoc?.replicas ?? [];
    const copies = new Set([c.healthDoc?.region]);
    replicas.forEach((r, i) => {
      const path = ['healthDoc', 'replicas', i, 'region'];
      if (!AWS_REGIONS.has(r.region))
        ctx.addIssue({ code: 'custom', path, message: `"${r.region}" is not an AWS region code` });
      else if (copies.has(r.region))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `"${r.region}" has the primary or another replica already: one copy per region`,
        });
      copies.add(r.region);
    });
    for (const [id, r] of Object.entries(regions)) {
      if (!AWS_REGIONS.has(id) && !r.location) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions', id],
          message: `"${id}" is not an AWS region code: give it a location {lat, lon}`,
        });
      }
    }
    if (!Object.hasOwn(regions, c.fallbackRegion)) {
      ctx.addIssue({
        code: 'custom',
        path: ['fallbackRegion'],
        message: `"${c.fallbackRegion}" is not a configured region`,
      });
    }
    for (const name of Object.keys(c.environments ?? {})) {
      if (Object.hasOwn(regions, name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', name],
          message: `"${name}" is also a region id`,
        });
      }
    }
    const affinityCookie = c.affinity?.cookie;
    if (
      affinityCookie !== undefined &&
      (affinityCookie === 'route_to' || affinityCookie === c.sticky?.cookie)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['affinity', 'cookie'],
        message: `"${affinityCookie}" is already the ${affinityCookie === 'route_to' ? 'override' : 'sticky'} cookie`,
      });
    }
    const isTarget = (id: string) => Object.hasOwn(regions, id) || Object.hasOwn(c.environments ?? {}, id);
    (c.networkRoutes ?? []).forEach((r, i) => {
      if (!isTarget(r.target)) {
        ctx.addIssue({
          code: 'custom',
          path: ['networkRoutes', i, 'target'],
          message: `"${r.target}" is not a configured region or environment`,
        });
      }
    });
    const seen = new Map<string, string>();
    (c.residency ?? []).forEach((group, g) => {
      group.regions.forEach((id, i) => {
        if (!Object.hasOwn(regions, id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['residency', g, 'regions', i],
            message: `"${id}" is not a configured region`,
          });
        }
      });
      group.countries.forEach((cc, i) => {
        if (COUNTRY.test(cc) && !COUNTRIES.has(cc)) {
          ctx.addIssue({
            code: 'custom',
            path: ['residency', g, 'countries', i],
            message: `"${cc}" is not a known country code`,
          });
        }
        const other = seen.get(cc);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['residency', g, 'countries', i],
            message: `"${cc}" is already in residency group "${other}"`,
          });
        }
        seen.set(cc, group.name);
      });
    });
  })
  .meta({
    title: 'edge-router router config',
    description: 'Deploy-time configuration, baked into the edge functions.',
  });

export type Origin = z.output<typeof OriginSchema>;
export type RouterConfig = z.output<typeof RouterConfigSchema>;
export type RouterConfigInput = z.input<typeof RouterConfigSchema>;

export function parseRouterConfig(input: unknown): Parsed<RouterConfig> {
  const refused = [...reservedKeyProblems(input), ...cidrCountProblem(input)];
  if (refused.length) return { success: false, errors: refused };
  const r = RouterConfigSchema.safeParse(input);
  return r.success
    ? { success: true, data: r.data, warnings: [] }
    : { success: false, errors: problemsOf(r.error) };
}
