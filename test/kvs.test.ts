// The KeyValueStore side: the plan's entries, the import file, and keeping a store in step with S3. There is no local
// KeyValueStore server, so the store's API (DescribeKeyValueStore, ListKeys, UpdateKeys with IfMatch) is mocked with
// aws-sdk-client-mock; S3 is a real s3rver in-process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  ListKeysCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../cli/index';
import { KvsConflictError, KvsRegressionError, kvsClient, planEntries, putKeys, putPlan } from '../lib/kvs';
import { fingerprint, type HealthDoc } from '../shared';
import { KVS_MAX_PARTS, walkKey } from '../shared/kvs-layout';
import { distributionOrigins } from '../shared/router';
import { CffHarness } from './helpers/cff';
import { viewerRequest } from './helpers/fixtures';
import { NOW } from './helpers/keys';
import { docWith, exampleRouter, ROOT } from './helpers/load';
import { type LocalS3, startS3 } from './helpers/s3';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-0000-4000-8000-000000000000';
const kvs = mockClient(CloudFrontKeyValueStoreClient);

const router = exampleRouter();
const FP = fingerprint(router);
const WALKS = router.orders.length;

/** A doc whose walks need several values each (a long canary schedule). */
function bigDoc(serial: number, steps = 50): HealthDoc {
  return {
    ...docWith({}, serial),
    canary: {
      percent: 1,
      schedule: Array.from({ length: steps }, (_, i) => ({
        at: new Date(Date.UTC(2027, 0, 1 + i)).toISOString(),
        percent: i,
      })),
    },
  };
}

beforeEach(() => {
  kvs.reset();
});

describe('planEntries', () => {
  test('one walk per ranking, each tagged with the serial and the config fingerprint, each value at most 1 KB', () => {
    const entries = planEntries(router, docWith({ 'ap-northeast-2': { status: 'down' } }, 42));
    expect(entries.map((e) => e.key)).toEqual(Array.from({ length: WALKS }, (_, i) => walkKey(i)));
    for (const e of entries) {
      expect(e.value.startsWith(`42.${FP}/1|`)).toBe(true);
      expect(Buffer.byteLength(e.value)).toBeLessThanOrEqual(1024);
      // what the edge reads: the walk without the plan's words
      expect(JSON.parse(e.value.slice(e.value.indexOf('|') + 1))).not.toHaveProperty('says');
    }
  });

  test('a walk too long for one value is split; one too long for the reader is refused, never truncated', () => {
    const split = planEntries(router, bigDoc(4));
    expect(split.length).toBeGreaterThan(WALKS);
    expect(split.map((e) => e.key)).toContain(`${walkKey(0)}/1`);
    expect(() => planEntries(router, bigDoc(4, 1000))).toThrow(`need more than ${KVS_MAX_PARTS} values`);
  });
});

