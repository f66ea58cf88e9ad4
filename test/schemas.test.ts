import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { renderSchemas } from '../scripts/gen-schemas';
import { EXAMPLE_CONFIG, EXAMPLE_DOC, ROOT, readJson } from './helpers/load';

const rendered = renderSchemas();
const committed = (file: string) => readFileSync(join(ROOT, 'schemas', file), 'utf8');

test.each(Object.keys(rendered))(
  'schemas/%s is what the zod schema generates (run npm run schemas)',
  (file) => {
    expect(committed(file)).toBe(rendered[file]);
  },
);

describe('published JSON Schemas agree with the validator', () => {
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  const config = ajv.compile(JSON.parse(committed('router.config.schema.json')));
  const doc = ajv.compile(JSON.parse(committed('health.schema.json')));

  test('the examples are valid', () => {
    expect(config(readJson(EXAMPLE_CONFIG))).toBe(true);
    expect(doc(readJson(EXAMPLE_DOC))).toBe(true);
    expect(doc(readJson(join(ROOT, 'examples', 'health.failover.json')))).toBe(true);
  });

  test('what the validator rejects by shape, the schema rejects too', () => {
    const d = readJson<any>(EXAMPLE_DOC);
    d.regions['us-east-1'].status = 'maybe';
    expect(doc(d)).toBe(false);
    d.regions['us-east-1'].status = 'up';
    d.updatedAt = 'yesterday';
    expect(doc(d)).toBe(false);
    const c = readJson<any>(EXAMPLE_CONFIG);
    c.regions['us-east-1'].origin.port = 22;
    expect(config(c)).toBe(false);
    c.regions['us-east-1'].origin.port = 8443;
    c.regions['us-east-1'].origin.path = '/api/';
    expect(config(c)).toBe(false);
  });
});
