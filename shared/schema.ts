// The one source of the run-time formats, the health document and the signing keys: their types, validators and
// published JSON Schemas (schemas/*.schema.json, written by `npm run schemas`). The router config's is in
// shared/config-schema.ts.
import * as z from 'zod';

export const RegionHealthSchema = z.strictObject({
  status: z
    .enum(['up', 'down'])
    .meta({ description: 'A down region is never chosen while an up candidate exists.' }),
  role: z.enum(['active', 'standby', 'pilot']).optional().meta({
    description:
      'active (default); standby: used only when no active candidate is up; pilot: never chosen automatically.',
  }),
  dial: z.number().min(0).max(100).optional().meta({
    description:
      'Percent (0-100, default 100) of the traffic that would naturally route here that the region accepts; the rest spills to the next candidate.',
  }),
  canaryStatus: z
    .enum(['up', 'down'])
    .optional()
    .meta({ description: "The region's canary deployment: down sends nobody to it." }),
  setBy: z
    .enum(['operator', 'probe'])
    .optional()
    .meta({ description: 'Who set the status last: an operator (edge-router doc) or the health checker.' }),
  hold: z
    .strictObject({
      by: z
        .string()
        .min(1)
        .max(64)
        .meta({ description: 'Who holds it (the operator, as edge-router doc --by names them).' }),
      since: z.iso.datetime({ offset: true }),
      until: z.iso.datetime({ offset: true }).optional().meta({
        description:
          'When the hold ends by itself (edge-router doc --for); without it, it holds until handed back.',
      }),
    })
    .optional()
    .meta({
      description:
        "An operator's change (status, role or dial) holds: the health checker never changes this region's status while it is held, until the operator hands it back (edge-router doc status ID auto) or `until` passes.",
    }),
  pinned: z.boolean().optional().meta({
    description: 'Older documents: a hold with no end (edge-router doc writes a hold instead).',
  }),
  changedAt: z.iso.datetime({ offset: true }).optional().meta({
    description: 'When the status last changed (the health checker keeps its minimum dwell from it).',
  }),
});

const percent = z
  .number()
  .min(0, 'at least 0')
  .max(100, 'at most 100')
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, 'in steps of 0.01');

export const CanarySchema = z
  .strictObject({
    percent: percent.meta({
      description: 'Share of the viewers of each canary region sent to its canaryOrigin.',
    }),
    regions: z
      .array(z.string())
      .optional()
      .meta({ description: 'Regions in the canary (default: every region with a canaryOrigin).' }),
    seed: z.string().max(64).optional().meta({ description: 'A new seed reshuffles who is in the canary.' }),
    schedule: z
      .array(z.strictObject({ at: z.iso.datetime({ offset: true }), percent }))
      .optional()
      .superRefine((steps, ctx) => {
        if (!steps) return;
        for (let i = 1; i < steps.length; i++) {
          if (Date.parse(steps[i].at) <= Date.parse(steps[i - 1].at)) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'at'],
              message: 'schedule steps must be in time order',
            });
          }
        }
      })
      .meta({
        description:
          'A ramp evaluated at the edge: the percent is that of the last step whose time has passed.',
      }),
  })
  .meta({ description: 'A sticky, weighted canary.' });

export const MAX_DOC_BYTES = 256 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export const SigningKeySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, "-" and "_", at most 32'),
  secret: z
    .string()
    .regex(BASE64URL, 'must be base64url')
    .min(43, 'must encode at least 32 bytes (43 base64url characters)')
    .max(512),
  createdAt: z.iso.datetime({ offset: true }).optional(),
  retired: z.boolean().optional().meta({ description: 'A retired key signs nothing and verifies nothing.' }),
});

export const KeysDocSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1),
    keys: z
      .array(SigningKeySchema)
      .min(1)
      .superRefine((keys, ctx) => {
        const ids = new Set<string>();
        keys.forEach((k, i) => {
          if (ids.has(k.id))
            ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `key id "${k.id}" is repeated` });
          ids.add(k.id);
        });
      }),
  })
  .meta({
    title: 'edge-router signing keys',
    description:
      'HMAC-SHA256 keys for x-route-token. Private: kept next to the health document (S3) and mirrored to the KeyValueStore.',
  });

export const HealthDocSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1),
    serial: z.number().int().min(0).meta({ description: 'Increases by one on every published change.' }),
    updatedAt: z.iso.datetime({ offset: true }),
    regions: z.record(z.string().min(1).max(64), RegionHealthSchema).meta({
      description: 'Health per region or environment id. A region missing here is up, active, dial 100.',
    }),
    canary: CanarySchema.optional(),
  })
  .meta({ title: 'edge-router health document', description: 'Run-time region health, read by every edge.' });

export type HealthDoc = z.output<typeof HealthDocSchema>;
export type RegionHealth = z.output<typeof RegionHealthSchema>;
export type KeysDoc = z.output<typeof KeysDocSchema>;
export type SigningKey = z.output<typeof SigningKeySchema>;
