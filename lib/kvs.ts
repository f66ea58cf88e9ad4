// What edge-router keeps in a CloudFront KeyValueStore (the layout: shared/kvs-doc.ts), from the Node side: the
// entries for a health document and for the signing keys, and writing them to a store.
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  ResourceNotFoundException,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { KVS_HEALTH_KEY, KVS_KEYS_KEY, type KvsEntry, kvsParts, textTag } from '../shared/kvs-doc';
import type { HealthDoc, KeysDoc } from '../shared/schema';

/** The health document's entries: its JSON (without $schema), in parts tagged with its serial. */
export function healthEntries(doc: HealthDoc): KvsEntry[] {
  const { $schema: _, ...rest } = doc;
  return kvsParts(KVS_HEALTH_KEY, String(doc.serial), JSON.stringify(rest));
}

/** The signing keys' entries: {"<key id>": "<secret>"} for the keys that are not retired. */
export function keysEntries(keys: KeysDoc): KvsEntry[] {
  const secrets: Record<string, string> = {};
  for (const k of keys.keys) if (!k.retired) secrets[k.id] = k.secret;
  const text = JSON.stringify(secrets);
  return kvsParts(KVS_KEYS_KEY, textTag(text), text);
}

/** The KeyValueStore import file (`{"data":[{"key","value"}]}`) for creating a store. */
export function importFile(entries: readonly KvsEntry[]): { data: KvsEntry[] } {
  return { data: entries.map((e) => ({ key: e.key, value: e.value })) };
}

/** Entries as the harness and the local edge serve them: key → value. */
export function asStore(entries: readonly KvsEntry[]): Record<string, string> {
  return Object.fromEntries(entries.map((e) => [e.key, e.value]));
}

// ---- The store itself, through @aws-sdk/client-cloudfront-keyvaluestore ----
// The KeyValueStore API signs with SigV4A; the pure-JavaScript signer is loaded for its side effect (the SDK finds
// it; no native CRT). https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-kvp.html

/** A write to the store met a newer ETag: someone else wrote in between. */
export class KvsConflictError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the key value store changed while it was being written', options);
    this.name = 'KvsConflictError';
  }
}

/** UpdateKeys takes at most 50 keys per call (CloudFront quotas). */
export const KVS_BATCH = 50;

export function kvsClient(region = 'us-east-1'): CloudFrontKeyValueStoreClient {
  return new CloudFrontKeyValueStoreClient({ region });
}

async function allKeys(client: CloudFrontKeyValueStoreClient, arn: string): Promise<string[]> {
  const keys: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListKeysCommand({ KvsARN: arn, NextToken, MaxResults: 50 }));
    for (const item of page.Items ?? []) if (item.Key) keys.push(item.Key);
    NextToken = page.NextToken;
  } while (NextToken);
  return keys;
}

/**
 * Replaces what the store holds under `name` (its parts; parts left over from a longer version are deleted) with
 * `entries`, over the store's current ETag; a conflict re-reads the ETag and tries again (three times). Returns the
 * store's new ETag. At most 50 keys go in one all-or-nothing UpdateKeys; a longer document goes in several, and
 * the edge refuses to read its parts while they are of two versions.
 */
export async function putParts(
  client: CloudFrontKeyValueStoreClient,
  arn: string,
  name: string,
  entries: readonly KvsEntry[],
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      let etag = (await client.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag;
      const keep = new Set(entries.map((e) => e.key));
      const stale = (await allKeys(client, arn)).filter((k) => k.startsWith(`${name}/`) && !keep.has(k));
      const ops: ({ put: KvsEntry } | { del: string })[] = [
        ...entries.map((e) => ({ put: e })),
        ...stale.map((k) => ({ del: k })),
      ];
      for (let i = 0; i < ops.length; i += KVS_BATCH) {
        const batch = ops.slice(i, i + KVS_BATCH);
        const out = await client.send(
          new UpdateKeysCommand({
            KvsARN: arn,
            IfMatch: etag,
            Puts: batch.flatMap((o) => ('put' in o ? [{ Key: o.put.key, Value: o.put.value }] : [])),
            Deletes: batch.flatMap((o) => ('del' in o ? [{ Key: o.del }] : [])),
          }),
        );
        etag = out.ETag;
      }
      return etag ?? '';
    } catch (e) {
      const conflict =
        e instanceof ConflictException ||
        (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;
      if (!conflict) throw e;
      if (attempt >= 3) throw new KvsConflictError({ cause: e });
    }
  }
}

/** The serial of the health document in the store, or null when it holds none. */
export async function storedSerial(
  client: CloudFrontKeyValueStoreClient,
  arn: string,
): Promise<number | null> {
  try {
    const out = await client.send(new GetKeyCommand({ KvsARN: arn, Key: KVS_HEALTH_KEY }));
    const m = /^(\d+)\/\d+\|/.exec(out.Value ?? '');
    return m ? Number(m[1]) : null;
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return null;
    throw e;
  }
}