describe('putPlan (mocked store API)', () => {
  const client = kvsClient();

  test("every walk in one UpdateKeys over the ETag read; walks, parts and an older version's document left over are deleted", async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({
      Items: [
        { Key: walkKey(0), Value: 'x' },
        { Key: `${walkKey(0)}/1`, Value: 'x' },
        { Key: walkKey(WALKS), Value: 'x' },
        { Key: 'edge-router/health', Value: 'x' },
        { Key: 'edge-router/health/1', Value: 'x' },
        { Key: 'edge-router/keys', Value: 'x' },
        { Key: 'someone-else', Value: 'x' },
      ],
    });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'E2' });
    const entries = planEntries(router, docWith({}, 4));
    expect(entries.length).toBe(WALKS);
    expect(await putPlan(client, ARN, entries)).toBe('E2');
    const calls = kvs.commandCalls(UpdateKeysCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      KvsARN: ARN,
      IfMatch: 'E1',
      Puts: entries.map((e) => ({ Key: e.key, Value: e.value })),
      Deletes: [
        { Key: `${walkKey(0)}/1` },
        { Key: walkKey(WALKS) },
        { Key: 'edge-router/health' },
        { Key: 'edge-router/health/1' },
      ],
    });
  });

  test('a conflict (someone wrote in between) re-reads the ETag and writes again', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolvesOnce({ ETag: 'E1' }).resolves({ ETag: 'E5' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    kvs
      .on(UpdateKeysCommand)
      .rejectsOnce(new ConflictException({ message: 'ETag mismatch', $metadata: { httpStatusCode: 409 } }))
      .resolves({ ETag: 'E6' });
    expect(await putPlan(client, ARN, planEntries(router, docWith()))).toBe('E6');
    expect(kvs.commandCalls(UpdateKeysCommand).map((c) => c.args[0].input.IfMatch)).toEqual(['E1', 'E5']);
  });

  test('never backwards: a store holding the plan of a higher serial is left as it is; the same serial again is taken', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({
      Items: planEntries(router, docWith({}, 9)).map((e) => ({ Key: e.key, Value: e.value })),
    });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'E2' });
    const older = putPlan(
      client,
      ARN,
      planEntries(router, docWith({ 'ap-northeast-2': { status: 'down' } }, 8)),
    );
    await expect(older).rejects.toBeInstanceOf(KvsRegressionError);
    await expect(older).rejects.toThrow(
      'the key value store holds the plan of serial 9, later than serial 8',
    );
    expect(kvs.commandCalls(UpdateKeysCommand)).toHaveLength(0);
    expect(await putPlan(client, ARN, planEntries(router, docWith({}, 9)))).toBe('E2');
    expect(await putPlan(client, ARN, planEntries(router, docWith({}, 10)))).toBe('E2');
  });

  test('three conflicts in a row: a clear error, not a blind overwrite', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    kvs.on(UpdateKeysCommand).rejects(new ConflictException({ message: 'ETag mismatch', $metadata: {} }));
    await expect(putPlan(client, ARN, planEntries(router, docWith()))).rejects.toBeInstanceOf(
      KvsConflictError,
    );
    expect(kvs.commandCalls(UpdateKeysCommand)).toHaveLength(3);
  });

  test("more than 50 keys go in batches of at most 50, each over the last ETag, never splitting a walk's parts", async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    let n = 1;
    kvs.on(UpdateKeysCommand).callsFake(async () => ({ ETag: `E${++n}` }));
    const entries = planEntries(router, bigDoc(5, 400));
    expect(entries.length).toBeGreaterThan(50);
    await putPlan(client, ARN, entries);
    const calls = kvs.commandCalls(UpdateKeysCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.IfMatch)).toEqual(calls.map((_, i) => `E${i + 1}`));
    expect(calls.flatMap((c) => c.Puts ?? []).map((p) => p.Key)).toEqual(entries.map((e) => e.key));
    for (const c of calls) {
      expect((c.Puts ?? []).length).toBeLessThanOrEqual(50);
      // a batch ends with a whole walk: the next batch starts at a part 0
      expect((c.Puts ?? [])[0].Key).toMatch(/^edge-router\/plan\/\d+$/);
    }
  });

  test('the signing keys are written apart from the plan, and never delete it', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [{ Key: walkKey(0), Value: 'x' }] });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'E2' });
    await putKeys(client, ARN, [{ key: 'edge-router/keys', value: 'k/1|{}' }]);
    expect(kvs.commandCalls(UpdateKeysCommand)[0].args[0].input.Deletes).toEqual([]);
  });
});

