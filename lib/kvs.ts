// What edge-router keeps in a CloudFront KeyValueStore (the layout: shared/kvs-doc.ts), from the Node side: the
// entries for a health document and for the signing keys.
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
