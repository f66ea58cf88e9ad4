import { parseRouterConfig } from '../shared';
import { docSources, readOrder } from '../shared/doc-sources';
import { EXAMPLE_CONFIG, readJson } from './helpers/load';

const withReplicas = (replicas: unknown) => {
  const c = structuredClone(readJson<Record<string, any>>(EXAMPLE_CONFIG));
  c.healthDoc.replicas = replicas;
  return parseRouterConfig(c);
};

const config = (() => {
  const r = withReplicas([
    { region: 'ap-southeast-2', bucket: 'doc-sydney' },
    { region: 'eu-west-1', bucket: 'doc-dublin' },
  ]);
  if (!r.success || !r.data.healthDoc) throw new Error(JSON.stringify(r));
  return r.data.healthDoc;
})();
const src = config;
const names = (at: string | undefined) => readOrder(src, at).map((s) => s.name);

describe('which copy of the document a function reads (healthDoc.replicas)', () => {
  test.each([
    ['its own region', 'ap-southeast-2', ['ap-southeast-2', 'primary']],
    [
      'the nearest by latency (Tokyo: Sydney 107 ms, Virginia 149, Dublin 201)',
      'ap-northeast-1',
      ['ap-southeast-2', 'primary'],
    ],
    ['the primary, when it is the nearest (Ohio: Virginia 16 ms)', 'us-east-2', ['primary']],
    ['the primary in its own region', 'us-east-1', ['primary']],
    ['the primary, for a region the matrix does not know', 'xx-nowhere-1', ['primary']],
    ['the primary, with no AWS_REGION', undefined, ['primary']],
  ] as const)('%s', (_, at, expected) => {
    expect(names(at)).toEqual(expected);
  });

  test('writers write every copy, the primary first, each its own bucket under the same key', () => {
    expect(docSources(src).map((s) => [s.name, s.bucket, s.primary])).toEqual([
      ['primary', src.bucket, true],
      ['ap-southeast-2', 'doc-sydney', false],
      ['eu-west-1', 'doc-dublin', false],
    ]);
  });

  test.each([
    [
      'a region that is not an AWS region',
      [{ region: 'mars-1', bucket: 'b-mars' }],
      /not an AWS region code/,
    ],
    ["the primary's region again", [{ region: src.region, bucket: 'b-again' }], /one copy per region/],
    [
      'two replicas in one region',
      [
        { region: 'eu-west-1', bucket: 'b-one' },
        { region: 'eu-west-1', bucket: 'b-two' },
      ],
      /one copy per region/,
    ],
  ])('refused: %s', (_, replicas, message) => {
    const r = withReplicas(replicas);
    expect(r.success).toBe(false);
    if (!r.success) expect(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n')).toMatch(message);
  });
});
