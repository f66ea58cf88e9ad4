// The built CLI (bin/edge-router.cjs → dist/cli/index.js, made by `npm run build`), run as a user runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planEntries } from '../lib/kvs';
import { COUNTRIES, fingerprint } from '../shared';
import { fallbackWalk } from '../shared/walk';
import { EXAMPLE_CONFIG, EXAMPLE_DOC, exampleRouter, ROOT, readJson } from './helpers/load';

const BIN = join(ROOT, 'bin', 'edge-router.cjs');
const tmp = mkdtempSync(join(tmpdir(), 'edge-router-cli-'));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function docFile(name: string, change: (d: any) => void): string {
  const d = readJson<any>(EXAMPLE_DOC);
  change(d);
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(d));
  return file;
}

const NO_STACK = /^\s+at |Error:|node:internal/m;
const base = ['--config', EXAMPLE_CONFIG];

describe('validate', () => {
  test('the examples are valid: exit 0', () => {
    const r = cli('validate', ...base, '--doc', EXAMPLE_DOC);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^ok: /);
  });

  test('a broken doc: exit 1, one line per problem with file and JSON path, no stack trace', () => {
    const file = docFile('broken.json', (d) => {
      d.regions['us-east-1'].status = 'maybe';
      d.regions['sa-east-1'].dial = 150;
    });
    const r = cli('validate', ...base, '--doc', file);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${file}: \\$\\.regions\\["us-east-1"\\]\\.status: `));
    expect(lines[1]).toMatch(new RegExp(`^${file}: \\$\\.regions\\["sa-east-1"\\]\\.dial: .*100`));
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a doc naming a region the config lacks: a warning, exit 0', () => {
    const file = docFile('extra.json', (d) => {
      d.regions['eu-west-1'] = { status: 'up' };
    });
    const r = cli('validate', ...base, '--doc', file);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: \$\.regions\["eu-west-1"\]: "eu-west-1" is not in the router config/);
  });

  test('invalid JSON: the line and column', () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, '{\n  "version": 1,\n  "serial": ,\n}');
    const r = cli('validate', ...base, '--doc', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${file}: \\$: invalid JSON: .*line 3, column 13`));
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a missing file', () => {
    const r = cli('validate', '--config', join(tmp, 'nope.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read ${join(tmp, 'nope.json')}: no such file`);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  // every command that reads a file words its failure one way: `cannot read FILE: why`, never an errno code
  test.each([
    [['validate', ...base, '--doc', 'missing.json'], 'missing.json', 'no such file'],
    [['validate', ...base, '--keys', 'missing.json'], 'missing.json', 'no such file'],
    [['explain', ...base, '--ip-file', 'missing.txt'], 'missing.txt', 'no such file'],
    [['explain', ...base, '--country', 'KR', '--key-file', 'missing.json'], 'missing.json', 'no such file'],
    [
      ['simulate', ...base, '--from', EXAMPLE_DOC, '--to', EXAMPLE_DOC, '--traffic', 'missing.csv'],
      'missing.csv',
      'no such file',
    ],
    [['plan', ...base, '--doc', 'missing.json'], 'missing.json', 'no such file'],
    [['validate', '--config', tmp], tmp, 'is a directory'],
  ])('%j: cannot read, in words', (args, file, why) => {
    const r = cli(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot read ${file}: ${why}`);
    expect(r.stderr).not.toMatch(/\bE[A-Z]{3,}\b/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a broken config and doc are both reported', () => {
    const config = join(tmp, 'config.json');
    const c = readJson<any>(EXAMPLE_CONFIG);
    c.fallbackRegion = 'mars-1';
    writeFileSync(config, JSON.stringify(c));
    const doc = docFile('v2.json', (d) => {
      d.version = 2;
    });
    const r = cli('validate', '--config', config, '--doc', doc);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${config}: $.fallbackRegion: "mars-1" is not a configured region`);
    expect(r.stderr).toContain(`${doc}: $.version: `);
  });
});

describe('explain', () => {
  const decision = (...args: string[]) => {
    const r = cli('explain', ...base, ...args, '--json');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  };

  test('Korea: ap-northeast-2, nearest; the Decision object', () => {
    const d = decision('--doc', EXAMPLE_DOC, '--country', 'KR');
    expect(d).toMatchObject({
      target: { kind: 'region', id: 'ap-northeast-2' },
      origin: { domainName: 'api.ap-northeast-2.example.com', port: 443, protocol: 'https', path: '' },
      reason: 'nearest',
      serial: 7,
    });
    expect(d.plan).toEqual([
      'rank: ap-northeast-2 > us-east-1 > eu-central-1 > sa-east-1',
      'walk: ap-northeast-2 (nearest)',
      'retry: ap-northeast-2, else us-east-1',
    ]);
    expect(d.trace).toEqual(['geo: country KR near ap-northeast-2', 'chose ap-northeast-2 (nearest)']);
  });

  test('Seoul down: a nearby up region, failover', () => {
    const doc = docFile('seoul-down.json', (d) => {
      d.regions['ap-northeast-2'].status = 'down';
    });
    expect(decision('--doc', doc, '--country', 'KR')).toMatchObject({
      target: { id: 'us-east-1' },
      reason: 'failover',
    });
  });

  test('Frankfurt down: German viewers stay (fail-open in the residency set)', () => {
    const doc = docFile('fra-down.json', (d) => {
      d.regions['eu-central-1'].status = 'down';
    });
    expect(decision('--doc', doc, '--country', 'DE')).toMatchObject({
      target: { id: 'eu-central-1' },
      reason: 'fail-open',
    });
  });

  test('--ip without --country is geolocated with geoip-lite', () => {
    // 211.234.0.0/16 is allocated to a Korean ISP; 85.214.0.0/15 to a German host
    expect(decision('--ip', '211.234.10.10')).toMatchObject({
      target: { id: 'ap-northeast-2' },
      reason: 'nearest',
    });
    expect(decision('--ip', '85.214.132.117')).toMatchObject({ target: { id: 'eu-central-1' } });
    expect(decision('--ip', '192.168.1.2')).toMatchObject({ reason: 'no-geo' });
  });

  test('--ip inside the staging network route: staging, reason network', () => {
    expect(decision('--ip', '10.9.3.4')).toMatchObject({
      target: { kind: 'environment', id: 'staging' },
      reason: 'network',
      authorised: true,
    });
  });

  test('--header x-route-to from the VPN: override; from elsewhere: ignored, and the outcome says why', () => {
    expect(decision('--ip', '10.8.1.2', '--header', 'x-route-to: staging')).toMatchObject({
      target: { id: 'staging' },
      reason: 'override',
    });
    expect(
      decision('--ip', '198.51.100.1', '--country', 'KR', '--header', 'x-route-to: staging'),
    ).toMatchObject({
      target: { id: 'ap-northeast-2' },
      reason: 'nearest',
      override: { requested: 'staging', honoured: false },
    });
  });

  test('with a dial or canary set and no viewer key, the human view says the split cannot apply', () => {
    const doc = docFile('canary-note.json', (d) => {
      d.canary = { percent: 20 };
    });
    const r = cli('explain', ...base, '--doc', doc, '--country', 'KR');
    expect(r.stdout).toContain('note:    no viewer key (--ip, or the sticky cookie/header)');
    expect(
      cli('explain', ...base, '--doc', doc, '--country', 'KR', '--ip', '198.51.100.1').stdout,
    ).not.toContain('no viewer key');
  });

  test('--lat/--lon place the viewer', () => {
    expect(decision('--lat', '-23.55', '--lon', '-46.63')).toMatchObject({ target: { id: 'sa-east-1' } });
  });

  test("the human view shows target, reason, doc serial, and the plan's steps followed by the pick's", () => {
    const r = cli('explain', ...base, '--doc', EXAMPLE_DOC, '--ip', '211.234.10.10');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('target:  region ap-northeast-2');
    expect(r.stdout).toContain('reason:  nearest');
    expect(r.stdout).toContain(`doc:     serial 7 (${EXAMPLE_DOC})`);
    expect(r.stdout).toContain('note:    viewer 211.234.10.10: country KR (geoip-lite)');
    expect(r.stdout).toContain(
      [
        "plan:    serial 7, the walk of this viewer's ranking",
        '  1. rank: ap-northeast-2 > us-east-1 > eu-central-1 > sa-east-1',
        '  2. walk: ap-northeast-2 (nearest)',
        '  3. retry: ap-northeast-2, else us-east-1',
        'pick:',
        '  1. geo: country KR near ap-northeast-2',
        '  2. chose ap-northeast-2 (nearest)',
      ].join('\n'),
    );
  });

  test.each([
    [['--lat', '10'], '--lat and --lon go together'],
    [['--country', 'Korea'], 'expected a two-letter ISO 3166-1 code'],
    [['--ip', '999.1.1.1'], 'not an IP address'],
    [['--lat', '91', '--lon', '0'], '--lat must be a number from -90 to 90'],
    [['--header', 'no-colon'], "expected 'name: value'"],
    [['--time', 'soon'], 'not an ISO 8601 time'],
  ])('bad input %j: a clear error, exit 1, no stack trace', (args, message) => {
    const r = cli('explain', ...base, ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});

describe('explain --ip-file (many viewers at once)', () => {
  test('canary at 10%: 20,000 distinct IPs send 10% ± 0.5 points to the canary origin; the same IP, the same answer', () => {
    const doc = docFile('canary.json', (d) => {
      d.canary = { percent: 10 };
    });
    const ips = join(tmp, 'ips.txt');
    writeFileSync(
      ips,
      Array.from({ length: 20000 }, (_, i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`).join(
        '\n',
      ),
    );
    const run = () => cli('explain', ...base, '--doc', doc, '--country', 'KR', '--ip-file', ips, '--json');
    const first = run();
    expect(first.code).toBe(0);
    const rows = first.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(20000);
    const canary = rows.filter((r) => r.origin === 'canary.ap-northeast-2.example.com');
    expect(canary.every((r) => r.reason === 'canary' && r.target === 'ap-northeast-2')).toBe(true);
    expect(Math.abs((canary.length / 20000) * 100 - 10)).toBeLessThan(0.5);
    expect(run().stdout).toBe(first.stdout);
  });

  test('a line that is not an IP: file and line', () => {
    const ips = join(tmp, 'bad-ips.txt');
    writeFileSync(ips, '198.51.100.1\nnot-an-ip\n');
    const r = cli('explain', ...base, '--ip-file', ips);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ips}: line 2: "not-an-ip" is not an IP address`);
  });
});

describe('table', () => {
  test('--json covers every ISO country in the centroid list, each with target and reason', () => {
    const r = cli('table', ...base, '--doc', EXAMPLE_DOC, '--json');
    expect(r.code).toBe(0);
    const table = JSON.parse(r.stdout);
    expect(Object.keys(table).sort()).toEqual([...COUNTRIES.keys()].sort());
    for (const row of Object.values<any>(table)) {
      expect(Object.keys(config.regions)).toContain(row.target);
      expect(row.reason).toBe('nearest');
    }
    expect(table.KR).toEqual({ target: 'ap-northeast-2', reason: 'nearest' });
  });

  test('a dial shows how it splits a country', () => {
    const doc = docFile('dial.json', (d) => {
      d.regions['ap-northeast-2'].dial = 30;
    });
    const table = JSON.parse(cli('table', ...base, '--doc', doc, '--json').stdout);
    expect(table.KR.target).toBe('us-east-1');
    expect(table.KR.split['ap-northeast-2']).toBeGreaterThan(25);
    expect(table.KR.split['ap-northeast-2']).toBeLessThan(35);
    expect(table.DE).toEqual({ target: 'eu-central-1', reason: 'nearest' });
  });

  test('a canary shows how it splits a country too', () => {
    const doc = docFile('canary-table.json', (d) => {
      d.canary = { percent: 20 };
    });
    const table = JSON.parse(cli('table', ...base, '--doc', doc, '--json').stdout);
    expect(table.KR).toMatchObject({ target: 'ap-northeast-2', reason: 'nearest' });
    expect(table.KR.split['ap-northeast-2 (canary)']).toBeGreaterThan(15);
    expect(table.KR.split['ap-northeast-2 (canary)']).toBeLessThan(25);
    expect(table.US).toEqual({ target: 'us-east-1', reason: 'nearest' });
  });

  test('the text view has a row per country', () => {
    const r = cli('table', ...base);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(COUNTRIES.size + 1);
    expect(lines).toContainEqual(expect.stringMatching(/^KR {2}South Korea +ap-northeast-2 +nearest$/));
  });
});

test('an unknown command: exit 1, usage, no stack trace', () => {
  const r = cli('frobnicate');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/unknown command/);
  expect(r.stderr).not.toMatch(NO_STACK);
});

const config = readJson<{ regions: Record<string, unknown> }>(EXAMPLE_CONFIG);

describe('token and keys', () => {
  const keys = join(tmp, 'keys.json');

  test('keys new never writes a secret where git would commit it', () => {
    const tracked = join(ROOT, 'secret-test-edge-router.json');
    const r = cli('keys', 'new', '--file', tracked);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${tracked}: inside the git work tree ${ROOT} and not ignored`);
    expect(existsSync(tracked)).toBe(false);
    // keys*.json is ignored (.gitignore): there it may go
    const ignored = join(ROOT, 'keys-test-edge-router.json');
    try {
      expect(cli('keys', 'new', '--file', ignored).code).toBe(0);
      expect(existsSync(ignored)).toBe(true);
    } finally {
      rmSync(ignored, { force: true });
    }
  });

  test('keys new makes a private keys object; a second key for rotation', () => {
    expect(cli('keys', 'new', '--file', keys, '--id', 'k1')).toMatchObject({ code: 0 });
    expect(cli('keys', 'new', '--file', keys)).toMatchObject({ code: 0 });
    const doc = readJson<any>(keys);
    expect(doc.keys).toHaveLength(2);
    expect(doc.keys[0].secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(keys).mode & 0o777).toBe(0o600);
    expect(cli('keys', 'new', '--file', keys, '--id', 'k1')).toMatchObject({ code: 1 });
  });

  test('a minted token works from anywhere, only for its target; retiring its key ends it', () => {
    const minted = cli(
      'token',
      '--target',
      'eu-central-1',
      '--ttl',
      '8h',
      '--key-file',
      keys,
      '--config',
      EXAMPLE_CONFIG,
    );
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    expect(token).toMatch(/^er1\.k[0-9T]+\.eu-central-1\.\d+\.[A-Za-z0-9_-]{43}$/);
    const explain = (target: string, ...extra: string[]) =>
      JSON.parse(
        cli(
          'explain',
          ...base,
          '--ip',
          '198.51.100.1',
          '--country',
          'KR',
          '--header',
          `x-route-to: ${target}`,
          '--header',
          `x-route-token: ${token}`,
          '--key-file',
          keys,
          '--json',
          ...extra,
        ).stdout,
      );
    expect(explain('eu-central-1')).toMatchObject({
      target: { id: 'eu-central-1' },
      reason: 'override',
      authorised: true,
    });
    expect(explain('staging')).toMatchObject({
      target: { id: 'ap-northeast-2' },
      override: { honoured: false },
    });
    // nine hours later, the 8-hour token has expired
    expect(explain('eu-central-1', '--time', new Date(Date.now() + 9 * 3600e3).toISOString())).toMatchObject({
      reason: 'nearest',
      override: { why: expect.stringMatching(/^token expired \(key k\w+\)$/) },
    });
    const kid = token.split('.')[1];
    expect(cli('keys', 'retire', '--file', keys, '--id', kid)).toMatchObject({ code: 0 });
    expect(explain('eu-central-1')).toMatchObject({
      reason: 'nearest',
      override: { why: `token unknown-key (key ${kid})` },
    });
  });

  test.each([
    [['--target', 'mars-1', '--ttl', '1h'], 'not a region or environment'],
    [['--target', 'staging', '--ttl', 'forever'], 'expected a duration'],
    [['--target', 'staging', '--ttl', '30d'], 'longer than override.maxTokenTtlSeconds'],
  ])('token %j: a clear error', (args, message) => {
    const r = cli('token', ...args, '--key-file', keys, '--config', EXAMPLE_CONFIG);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a broken keys file: file and JSON path, from token and from validate', () => {
    const bad = join(tmp, 'bad-keys.json');
    writeFileSync(bad, JSON.stringify({ version: 1, keys: [{ id: 'k', secret: 'short' }] }));
    const r = cli('token', '--target', 'staging', '--ttl', '1h', '--key-file', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: $.keys[0].secret: must encode at least 32 bytes`);
    const v = cli('validate', ...base, '--keys', bad);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`${bad}: $.keys[0].secret: must encode at least 32 bytes`);
    expect(cli('validate', ...base, '--keys', keys)).toMatchObject({ code: 0 });
  });
});

describe('affinity mint and explain --cookie', () => {
  const keys = join(tmp, 'affinity-keys.json');
  beforeAll(() => {
    expect(cli('keys', 'new', '--file', keys, '--id', 'a1')).toMatchObject({ code: 0 });
  });
  /** explain for a viewer in the US (geography: us-east-1) */
  const explainUs = (...extra: string[]) => cli('explain', ...base, '--country', 'US', ...extra);
  const mint = (...args: string[]) =>
    cli('affinity', 'mint', '--key-file', keys, '--config', EXAMPLE_CONFIG, ...args);

  test('a minted cookie keeps a US viewer on Seoul; explain shows the step and the cookie a write would refresh', () => {
    const m = mint('--region', 'ap-northeast-2', '--ttl', '5m');
    expect(m.code).toBe(0);
    const value = m.stdout.trim();
    expect(value).toMatch(/^ea1\.a1\.ap-northeast-2\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(m.stderr).toContain(`Cookie: route_affinity=${value}`);
    const args = ['--cookie', `route_affinity=${value}`, '--key-file', keys];
    const read = explainUs(...args);
    expect(read.code).toBe(0);
    expect(read.stdout).toContain('reason:  affinity');
    expect(read.stdout).toContain('affinity: cookie for ap-northeast-2: followed');
    expect(read.stdout).toContain('affinity: cookie → ap-northeast-2 (key a1)');
    expect(read.stdout).not.toContain('sets:');
    const write = explainUs(...args, '--method', 'post');
    expect(write.stdout).toMatch(/sets: {4}route_affinity for ap-northeast-2, 300 s/);
    expect(write.stdout).toMatch(/route_affinity=ea1\.a1\.ap-northeast-2\.\d+\./);
  });

  test('without --key-file the cookie is not followed, and explain says why', () => {
    const value = mint('--region', 'ap-northeast-2', '--ttl', '5m').stdout.trim();
    const r = explainUs('--cookie', `route_affinity=${value}`);
    expect(r.stdout).toContain('reason:  nearest');
    expect(r.stdout).toContain('affinity: cookie: ignored (no-keys)');
    expect(r.stdout).toContain('give --key-file');
  });

  test('ten minutes later (past its 5 minutes) it has expired', () => {
    const value = mint('--region', 'ap-northeast-2', '--ttl', '5m').stdout.trim();
    const later = new Date(Date.now() + 10 * 60_000).toISOString();
    const r = explainUs('--cookie', `route_affinity=${value}`, '--key-file', keys, '--time', later);
    expect(r.stdout).toContain('affinity: cookie for ap-northeast-2: ignored (expired)');
  });

  test('--home mints the home-region header, which may live longer', () => {
    const m = mint('--region', 'eu-central-1', '--ttl', '1d', '--home');
    expect(m.code).toBe(0);
    expect(m.stderr).toContain(`x-home-region: ${m.stdout.trim()}`);
    const r = explainUs('--header', `x-home-region: ${m.stdout.trim()}`, '--key-file', keys);
    expect(r.stdout).toContain('affinity: header for eu-central-1: followed');
  });

  test.each([
    [['--region', 'mars-1', '--ttl', '5m'], 'not a region of'],
    [['--region', 'staging', '--ttl', '5m'], 'not a region of'],
    [['--region', 'ap-northeast-2', '--ttl', '1h'], 'longer than the edge accepts (360 s'],
    [['--region', 'ap-northeast-2', '--ttl', 'soon'], 'expected a duration'],
    [['--region', 'Seoul', '--ttl', '5m'], 'expected a region id'],
  ])('affinity mint %j: a clear error', (args, message) => {
    const r = mint(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});

describe('plan: what the edge reads of a document', () => {
  const router = exampleRouter();
  const down = () =>
    docFile('plan-down.json', (d) => {
      d.regions['ap-northeast-2'].status = 'down';
    });

  test('--json: the keys and sizes the store holds, every walk as stored, and who each serves', () => {
    const file = down();
    const r = cli('plan', ...base, '--doc', file, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const entries = planEntries(router, readJson(file));
    expect(out.keys).toBe(entries.length);
    expect(out.fingerprint).toBe(fingerprint(router));
    expect(out.walks.flatMap((w: any) => w.keys)).toEqual(
      entries.map((e) => ({ key: e.key, bytes: Buffer.byteLength(e.value) })),
    );
    for (const w of out.walks) {
      const value = entries.find((e) => e.key === w.keys[0].key)?.value ?? '';
      expect(w.walk).toEqual(JSON.parse(value.slice(value.indexOf('|') + 1)));
    }
    // every country is served by exactly one walk, the one the router ranks it into
    const served = out.walks.flatMap((w: any) => w.countries);
    expect(served.sort()).toEqual([...COUNTRIES.keys()].sort());
    const kr = out.walks.find((w: any) => w.countries.includes('KR'));
    expect(kr.ranking).toBe(router.byCountry.get('KR'));
    expect(kr.walk.s[0]).toEqual([router.regions.indexOf('us-east-1'), 10000, 'failover']);
    expect(out.walks.filter((w: any) => w.noGeo)).toHaveLength(1);
  });

  test("text: each walk's keys, viewers and words", () => {
    const r = cli('plan', ...base, '--doc', down());
    expect(r.code).toBe(0);
    const kr = r.stdout.split('\n\n').find((b) => /countries [^;]*\bKR\b/.test(b)) ?? '';
    expect(kr).toMatch(/^walk \d+: edge-router\/plan\/\d+ \d+ B/);
    expect(kr).toContain('ap-northeast-2: down');
    expect(kr).toContain('walk: us-east-1 (failover)');
    expect(kr).toMatch(/stored: \{"s":/);
  });

  test('without a document: the walks of every region up, nothing stored', () => {
    const r = cli('plan', ...base, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.keys).toBe(0);
    out.walks.forEach((w: any, n: number) => {
      const { s, n: next } = fallbackWalk(router, n);
      expect({ s: w.walk.s, n: w.walk.n }).toEqual({ s, n: next });
    });
    expect(cli('plan', ...base).stdout).toContain('nothing stored');
  });

  test('a plan the store cannot hold: exit 1, which document and why, no stack trace', () => {
    const file = docFile('plan-big.json', (d) => {
      d.canary = {
        percent: 1,
        schedule: Array.from({ length: 1000 }, (_, i) => ({
          at: new Date(Date.UTC(2027, 0, 1, 0, i)).toISOString(),
          percent: i % 100,
        })),
      };
    });
    const r = cli('plan', ...base, '--doc', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: edge-router/plan/`);
    expect(r.stderr).toContain('the store cannot hold this plan');
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});

describe('the command line itself', () => {
  test('--version prints the package version', () => {
    const r = cli('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(readJson<{ version: string }>(join(ROOT, 'package.json')).version);
  });

  test.each([
    [
      ['explain', '--conifg', EXAMPLE_CONFIG, '--country', 'KR'],
      'unknown option --conifg (did you mean --config?)',
    ],
    [['validate', '--confg', EXAMPLE_CONFIG], 'unknown option --confg (did you mean --config?)'],
    [['doc', 'status', 'ap-northeast-2', 'down', '--yse'], 'unknown option --yse (did you mean --yes?)'],
    [['plan', ...base, '--jsn'], 'unknown option --jsn (did you mean --json?)'],
    [['table', ...base, '--frobnicate'], 'unknown option --frobnicate'],
  ])('%j: the misspelt option is named, not a required one missing', (args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`edge-router: ${message}`);
  });

  // The AWS SDK (and its Node.js version warning) is loaded only by the commands that reach AWS. These run with the
  // warning on (test/setup-env.ts turns it off for every other spawned CLI), against a control that reaches AWS.
  const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _, ...warningOn } = process.env;
  const cliWarningOn = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: warningOn });
  // the SDK warns on Node.js before 22 (this machine's 20); on 22 it has nothing to say, and the control says so
  const sdkWarns = Number(process.versions.node.split('.')[0]) < 22;
  const WARNING = /NodeVersionSupportWarning/;

  test('control: `doc get`, which reaches S3, prints the SDK warning on this Node (so the cases below can fail)', () => {
    const config = join(tmp, 'dead-s3.config.json');
    const c = readJson<any>(EXAMPLE_CONFIG);
    c.healthDoc = { ...c.healthDoc, endpoint: 'http://127.0.0.1:9' };
    writeFileSync(config, JSON.stringify(c));
    const r = cliWarningOn('doc', 'get', '--config', config);
    expect(r.status).toBe(1);
    if (sdkWarns) expect(r.stderr).toMatch(WARNING);
    else expect(r.stderr).not.toMatch(WARNING);
  });

  test.each([
    [['validate', ...base, '--doc', EXAMPLE_DOC]],
    [['explain', ...base, '--country', 'KR']],
    [['table', ...base]],
    [['plan', ...base, '--doc', EXAMPLE_DOC]],
    [['simulate', ...base, '--from', EXAMPLE_DOC, '--to', EXAMPLE_DOC]],
    [['keys', 'new', '--file', join(tmp, 'keys-warning.json')]],
    [['token', '--help']],
  ])('%j prints no SDK warning, with the warning on', (args) => {
    const r = cliWarningOn(...args);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(WARNING);
    expect(r.stderr).not.toMatch(/AWS SDK/);
  });
});

describe('colour: on a terminal only, and never with NO_COLOR', () => {
  // a real pseudo-terminal, from util-linux's script(1)
  const onTty = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    spawnSync(
      'script',
      ['-qec', [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env,
      },
    ).stdout;
  const ESC = '\u001b[';
  const args = ['explain', ...base, '--country', 'KR'];

  // a terminal that shows colour, in an environment of its own: CI machines may have no TERM at all, and set CI,
  // which makes Node.js report two colours (getColorDepth), so nothing of the runner's environment is passed on
  const terminal = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TERM: 'xterm-256color',
  });

  test('a terminal gets colour; NO_COLOR, a dumb terminal and a pipe get none', () => {
    const env = terminal();
    const tty = onTty(env, ...args);
    expect(tty).toContain(`${ESC}32mnearest`);
    expect(tty).toContain('ap-northeast-2');
    expect(onTty({ ...env, NO_COLOR: '1' }, ...args)).not.toContain(ESC);
    expect(onTty({ ...env, TERM: 'dumb' }, ...args)).not.toContain(ESC);
    expect(cli(...args).stdout).not.toContain(ESC);
  });

  test('errors on a terminal: the prefix in red, the words unchanged', () => {
    const out = onTty(terminal(), 'validate', '--config', 'missing.json');
    expect(out).toContain(`${ESC}31medge-router:${ESC}39m cannot read missing.json: no such file`);
  });
});

describe('bounded input: each refused at once, exit 1, with the file named', () => {
  const fifo = join(tmp, 'pipe');
  beforeAll(() => {
    spawnSync('mkfifo', [fifo]);
    writeFileSync(join(tmp, 'huge.json'), Buffer.alloc(5 * 1024 * 1024, 0x20));
    writeFileSync(join(tmp, 'deep.json'), `${'['.repeat(10_000)}${']'.repeat(9_999)}`);
  });

  test.each([
    [['validate', '--config', '/dev/zero'], 'cannot read /dev/zero: is a device, not a file'],
    [['validate', '--config', 'FIFO'], 'is a FIFO (a pipe), not a file'],
    [['validate', '--config', 'HUGE'], 'bytes, over the 4194304-byte limit'],
    [['validate', ...base, '--doc', 'DEEP'], 'nested deeper than 64 arrays and objects'],
    [['validate', '--config', 'DEEP'], 'nested deeper than 64 arrays and objects'],
  ])('%j', (args, message) => {
    const named = args.map((a) =>
      a === 'FIFO' ? fifo : a === 'HUGE' ? join(tmp, 'huge.json') : a === 'DEEP' ? join(tmp, 'deep.json') : a,
    );
    const r = spawnSync(process.execPath, [BIN, ...named], { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout: refused at once
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});
