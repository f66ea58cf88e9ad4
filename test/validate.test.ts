import {
  type HealthDoc,
  jsonPath,
  parseHealthDoc,
  parseHealthDocText,
  parseJsonText,
  parseRouterConfig,
  type RouterConfigInput,
} from '../shared';
import { readHealthDocText, readJsonText } from '../shared/validate';
import { EXAMPLE_CONFIG, EXAMPLE_DOC, exampleConfig, readJson } from './helpers/load';

const rawConfig = () => structuredClone(readJson<Record<string, any>>(EXAMPLE_CONFIG));
const rawDoc = () => structuredClone(readJson<Record<string, any>>(EXAMPLE_DOC));

function configErrors(change: (c: Record<string, any>) => void) {
  const c = rawConfig();
  change(c);
  const r = parseRouterConfig(c);
  if (r.success) throw new Error('expected the config to be rejected');
  return r.errors;
}

describe('router config', () => {
  test('the example is valid, with defaults filled in', () => {
    const r = parseRouterConfig(rawConfig());
    expect(r.success).toBe(true);
    if (r.success) expect(r.data.healthDoc?.ttlSeconds).toBe(10);
  });

  test('a per-try timeout longer than the read timeout is refused at its path; within it, accepted', () => {
    expect(
      configErrors((c) => (c.originTimeouts = { readTimeoutSeconds: 5, perTryTimeoutSeconds: 6 })),
    ).toEqual([
      {
        path: '$.originTimeouts.perTryTimeoutSeconds',
        message: expect.stringMatching(/at most readTimeoutSeconds/),
      },
    ]);
    const c = rawConfig();
    c.originTimeouts = { readTimeoutSeconds: 5, perTryTimeoutSeconds: 5 };
    expect(parseRouterConfig(c).success).toBe(true);
  });

  test.each<[string, (c: Record<string, any>) => void, string, RegExp]>([
    [
      'port 22',
      (c) => (c.regions['us-east-1'].origin.port = 22),
      '$.regions["us-east-1"].origin.port',
      /80, 443/,
    ],
    [
      'port 70000',
      (c) => (c.regions['us-east-1'].origin.port = 70000),
      '$.regions["us-east-1"].origin.port',
      /1024/,
    ],
    [
      'a colon in the domain',
      (c) => (c.regions['us-east-1'].origin.domainName = 'a.com:8443'),
      '$.regions["us-east-1"].origin.domainName',
      /":"/,
    ],
    [
      'an IPv4 domain',
      (c) => (c.regions['us-east-1'].origin.domainName = '192.0.2.1'),
      '$.regions["us-east-1"].origin.domainName',
      /not an IP/,
    ],
    [
      'a 254-character domain',
      (c) => (c.regions['us-east-1'].origin.domainName = `${'a'.repeat(250)}.com`),
      '$.regions["us-east-1"].origin.domainName',
      /253/,
    ],
    [
      'a path without a leading slash',
      (c) => (c.regions['us-east-1'].origin.path = 'api'),
      '$.regions["us-east-1"].origin.path',
      /start with/,
    ],
    [
      'a path with a trailing slash',
      (c) => (c.regions['us-east-1'].origin.path = '/api/'),
      '$.regions["us-east-1"].origin.path',
      /end with/,
    ],
    [
      'protocol ftp',
      (c) => (c.regions['us-east-1'].origin.protocol = 'ftp'),
      '$.regions["us-east-1"].origin.protocol',
      /https/,
    ],
    [
      'an unknown fallback',
      (c) => (c.fallbackRegion = 'us-west-9'),
      '$.fallbackRegion',
      /not a configured region/,
    ],
    [
      'a non-AWS id without location',
      (c) => (c.regions.onprem = { origin: { domainName: 'dc.example.com' } }),
      '$.regions.onprem',
      /location/,
    ],
    [
      'a residency region not configured',
      (c) => c.residency[0].regions.push('eu-west-1'),
      '$.residency[0].regions[1]',
      /not a configured region/,
    ],
    [
      'a lower-case residency country',
      (c) => c.residency[0].countries.push('pl'),
      '$.residency[0].countries[5]',
      /ISO/,
    ],
    [
      'an unknown residency country',
      (c) => c.residency[0].countries.push('QQ'),
      '$.residency[0].countries[5]',
      /not a known country/,
    ],
    [
      'a country in two groups',
      (c) => c.residency.push({ name: 'de', countries: ['DE'], regions: ['eu-central-1'] }),
      '$.residency[1].countries[0]',
      /already in residency group "eu"/,
    ],
    [
      'an environment named like a region',
      (c) => (c.environments['us-east-1'] = { origin: { domainName: 'x.example.com' } }),
      '$.environments["us-east-1"]',
      /also a region/,
    ],
    [
      'an unknown property',
      (c) => (c.regions['us-east-1'].weight = 3),
      '$.regions["us-east-1"].weight',
      /unknown property/,
    ],
    ['no regions', (c) => (c.regions = {}), '$.regions', /at least one region/],
    [
      'an upper-case region id',
      (c) => (c.regions['US-EAST-1'] = c.regions['us-east-1']),
      '$.regions["US-EAST-1"]',
      /lower-case/,
    ],
    [
      'an endpoint that is not a URL',
      (c) => (c.healthDoc.endpoint = 'localhost 4569'),
      '$.healthDoc.endpoint',
      /URL/i,
    ],
  ])('rejects %s at its JSON path', (_name, change, path, message) => {
    const errors = configErrors(change);
    expect(errors).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  test('reports every problem, not only the first', () => {
    const errors = configErrors((c) => {
      c.fallbackRegion = 'nowhere';
      c.regions['sa-east-1'].origin.port = 1;
    });
    expect(errors.map((e) => e.path).sort()).toEqual([
      '$.fallbackRegion',
      '$.regions["sa-east-1"].origin.port',
    ]);
  });

  test('a non-AWS site with a location is accepted', () => {
    const r = parseRouterConfig({
      regions: { 'onprem-1': { origin: { domainName: 'dc.example.com' }, location: { lat: 1, lon: 2 } } },
      fallbackRegion: 'onprem-1',
    } satisfies RouterConfigInput);
    expect(r.success).toBe(true);
  });

  test('never throws, whatever it is given', () => {
    for (const input of [null, undefined, 1, 'x', [], { regions: null }, { regions: { a: null } }]) {
      expect(parseRouterConfig(input).success).toBe(false);
    }
  });
});

describe('health document', () => {
  const config = exampleConfig();

  test('the example is valid', () => {
    expect(parseHealthDoc(rawDoc(), config)).toEqual({
      success: true,
      data: expect.any(Object),
      warnings: [],
    });
  });

  test.each<[string, (d: Record<string, any>) => void, string]>([
    ['status "maybe"', (d) => (d.regions['us-east-1'].status = 'maybe'), '$.regions["us-east-1"].status'],
    ['a missing status', (d) => delete d.regions['us-east-1'].status, '$.regions["us-east-1"].status'],
    ['dial 150', (d) => (d.regions['us-east-1'].dial = 150), '$.regions["us-east-1"].dial'],
    ['dial -1', (d) => (d.regions['us-east-1'].dial = -1), '$.regions["us-east-1"].dial'],
    ['role "primary"', (d) => (d.regions['us-east-1'].role = 'primary'), '$.regions["us-east-1"].role'],
    ['version 2', (d) => (d.version = 2), '$.version'],
    ['a fractional serial', (d) => (d.serial = 1.5), '$.serial'],
    ['a date that is not ISO', (d) => (d.updatedAt = 'yesterday'), '$.updatedAt'],
    [
      'an unknown region property',
      (d) => (d.regions['us-east-1'].weight = 1),
      '$.regions["us-east-1"].weight',
    ],
  ])('rejects %s at its JSON path', (_name, change, path) => {
    const d = rawDoc();
    change(d);
    const r = parseHealthDoc(d, config);
    expect(r.success).toBe(false);
    if (!r.success) expect(r.errors.map((e) => e.path)).toContain(path);
  });

  test('a region the config does not know is a warning, not an error', () => {
    const d = rawDoc();
    d.regions['eu-west-1'] = { status: 'up' };
    const r = parseHealthDoc(d, config);
    expect(r.success).toBe(true);
    if (r.success) {
      expect(r.warnings).toEqual([
        { path: '$.regions["eu-west-1"]', message: expect.stringMatching(/not in the router config/) },
      ]);
    }
  });

  test('documents over 256 KB are rejected', () => {
    const d = rawDoc() as HealthDoc;
    const text = JSON.stringify({ ...d, pad: 'x'.repeat(256 * 1024) });
    const r = parseHealthDocText(text, config);
    expect(r.success).toBe(false);
    if (!r.success) expect(r.errors[0].message).toMatch(/bytes; the limit is 262144/);
  });

  test('a document just under the limit is measured in UTF-8 bytes', () => {
    const d = rawDoc();
    d.regions['us-east-1'] = { status: 'up' };
    const base = JSON.stringify(d).length;
    // "é" is two bytes: a text of 140,000 characters can be over 256 KB
    const big = JSON.stringify({ ...d, updatedAt: d.updatedAt, $schema: 'é'.repeat(140000) });
    expect(big.length - base).toBeLessThan(256 * 1024);
    expect(parseHealthDocText(big).success).toBe(false);
  });
});

describe('JSON text', () => {
  test('a syntax error names the line and column', () => {
    const r = parseJsonText('{\n  "a": 1,\n}');
    expect(r.success).toBe(false);
    if (!r.success)
      expect(r.errors[0]).toEqual({
        path: '$',
        message: expect.stringMatching(/^invalid JSON: .*line 3, column 1\)$/),
      });
  });

  test("the Lambda@Edge function's reader (no jsonc-parser in its bundle) says it in V8's words, with the same bounds", () => {
    const text = '{\n  "a": 1,\n}';
    let v8 = '';
    try {
      JSON.parse(text);
    } catch (e) {
      v8 = (e as Error).message;
    }
    expect(readJsonText(text)).toEqual({
      success: false,
      errors: [{ path: '$', message: `invalid JSON: ${v8}` }],
    });
    expect(v8).not.toMatch(/line 3/);
    const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
    expect(readJsonText(deep)).toEqual(parseJsonText(deep));
    expect(readJsonText('[1]', 2)).toEqual(parseJsonText('[1]', 2));
    expect(readJsonText('[1]', 2).success).toBe(false);
    expect(readHealthDocText(JSON.stringify(readJson(EXAMPLE_DOC)))).toEqual(
      parseHealthDocText(JSON.stringify(readJson(EXAMPLE_DOC))),
    );
  });

  test('jsonPath quotes what is not an identifier', () => {
    expect(jsonPath(['regions', 'us-east-1', 'origin', 'port'])).toBe('$.regions["us-east-1"].origin.port');
    expect(jsonPath(['residency', 0, 'countries', 2])).toBe('$.residency[0].countries[2]');
    expect(jsonPath([])).toBe('$');
  });
});

describe('reserved names and hostile shapes', () => {
  // JSON.parse makes "__proto__" an own key, as a config file or a document from S3 would have it
  const configText = (inject: (json: string) => string) =>
    JSON.parse(inject(JSON.stringify(rawConfig()))) as Record<string, unknown>;

  test.each([
    [
      'regions.__proto__',
      (j: string) =>
        j.replace('"regions":{', '"regions":{"__proto__":{"origin":{"domainName":"evil.example.com"}},'),
      '$.regions.__proto__',
    ],
    [
      'environments.__proto__',
      (j: string) =>
        j.replace(
          '"environments":{',
          '"environments":{"__proto__":{"origin":{"domainName":"evil.example.com"}},',
        ),
      '$.environments.__proto__',
    ],
    [
      'a region named constructor',
      (j: string) =>
        j.replace('"regions":{', '"regions":{"constructor":{"origin":{"domainName":"evil.example.com"}},'),
      '$.regions.constructor',
    ],
    [
      '__proto__ deep inside',
      (j: string) => j.replace('"override":{', '"override":{"__proto__":{"allowCidrs":["0.0.0.0/0"]},'),
      '$.override.__proto__',
    ],
  ])('the config with %s is refused, with its path', (_, inject, path) => {
    const r = parseRouterConfig(configText(inject));
    expect(r.success).toBe(false);
    if (!r.success)
      expect(r.errors).toContainEqual({ path, message: expect.stringContaining('a reserved name') });
  });

  test('a document with regions.__proto__ is refused, with its path', () => {
    const text = JSON.stringify(rawDoc()).replace('"regions":{', '"regions":{"__proto__":{"status":"down"},');
    const r = parseHealthDocText(text);
    expect(r.success).toBe(false);
    if (!r.success) expect(r.errors[0].path).toBe('$.regions.__proto__');
  });

  test.each([
    ['unbalanced', `${'['.repeat(10_000)}${']'.repeat(9_999)}`],
    ['balanced', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    ['objects', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
  ])('JSON nested 10,000 deep (%s) is a rejection with a reason, not a RangeError', (_, text) => {
    const r = parseJsonText(text);
    expect(r).toEqual({
      success: false,
      errors: [
        {
          path: '$',
          message: expect.stringMatching(
            /^nested deeper than 64 arrays and objects \(at character (65|321)\)$/,
          ),
        },
      ],
    });
  });

  test('brackets inside strings do not count as nesting; 64 levels are allowed', () => {
    expect(parseJsonText(JSON.stringify({ s: '['.repeat(1000) })).success).toBe(true);
    expect(parseJsonText(JSON.stringify({ s: 'a\\"[[[' })).success).toBe(true);
    expect(parseJsonText(`${'['.repeat(64)}${']'.repeat(64)}`).success).toBe(true);
    expect(parseJsonText(`${'['.repeat(65)}${']'.repeat(65)}`).success).toBe(false);
  });
});

describe('CIDR lists are bounded (every request is matched against each)', () => {
  const withCidrs = (n: number) => {
    const c = rawConfig();
    c.networkRoutes = [
      {
        name: 'big',
        cidrs: Array.from({ length: n }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
        target: 'staging',
      },
    ];
    c.override = { allowCidrs: ['10.8.0.0/16'] };
    return c;
  };

  test('1,000 in all are taken', () => {
    expect(parseRouterConfig(withCidrs(999)).success).toBe(true);
  });

  test('1,001 are refused at once, with the count and the limit', () => {
    const r = parseRouterConfig(withCidrs(1000));
    expect(r).toEqual({
      success: false,
      errors: [
        {
          path: '$',
          message:
            '1001 CIDRs in networkRoutes and override.allowCidrs together; at most 1000 (aggregate them into wider prefixes)',
        },
      ],
    });
  });
});
