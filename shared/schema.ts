// The one source of the run-time formats, the health document and the signing keys: their types, validators and
// published JSON Schemas (schemas/*.schema.json, written by `npm run schemas`). The router config's is in
// shared/config-schema.ts.
// Written with zod/mini, the same validator in a form that tree-shakes: the Lambda@Edge bundle carries these two
// schemas (about 25 KB where zod's full API costs about 97 KB, and 150 KB is the bundle's budget).

import { en } from 'zod/locales';
import * as z from 'zod/mini';

/** A schema with its description in the published JSON Schema. */
function described<T extends z.ZodMiniType>(schema: T, description: string, title?: string): T {
  z.globalRegistry.add(schema, title ? { title, description } : { description });
  return schema;
}

// zod/mini carries no messages of its own: English ones, as zod's full API sets them (about 3 KB). Set at load, not
// with the schemas: it is cheap, and zod's configuration lives on globalThis, which a host may lock after a module's
// own time (jest's teardown of a test file's globals).
z.config(en());

/** The largest health document or keys object read (bytes). */
export const MAX_DOC_BYTES = 256 * 1024;

const datetime = () => z.iso.datetime({ offset: true });

/**
 * The schemas, built on first use: building them takes about 5 ms, which a cold Lambda@Edge container spends while
 * its first fetch of the document is in flight (functions/origin-request/object-cache.ts), not at module load, on
 * the viewer's request (README, "Lambda@Edge cold start").
 */
function build() {
  const RegionHealthSchema = z.strictObject({
    status: described(z.enum(['up', 'down']), 'A down region is never chosen while an up candidate exists.'),
    role: described(
      z.optional(z.enum(['active', 'standby', 'pilot'])),
      'active (default); standby: used only when no active candidate is up; pilot: never chosen automatically.',
    ),
    dial: described(
      z.optional(z.number().check(z.minimum(0), z.maximum(100))),
      'Percent (0-100, default 100) of the traffic that would naturally route here that the region accepts; the rest spills to the next candidate.',
    ),
    canaryStatus: described(
      z.optional(z.enum(['up', 'down'])),
      "The region's canary deployment: down sends nobody to it.",
    ),
    setBy: described(
      z.optional(z.enum(['operator', 'probe'])),
      'Who set the status last: an operator (edge-router doc) or the health checker.',
    ),
    hold: described(
      z.optional(
        z.strictObject({
          by: described(
            z.string().check(z.minLength(1), z.maxLength(64)),
            'Who holds it (the operator, as edge-router doc --by names them).',
          ),
          since: datetime(),
          until: described(
            z.optional(datetime()),
            'When the hold ends by itself (edge-router doc --for); without it, it holds until handed back.',
          ),
        }),
      ),
      "An operator's change (status, role or dial) holds: the health checker never changes this region's status while it is held, until the operator hands it back (edge-router doc status ID auto) or `until` passes.",
    ),
    pinned: described(
      z.optional(z.boolean()),
      'Older documents: a hold with no end (edge-router doc writes a hold instead).',
    ),
    changedAt: described(
      z.optional(datetime()),
      'When the status last changed (the health checker keeps its minimum dwell from it).',
    ),
  });

  const percent = () =>
    z.number().check(
      z.minimum(0, 'at least 0'),
      z.maximum(100, 'at most 100'),
      z.refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, 'in steps of 0.01'),
    );

  const CanarySchema = described(
    z.strictObject({
      percent: described(percent(), 'Share of the viewers of each canary region sent to its canaryOrigin.'),
      regions: described(
        z.optional(z.array(z.string())),
        'Regions in the canary (default: every region with a canaryOrigin).',
      ),
      seed: described(
        z.optional(z.string().check(z.maxLength(64))),
        'A new seed reshuffles who is in the canary.',
      ),
      schedule: described(
        z.optional(
          z.array(z.strictObject({ at: datetime(), percent: percent() })).check(
            z.superRefine((steps, ctx) => {
              for (let i = 1; i < steps.length; i++) {
                if (Date.parse(steps[i].at) <= Date.parse(steps[i - 1].at)) {
                  ctx.addIssue({
                    code: 'custom',
                    path: [i, 'at'],
                    message: 'schedule steps must be in time order',
                  });
                }
              }
            }),
          ),
        ),
        'A ramp evaluated at the edge: the percent is that of the last step whose time has passed.',
      ),
    }),
    'A sticky, weighted canary.',
  );

  const BASE64URL = /^[A-Za-z0-9_-]+$/;

  const SigningKeySchema = z.strictObject({
    id: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, "-" and "_", at most 32')),
    secret: z
      .string()
      .check(
        z.regex(BASE64URL, 'must be base64url'),
        z.minLength(43, 'must encode at least 32 bytes (43 base64url characters)'),
        z.maxLength(512),
      ),
    createdAt: z.optional(datetime()),
    retired: described(z.optional(z.boolean()), 'A retired key signs nothing and verifies nothing.'),
  });

  const KeysDocSchema = described(
    z.strictObject({
      $schema: z.optional(z.string()),
      version: z.literal(1),
      keys: z.array(SigningKeySchema).check(
        z.minLength(1),
        z.superRefine((keys, ctx) => {
          const ids = new Set<string>();
          keys.forEach((k, i) => {
            if (ids.has(k.id))
              ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `key id "${k.id}" is repeated` });
            ids.add(k.id);
          });
        }),
      ),
    }),
    'HMAC-SHA256 keys for x-route-token. Private: kept next to the health document (S3) and mirrored to the KeyValueStore.',
    'edge-router signing keys',
  );

  const HealthDocSchema = described(
    z.strictObject({
      $schema: z.optional(z.string()),
      version: z.literal(1),
      serial: described(z.int().check(z.minimum(0)), 'Increases by one on every published change.'),
      updatedAt: datetime(),
      regions: described(
        z.record(z.string().check(z.minLength(1), z.maxLength(64)), RegionHealthSchema),
        'Health per region or environment id. A region missing here is up, active, dial 100.',
      ),
      canary: z.optional(CanarySchema),
    }),
    'Run-time region health, read by every edge.',
    'edge-router health document',
  );
  return { RegionHealthSchema, CanarySchema, SigningKeySchema, KeysDocSchema, HealthDocSchema };
}

let built: ReturnType<typeof build> | undefined;

/** The health document's and the keys' schemas (built once, on the first call). */
export function schemas(): ReturnType<typeof build> {
  if (!built) built = build();
  return built;
}

type Schemas = ReturnType<typeof build>;
export type HealthDoc = z.output<Schemas['HealthDocSchema']>;
export type RegionHealth = z.output<Schemas['RegionHealthSchema']>;
export type KeysDoc = z.output<Schemas['KeysDocSchema']>;
export type SigningKey = z.output<Schemas['SigningKeySchema']>;
