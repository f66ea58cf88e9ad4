// What edge-router keeps in a CloudFront KeyValueStore, where a value holds at most 1 KB and a key at most 512 bytes
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html):
//   edge-router/plan/<n>   the plan's walk for ranking n (shared/plan.ts), tagged `<serial>.<fingerprint>`
//   edge-router/keys       the signing keys that are not retired: {"<key id>": "<secret, base64url>"}
// A viewer-request function reads the one walk its viewer is ranked into, and the keys only when a request needs
// them. Each text is JSON cut into parts of at most 1,024 UTF-8 bytes, each `<tag>/<count>|<chunk>`, under
//   <name>       part 0
//   <name>/1 ... the rest (a walk needs more than one only for a long canary schedule)
// A reader that meets parts of two versions (the store propagates key by key) refuses the mix instead of gluing it.
// This file runs in cloudfront-js-2.0 (readParts) and in Node.js (kvsParts): ES5 plus const/let and arrows.
import { fnv1a32 } from './hash';

export const KVS_PLAN_PREFIX = 'edge-router/plan/';
export const KVS_KEYS_KEY = 'edge-router/keys';
export const KVS_MAX_VALUE_BYTES = 1024;
export const KVS_MAX_KEY_BYTES = 512;
/** The most parts a text may take: a reader gets no more than this many values for one text. */
export const KVS_MAX_PARTS = 8;

/** The key of ranking n's walk. */
export function walkKey(n: number): string {
  return KVS_PLAN_PREFIX + n;
}

/** The tag of a walk: which document, planned for which config. */
export function planTag(serial: number, fingerprint: string): string {
  return `${serial}.${fingerprint}`;
}

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

/**
 * The entries that hold `text` under `name`, each value at most KVS_MAX_VALUE_BYTES. Throws when the text needs more
 * than KVS_MAX_PARTS parts: it is refused, never truncated.
 */
export function kvsParts(name: string, tag: string, text: string): KvsEntry[] {
  // the header is `<tag>/<count>|`, the count a single digit
  const room = KVS_MAX_VALUE_BYTES - utf8Bytes(tag) - 3;
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
    if (chunks.length > KVS_MAX_PARTS) {
      throw new Error(
        `${name}: ${utf8Bytes(text)} bytes need more than ${KVS_MAX_PARTS} values of ${KVS_MAX_VALUE_BYTES} bytes`,
      );
    }
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

/** A text as read back: its tag and the whole text. */
export interface Parts {
  readonly tag: string;
  readonly text: string;
}

/** The tag of a part-0 value, or undefined when it has no part header. */
export function tagOf(value: string): string | undefined {
  const bar = value.indexOf('|');
  const slash = value.lastIndexOf('/', bar);
  return bar > 0 && slash > 0 ? value.slice(0, slash) : undefined;
}

/**
 * Reads what kvsParts wrote, through the store's `get` (which rejects for a missing key). Rejects for a missing
 * part, a malformed header, more than KVS_MAX_PARTS parts, or parts of two versions.
 */
export async function readParts(get: (key: string) => Promise<string>, name: string): Promise<Parts> {
  let head = '';
  let text = '';
  for (let i = 0, count = 1; i < count; i++) {
    const part = await get(i ? `${name}/${i}` : name);
    const bar = part.indexOf('|');
    if (!i) {
      head = part.slice(0, bar);
      count = Number(head.slice(head.lastIndexOf('/') + 1));
      if (!(bar > 0 && count >= 1 && count <= KVS_MAX_PARTS)) throw new Error(`${name}: malformed`);
    } else if (part.slice(0, bar) !== head) throw new Error(`${name}/${i}: another version`);
    text += part.slice(bar + 1);
  }
  return { tag: head.slice(0, head.lastIndexOf('/')), text };
}