describe('the CLI', () => {
  const BUCKET = 'example-edge-router-health';
  let s3: LocalS3;
  let out: string[];
  beforeAll(async () => {
    s3 = await startS3([BUCKET]);
  });
  afterAll(async () => {
    await s3?.close();
  });
  beforeEach(async () => {
    await s3.remove(BUCKET, 'health.json');
    out = [];
    jest.spyOn(console, 'log').mockImplementation((l: string) => out.push(l));
    jest.spyOn(console, 'error').mockImplementation((l: string) => out.push(l));
  });
  afterEach(() => jest.restoreAllMocks());
  const run = (...args: string[]) =>
    main(['node', 'edge-router', ...args, '--config', join(ROOT, 'router.config.json')]);

  test('kvs export prints the import file; a store made from it routes by the document', async () => {
    const written: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((s) => {
      written.push(String(s));
      return true;
    });
    const doc = join(ROOT, 'examples', 'health.failover.json');
    expect(await run('kvs', 'export', '--doc', doc)).toBe(0);
    const file = JSON.parse(written.join('')) as { data: { key: string; value: string }[] };
    expect(file.data.map((d) => d.key)).toEqual(Array.from({ length: WALKS }, (_, i) => walkKey(i)));
    const store = Object.fromEntries(file.data.map((d) => [d.key, d.value]));
    const origins = [...distributionOrigins(router.config).keys()];
    const r = await new CffHarness(join(ROOT, 'dist', 'viewer-request', 'index.js'), {
      kvs: store,
      origins,
    }).run(viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }), NOW);
    expect(r.returned.headers['x-route-region'].value).toBe('us-east-1');
  });

  test('kvs export of a bad document: what is wrong and where, exit 1', async () => {
    expect(await run('kvs', 'export', '--doc', join(ROOT, 'package.json'))).toBe(1);
    expect(out.join('\n')).toMatch(/package\.json: \$\./);
  });

  test('a doc write also writes its plan to the store; doc get shows the plan beside S3', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'E2' });
    const args = ['--endpoint', s3.endpoint, '--kvs-arn', ARN];
    expect(await run('doc', 'status', 'ap-northeast-2', 'down', '--yes', ...args)).toBe(0);
    const puts = kvs.commandCalls(UpdateKeysCommand)[0].args[0].input.Puts ?? [];
    expect(puts.map((p) => p.Key)).toEqual(Array.from({ length: WALKS }, (_, i) => walkKey(i)));
    for (const p of puts) expect(p.Value?.startsWith(`1.${FP}/1|`)).toBe(true);
    // Korea's walk: Seoul is down, the walk goes to Virginia
    const kr = router.byCountry.get('KR') as number;
    const walk = JSON.parse(puts[kr].Value?.replace(/^[^|]*\|/, '') ?? '');
    expect(walk.s[0][0]).toBe(router.regions.indexOf('us-east-1'));
    expect(walk.x).toEqual({ [router.regions.indexOf('ap-northeast-2')]: 'region-down' });
    expect(out).toContain(`KeyValueStore ${ARN}: plan of serial 1 (${WALKS} walks)`);

    const listed = (items: { Key?: string; Value?: string }[]) =>
      kvs.on(ListKeysCommand).resolves({ Items: items.map((i) => ({ Key: i.Key, Value: i.Value })) });
    listed(puts);
    out = [];
    expect(await run('doc', 'get', ...args)).toBe(0);
    expect(out).toContain(`KeyValueStore ${ARN}: plan of serial 1 in ${WALKS} walks (in step with S3)`);

    // mid-write: some walks still at the serial before
    listed(puts.map((p, i) => (i === 0 ? { ...p, Value: p.Value?.replace(/^1\./, '0.') } : p)));
    out = [];
    expect(await run('doc', 'get', ...args)).toBe(0);
    expect(out).toContain(
      `KeyValueStore ${ARN}: plan of serials 0, 1 in ${WALKS} walks, S3 has serial 1 (not in step: run \`edge-router kvs sync\`)`,
    );

    // planned for another config
    listed(puts.map((p) => ({ ...p, Value: p.Value?.replace(`.${FP}/`, '.zzz/') })));
    out = [];
    expect(await run('doc', 'get', ...args)).toBe(0);
    expect(out.join('\n')).toContain(`planned for config zzz; this config is ${FP}`);

    listed([{ Key: 'edge-router/health', Value: '1/1|{}' }]);
    out = [];
    expect(await run('doc', 'get', ...args)).toBe(0);
    expect(out).toContain(
      `KeyValueStore ${ARN}: no plan (only an older version's document): run \`edge-router kvs sync\``,
    );
  });

  test('a doc write whose plan the store cannot hold is refused before S3 is written: nothing in either', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kvs-')), 'big.json');
    // a valid document, but its canary schedule is longer than the store's values can hold
    const doc = bigDoc(1, 1000);
    doc.canary?.schedule?.forEach((step, i) => {
      (step as { percent: number }).percent = i % 100;
    });
    writeFileSync(file, JSON.stringify(doc));
    const args = ['--endpoint', s3.endpoint, '--kvs-arn', ARN];
    expect(await run('doc', 'publish', file, '--yes', ...args)).toBe(1);
    expect(out.join('\n')).toContain(`need more than ${KVS_MAX_PARTS} values`);
    expect(out.join('\n')).toContain('nothing written');
    expect(kvs.commandCalls(UpdateKeysCommand)).toHaveLength(0);
    out = [];
    expect(await run('doc', 'get', '--endpoint', s3.endpoint)).toBe(1);
    expect(out.join('\n')).toContain('no document');
    // without a store to keep in step, the same document is written to S3
    expect(await run('doc', 'publish', file, '--yes', '--endpoint', s3.endpoint)).toBe(0);
  });

  test('the store refusing the write: S3 keeps the new serial, exit 1, and how to catch up', async () => {
    kvs
      .on(DescribeKeyValueStoreCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(
      await run('doc', 'status', 'sa-east-1', 'down', '--yes', '--endpoint', s3.endpoint, '--kvs-arn', ARN),
    ).toBe(1);
    const text = out.join('\n');
    expect(text).toContain(`KeyValueStore ${ARN}: AccessDeniedException: denied`);
    expect(text).toContain(
      'S3 has serial 1 but the KeyValueStore was not updated: run `edge-router kvs sync`',
    );
    expect(text).not.toMatch(/^\s+at /m);
  });

  test('kvs sync writes the live S3 document into the store', async () => {
    await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({ 'eu-central-1': { dial: 50 } }, 12)));
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'E2' });
    expect(await run('kvs', 'sync', '--endpoint', s3.endpoint, '--kvs-arn', ARN)).toBe(0);
    const puts = kvs.commandCalls(UpdateKeysCommand)[0].args[0].input.Puts ?? [];
    expect(puts.map((p) => p.Value?.slice(0, p.Value.indexOf('/')))).toEqual(Array(WALKS).fill(`12.${FP}`));
    expect(out).toContain(`KeyValueStore ${ARN}: plan of serial 12 (${WALKS} walks)`);
  });

  test('kvs sync without a store: a clear message', async () => {
    expect(await run('kvs', 'sync', '--endpoint', s3.endpoint)).toBe(1);
    expect(out.join('\n')).toContain('no --kvs-arn, and');
  });
});
