// Writes schemas/*.schema.json from the zod schemas in shared/schema.ts (the one source).
// `npm run schemas` writes them; test/schemas.test.ts fails when the committed files drift.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RouterConfigSchema } from '../shared/config-schema';
import { schemas } from '../shared/schema';

const SCHEMAS = {
  'router.config.schema.json': RouterConfigSchema,
  'health.schema.json': schemas().HealthDocSchema,
  'keys.schema.json': schemas().KeysDocSchema,
} as const;

export function renderSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, schema] of Object.entries(SCHEMAS)) {
    // io: 'input' describes what a person writes (defaults are optional there)
    const json = z.toJSONSchema(schema, {
      io: 'input',
      target: 'draft-2020-12',
      // zod writes .startsWith() as format "starts_with", which is no JSON Schema format (validators warn and
      // ignore it): the pattern it writes beside it says the same
      override: (ctx) => {
        if (ctx.jsonSchema.format === 'starts_with') delete ctx.jsonSchema.format;
      },
    });
    out[file] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return out;
}

if (require.main === module) {
  const dir = join(__dirname, '..', 'schemas');
  for (const [file, text] of Object.entries(renderSchemas())) {
    writeFileSync(join(dir, file), text);
    console.log(`wrote schemas/${file}`);
  }
}
