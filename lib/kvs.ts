// What edge-router keeps in a CloudFront KeyValueStore (the layout: shared/kvs-layout.ts), from the Node side: the
// plan of a health document, one walk per ranking, and the signing keys; and writing them to a store.
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  ListKeysCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { walkNetworks } from '../shared/bake';
import {
  KVS_KEYS_KEY,
  KVS_PLAN_PREFIX,
  type KvsEntry,
  kvsParts,
  planTag,
  tagOf,
  textTag,
  walkKey,
} from '../shared/kvs-layout';
import { fingerprint, plan } from '../shared/plan';
import type { Router } from '../shared/router';
import type { HealthDoc, KeysDoc } from '../shared/schema';
import type { Walk, WalkNetworks } from '../shared/walk';

/** A walk as stored: what the edge reads (with the config's network tables), without the plan's words. */
export function storedWalk(w: Walk, networks?: WalkNetworks): string {
  const { says: _, ...stored } = w;
  return JSON.stringify(networks ? { ...stored, w: networks } : stored);
}

/**
 * The plan's entries: per ranking, its walk under `doc`, tagged with the serial and the config's fingerprint. Throws
 * when the document cannot be planned or a walk would need more values than a reader takes (shared/kvs-layout.ts).
 */
export function planEntries(router: Router, doc: HealthDoc): KvsEntry[] {
  const p = plan(router, doc);
  if (p.error !== undefined) throw new Error(`the document cannot be planned: ${p.error}`);
  const tag = planTag(doc.serial, fingerprint(router));
  const networks = walkNetworks(router);
  const out: KvsEntry[] = [];
  for (let i = 0; i < router.orders.length; i++)
    out.push(...kvsParts(walkKey(i), tag, storedWalk(p.walks[i] as Walk, networks)));
  return out;
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

/** Every key of the store with its value (ListKeys pages of 50). */
async function allEntries(client: CloudFrontKeyValueStoreClient, arn: string): Promise<KvsEntry[]> {
  const out: KvsEntry[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListKeysCommand({ KvsARN: arn, NextToken, MaxResults: 50 }));
    for (const item of page.Items ?? []) if (item.Key) out.push({ key: item.Key, value: item.Value ?? '' });
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Keys of the plan, and those an earlier version kept the whole document under (deleted when a plan is written). */
const isPlanKey = (k: string) =>
  k.startsWith(KVS_PLAN_PREFIX) || k === 'edge-router/health' || k.startsWith('edge-router/health/');
const isKeysKey = (k: string) => k === KVS_KEYS_KEY || k.startsWith(`${KVS_KEYS_KEY}/`);

/** The serials of the plan's walks among `entries` (several while a write propagates), lowest first. */
export function planSerials(entries: readonly KvsEntry[]): number[] {
  const serials = new Set<number>();
  for (const e of entries) {
    if (!/^edge-router\/plan\/\d+$/.test(e.key)) continue;
    const serial = Number.parseInt(tagOf(e.value) ?? '', 10);
    if (Number.isSafeInteger(serial)) serials.add(serial);
  }
  return [...serials].sort((a, b) => a - b);
}

/** The store holds the plan of a later document than the one being written: refused, nothing written. */
export class KvsRegressionError extends Error {
  constructor(
    readonly serial: number,
    readonly stored: number,
  ) {
    super(
      `the key value store holds the plan of serial ${stored}, later than serial ${serial}: nothing written`,
    );
    this.name = 'KvsRegressionError';
  }
}

/**
 * Writes the plan of a document (planEntries), deleting the walks and parts it no longer has. Never backwards: a
 * store that holds the plan of a higher serial is left as it is (KvsRegressionError).
 */
export function putPlan(
  client: CloudFrontKeyValueStoreClient,
  arn: string,
  entries: readonly KvsEntry[],
): Promise<string> {
  const serial = planSerials(entries).at(-1) ?? 0;
  return putEntries(client, arn, entries, isPlanKey, (current) => {
    const stored = planSerials(current).at(-1);
    if (stored !== undefined && stored > serial) throw new KvsRegressionError(serial, stored);
  });
}

/** Writes the signing keys (keysEntries). */
export function putKeys(
  client: CloudFrontKeyValueStoreClient,
  arn: string,
  entries: readonly KvsEntry[],
): Promise<string> {
  return putEntries(client, arn, entries, isKeysKey);
}

/**
 * Replaces the store's keys that `owns` with `entries` (a key it owns that is not among them is deleted), over the
 * store's current ETag; a conflict re-reads the ETag and tries again (three times). Returns the store's new ETag. At
 * most 50 keys go in one all-or-nothing UpdateKeys, and the parts of one text never straddle two of them; between
 * two, a reader may meet texts of two versions (each whole), never a torn one.
 */
async function putEntries(
  client: CloudFrontKeyValueStoreClient,
  arn: string,
  entries: readonly KvsEntry[],
  owns: (key: string) => boolean,
  /** throws to refuse the write, given what the store holds */
  guard?: (current: readonly KvsEntry[]) => void,
): Promise<string> {
  // one group per text: its part 0 and the parts after it
  const groups: KvsEntry[][] = [];
  for (const e of entries) {
    if (groups.length && e.key.startsWith(`${groups[groups.length - 1][0].key}/`))
      groups[groups.length - 1].push(e);
    else groups.push([e]);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      let etag = (await client.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag;
      const keep = new Set(entries.map((e) => e.key));
      const current = await allEntries(client, arn);
      guard?.(current);
      const stale = current.map((e) => e.key).filter((k) => owns(k) && !keep.has(k));
      const batches: { puts: KvsEntry[]; deletes: string[] }[] = [];
      let batch = { puts: [] as KvsEntry[], deletes: [] as string[] };
      const room = () => KVS_BATCH - batch.puts.length - batch.deletes.length;
      for (const g of groups) {
        if (room() < g.length) {
          batches.push(batch);
          batch = { puts: [], deletes: [] };
        }
        batch.puts.push(...g);
      }
      for (const k of stale) {
        if (room() < 1) {
          batches.push(batch);
          batch = { puts: [], deletes: [] };
        }
        batch.deletes.push(k);
      }
      if (batch.puts.length + batch.deletes.length) batches.push(batch);
      for (const b of batches) {
        const out = await client.send(
          new UpdateKeysCommand({
            KvsARN: arn,
            IfMatch: etag,
            Puts: b.puts.map((e) => ({ Key: e.key, Value: e.value })),
            Deletes: b.deletes.map((Key) => ({ Key })),
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

/** What the store holds of a plan: its walks' serials and fingerprints (several while a write is under way). */
export interface StoredPlan {
  /** walks (part 0) in the store */
  readonly walks: number;
  /** distinct serials among them, lowest first */
  readonly serials: readonly number[];
  readonly fingerprints: readonly string[];
  /** the store still holds the whole document as an earlier version wrote it */
  readonly legacy: boolean;
}

export async function storedPlan(client: CloudFrontKeyValueStoreClient, arn: string): Promise<StoredPlan> {
  const fingerprints = new Set<string>();
  let walks = 0;
  let legacy = false;
  const entries = await allEntries(client, arn);
  for (const e of entries) {
    if (e.key === 'edge-router/health') legacy = true;
    if (!/^edge-router\/plan\/\d+$/.test(e.key)) continue;
    walks++;
    const tag = tagOf(e.value) ?? '';
    fingerprints.add(tag.slice(tag.indexOf('.') + 1));
  }
  return { walks, serials: planSerials(entries), fingerprints: [...fingerprints], legacy };
}
