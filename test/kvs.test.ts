// The KeyValueStore side: the import file, and keeping a store in step with S3. There is no local KeyValueStore
// server, so the store's API (DescribeKeyValueStore, ListKeys, UpdateKeys with IfMatch, GetKey) is mocked with
// aws-sdk-client-mock; S3 is a real s3rver in-process.
import { join } from 'node:path';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  ResourceNotFoundException,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../cli/index';
import { healthEntries, KvsConflictError, kvsClient, putParts } from '../lib/kvs';
import type { HealthDoc } from '../shared';
import { KVS_HEALTH_KEY } from '../shared/kvs-doc';
import { CffHarness } from './helpers/cff';
import { viewerRequest } from './helpers/fixtures';
import { NOW } from './helpers/keys';
import { docWith, ROOT } from './helpers/load';
import { type LocalS3, startS3 } from './helpers/s3';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-0000-4000-8000-000000000000';
const kvs = mockClient(CloudFrontKeyValueStoreClient);

/** A doc big enough for three parts (a long canary schedule). */
function bigDoc(serial: number): HealthDoc {
  return {
    ...docWith({}, serial),
    canary: {
      percent: 1,
      schedule: Array.from({ length: 50 }, (_, i) => ({
        at: new Date(Date.UTC(2027, 0, 1 + i)).toISOString(),
        percent: i,
      })),
    },
  };
}

beforeEach(() => {
  kvs.reset();
});

describe('putParts (mocked store API)', () => {
  const client = kvsClient();

  test('every part in one UpdateKeys over the ETag read, and parts left from a longer version deleted', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({
      Items: [
        { Key: KVS_HEALTH_KEY, Value: 'x' },
        { Key: `${KVS_HEALTH_KEY}/1`, Value: 'x' },
        { Key: `${KVS_HEALTH_KEY}/2`, Value: 'x' },
        { Key: `${KVS_HEALTH_KEY}/3`, Value: 'x' },
        { Key: 'someone-else', Value: 'x' },
      ],
    });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'E2' });
    const entries = healthEntries(bigDoc(4));
    expect(entries.length).toBe(3);
    expect(await putParts(client, ARN, KVS_HEALTH_KEY, entries)).toBe('E2');
    const calls = kvs.commandCalls(UpdateKeysCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      KvsARN: ARN,
      IfMatch: 'E1',
      Puts: entries.map((e) => ({ Key: e.key, Value: e.value })),
      Deletes: [{ Key: `${KVS_HEALTH_KEY}/3` }],
    });
  });

  test('a conflict (someone wrote in between) re-reads the ETag and writes again', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolvesOnce({ ETag: 'E1' }).resolves({ ETag: 'E5' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    kvs
      .on(UpdateKeysCommand)
      .rejectsOnce(new ConflictException({ message: 'ETag mismatch', $metadata: { httpStatusCode: 409 } }))
      .resolves({ ETag: 'E6' });
    expect(await putParts(client, ARN, KVS_HEALTH_KEY, healthEntries(docWith()))).toBe('E6');
    expect(kvs.commandCalls(UpdateKeysCommand).map((c) => c.args[0].input.IfMatch)).toEqual(['E1', 'E5']);
  });

  test('three conflicts in a row: a clear error, not a blind overwrite', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    kvs.on(UpdateKeysCommand).rejects(new ConflictException({ message: 'ETag mismatch', $metadata: {} }));
    await expect(putParts(client, ARN, KVS_HEALTH_KEY, healthEntries(docWith()))).rejects.toBeInstanceOf(
      KvsConflictError,
    );
    expect(kvs.commandCalls(UpdateKeysCommand)).toHaveLength(3);
  });

  test('more than 50 keys go in batches of 50, each over the ETag the last one returned', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    let n = 1;
    kvs.on(UpdateKeysCommand).callsFake(async () => ({ ETag: `E${++n}` }));
    const entries = Array.from({ length: 120 }, (_, i) => ({ key: `k/${i}`, value: 'v' }));
    await putParts(client, ARN, 'k', entries);
    const calls = kvs.commandCalls(UpdateKeysCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => [c.IfMatch, c.Puts?.length])).toEqual([
      ['E1', 50],
      ['E2', 50],
      ['E3', 20],
    ]);
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
    expect(file.data.map((d) => d.key)).toEqual([KVS_HEALTH_KEY]);
    const store = Object.fromEntries(file.data.map((d) => [d.key, d.value]));
    const r = await new CffHarness(join(ROOT, 'dist', 'viewer-request', 'index.js'), { kvs: store }).run(
      viewerRequest({ 'CloudFront-Viewer-Country': 'KR' }),
      NOW,
    );
    expect(r.returned.headers['x-route-region'].value).toBe('us-east-1');
  });

  test('kvs export of a bad document: what is wrong and where, exit 1', async () => {
    expect(await run('kvs', 'export', '--doc', join(ROOT, 'package.json'))).toBe(1);
    expect(out.join('\n')).toMatch(/package\.json: \$\./);
  });

  test('a doc write also updates the store; doc get shows both serials', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'E1' });
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    kvs.on(UpdateKeysCommand).resolves({ ETag: 'E2' });
    const args = ['--endpoint', s3.endpoint, '--kvs-arn', ARN];
    expect(await run('doc', 'status', 'ap-northeast-2', 'down', '--yes', ...args)).toBe(0);
    const puts = kvs.commandCalls(UpdateKeysCommand)[0].args[0].input.Puts ?? [];
    expect(puts.map((p) => p.Key)).toEqual([KVS_HEALTH_KEY]);
    expect(puts[0].Value).toMatch(/^1\/1\|/);
    expect(JSON.parse(puts[0].Value?.replace(/^1\/1\|/, '') ?? '')).toMatchObject({
      serial: 1,
      regions: { 'ap-northeast-2': { status: 'down' } },
    });
    expect(out).toContain(`KeyValueStore ${ARN}: serial 1`);

    kvs.on(GetKeyCommand).resolves({ Key: KVS_HEALTH_KEY, Value: puts[0].Value });
    out = [];
    expect(await run('doc', 'get', ...args)).toBe(0);
    expect(out).toContain(`KeyValueStore ${ARN}: serial 1 (in step with S3)`);

    kvs.on(GetKeyCommand).rejects(new ResourceNotFoundException({ message: 'no key', $metadata: {} }));
    out = [];
    expect(await run('doc', 'get', ...args)).toBe(0);
    expect(out).toContain(`KeyValueStore ${ARN}: serial none (not in step: run \`edge-router kvs sync\`)`);
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
    expect(puts[0].Value).toMatch(/^12\/1\|/);
    expect(out).toContain(`KeyValueStore ${ARN}: serial 12`);
  });

  test('kvs sync without a store: a clear message', async () => {
    expect(await run('kvs', 'sync', '--endpoint', s3.endpoint)).toBe(1);
    expect(out.join('\n')).toContain('no --kvs-arn, and');
  });
});
