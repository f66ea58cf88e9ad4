// The health document (and the signing keys) in a CloudFront KeyValueStore, where a value holds at most 1 KB and a
// key at most 512 bytes (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html).
//
// A JSON text is cut into parts of at most 1,024 UTF-8 bytes, each `<tag>/<count>|<chunk>`, under
//   <name>       part 0
//   <name>/1 ... the rest
// where <tag> is the document's serial (the keys: a hash of their text) and <count> the number of parts. A
// reader that meets parts of two versions (the store propagates key by key) refuses the mix instead of
// gluing it. The keys:
//   edge-router/health   the health document (without $schema)
//   edge-router/keys     the signing keys that are not retired: {"<key id>": "<secret, base64url>"}
// This file runs in cloudfront-js-2.0 (readParts) and in Node.js (kvsParts): ES5 plus const/let and arrows.
import { fnv1a32 } from './hash';

export const KVS_HEALTH_KEY = 'edge-router/health';
export const KVS_KEYS_KEY = 'edge-router/keys';
export const KVS_MAX_VALUE_BYTES = 1024;
export const KVS_MAX_KEY_BYTES = 512;

export interface KvsEntry {
  readonly key: string;
  readonly value: string;
}

/** UTF-8 length of a string. */
function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The entries that hold `text` under `name`, each value at most KVS_MAX_VALUE_BYTES. */
export function kvsParts(name: string, tag: string, text: string): KvsEntry[] {
  // the header is at most `<tag>/<count>|`: reserve room for a count of up to 4 digits
  const room = KVS_MAX_VALUE_BYTES - utf8Bytes(tag) - 6;
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length || chunks.length === 0) {
    let end = start;
    let bytes = 0;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      const pair = c >= 0xd800 && c < 0xdc00 && end + 1 < text.length;
      const b = utf8Bytes(text.slice(end, end + (pair ? 2 : 1)));
      if (bytes + b > room) break;
      bytes += b;
      end += pair ? 2 : 1;
    }
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks.map((chunk, i) => ({
    key: i === 0 ? name : `${name}/${i}`,
    value: `${tag}/${chunks.length}|${chunk}`,
  }));
}

/** The tag of a keys text: its hash, so that parts of two versions never match. */
export function textTag(text: string): string {
  return fnv1a32(text).toString(36);
}

/**
 * Reads what kvsParts wrote, through the store's `get` (which rejects for a missing key). Rejects for a missing
 * part, a malformed header or parts of two versions.
 */
export async function readParts(get: (key: string) => Promise<string>, name: string): Promise<string> {
  const first = await get(name);
  const bar = first.indexOf('|');
  const head = first.slice(0, bar);
  const count = Number(head.slice(head.lastIndexOf('/') + 1));
  if (bar < 0 || !(count >= 1 && count < 1000)) throw new Error(`${name}: malformed part header`);
  let text = first.slice(bar + 1);
  for (let i = 1; i < count; i++) {
    const part = await get(`${name}/${i}`);
    const b = part.indexOf('|');
    if (part.slice(0, b) !== head) throw new Error(`${name}/${i}: part of another version`);
    text += part.slice(b + 1);
  }
  return text;
}
