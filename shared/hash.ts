// A hash every runtime reproduces bit for bit: FNV-1a, 32-bit, over the UTF-8 bytes of the string.
// Written with shifts and >>> 0 only (no Math.imul, no BigInt), so the same source runs unchanged in
// Node.js and in the CloudFront Functions runtime (cloudfront-js-2.0).

export const FNV_OFFSET = 0x811c9dc5;

/**
 * FNV-1a of `s`; with `state` (an earlier result), the hash of that earlier string followed by `s`, so a
 * fixed prefix is hashed once: fnv1a32(b, fnv1a32(a)) === fnv1a32(a + b).
 */
export function fnv1a32(s: string, state?: number): number {
  // no default parameters: the CloudFront Functions runtime does not have them (nor does esbuild lower them)
  let h = state === undefined ? FNV_OFFSET : state;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    // ASCII, one byte: what the general path below does, sooner (FAST: the CloudFront Functions build leaves it out)
    FAST: if (c < 0x80) {
      h = mix(h, c);
      continue;
    }
    const d = s.charCodeAt(i + 1); // NaN past the end
    if (c >= 0xd800 && c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + d - 0xdc00;
      i++;
    }
    // UTF-8: a lead byte and n continuation bytes; a lone surrogate is encoded as itself (WTF-8), so every string
    // hashes
    const n = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3;
    h = mix(h, n ? ((0xff << (7 - n)) & 0xff) | (c >> (6 * n)) : c);
    for (let k = n - 1; k >= 0; k--) h = mix(h, 0x80 | ((c >> (6 * k)) & 63));
  }
  return h >>> 0;
}

function mix(h: number, byte: number): number {
  const x = (h ^ byte) >>> 0;
  // x * 16777619 (the FNV prime, 2^24 + 2^8 + 0x93) modulo 2^32
  return (x + (x << 1) + (x << 4) + (x << 7) + (x << 8) + (x << 24)) >>> 0;
}

/** A stable bucket in [0, 10000) (0.01 % steps) of `key`, optionally after a prefix's hash state. */
export function bucket(key: string, prefixState?: number): number {
  return fnv1a32(key, prefixState) % 10000;
}
