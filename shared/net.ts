// IP networks at request time: a viewer's address parsed, and matched against integer tables that
// shared/cidr.ts compiled (with ipaddr.js) from the config. Nothing here imports a library, so the request path
// bundles small.
//
// Why the per-request parse is not ipaddr.js: measured on this project's machine, ipaddr.js takes 0.6 µs to
// parse a dotted IPv4 address, 1.7 µs for IPv6 and 9 µs for an IPv4-mapped IPv6 address (`process()`), against a
// budget of 1 µs for a whole routing decision. `parseIp` below accepts exactly the textual forms CloudFront
// sends (dotted-quad IPv4; RFC 4291 IPv6 with `::` and an embedded dotted IPv4 tail) and is property-tested
// against ipaddr.js (test/net.test.ts), which stays the reference for every address the config names.

/**
 * An IPv4 address as one unsigned 32-bit number (no allocation on the hot path), or IPv6 as four. IPv4-mapped
 * IPv6 is IPv4.
 */
export type Ip = number | readonly [number, number, number, number];

/** Dotted-quad IPv4 to an unsigned 32-bit number; null unless exactly four decimal octets without leading zeros. */
function parseV4(s: string): number | null {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      // "."
      if (digits === 0 || dots === 3) return null;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // no leading zeros ("010" is octal to some parsers and decimal to others: refuse it)
      if (digits === 1 && octet === 0) return null;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return null;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return n * 256 + octet;
}

/** RFC 4291 text (with "::" and an embedded dotted IPv4 tail) to four unsigned 32-bit words, in one pass. */
function parseV6(s: string): number[] | null {
  const len = s.length;
  if (len < 2 || len > 45) return null;
  const words = [0, 0, 0, 0, 0, 0, 0, 0];
  let count = 0;
  let gap = -1; // where "::" stands, as an index into words
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (count === 8) return null;
    const start = i;
    let v = 0;
    let digits = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      if (++digits > 4) return null;
      v = v * 16 + d;
    }
    if (i < len && s.charCodeAt(i) === 46) {
      // a dotted IPv4 tail: the last two words
      if (count > 6) return null;
      const v4 = parseV4(s.slice(start));
      if (v4 === null) return null;
      words[count++] = Math.floor(v4 / 65536);
      words[count++] = v4 % 65536;
      break;
    }
    if (digits === 0) return null;
    words[count++] = v;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return null;
    i++;
    if (i < len && s.charCodeAt(i) === 58) {
      if (gap >= 0) return null;
      gap = count;
      i++;
    } else if (i === len) {
      return null; // a trailing single ":"
    }
  }
  if (gap < 0) {
    if (count !== 8) return null;
  } else {
    if (count > 7) return null;
    const tail = count - gap;
    for (let k = tail - 1; k >= 0; k--) words[8 - tail + k] = words[gap + k];
    for (let k = gap; k < 8 - tail; k++) words[k] = 0;
  }
  return [
    (words[0] * 65536 + words[1]) >>> 0,
    (words[2] * 65536 + words[3]) >>> 0,
    (words[4] * 65536 + words[5]) >>> 0,
    (words[6] * 65536 + words[7]) >>> 0,
  ];
}

/** Parses a viewer address; null if it is not a plain IPv4 or IPv6 address (no zone, no port, no brackets). */
export function parseIp(s: unknown): Ip | null {
  if (typeof s !== 'string' || s.length === 0 || s.length > 45) return null;
  if (!s.includes(':')) return parseV4(s);
  const w = parseV6(s);
  if (w === null) return null;
  // "::a.b.c.d" (the deprecated IPv4-compatible form) is read as IPv4, as ipaddr.js reads it
  if (s.startsWith('::') && s.indexOf(':', 2) < 0 && s.includes('.')) return w[3];
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return w[3];
  return [w[0], w[1], w[2], w[3]];
}

/**
 * Networks as integer tables (int32), longest prefix first, each with a value (a route's index, or true).
 * Made by compileCidrs (shared/cidr.ts).
 */
export interface CidrTable<T> {
  readonly size: number;
  /**
   * IPv4 as sorted, disjoint intervals covering the whole space: starts4[i] is where interval i begins, and
   * values4[i] the value of the longest prefix that contains it (undefined: none), so a lookup is a binary search.
   */
  readonly starts4: Float64Array;
  readonly values4: readonly (T | undefined)[];
  /** four words per network */
  readonly nets6: Int32Array;
  readonly masks6: Int32Array;
  readonly values6: readonly T[];
}

/** The value of the longest prefix containing the address (the first listed on a tie), or undefined. */
export function matchCidr<T>(t: CidrTable<T>, ip: Ip | null): T | undefined {
  if (ip === null || t.size === 0) return undefined;
  if (typeof ip === 'number') {
    // the last interval that starts at or before the address
    const starts = t.starts4;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= ip) lo = mid;
      else hi = mid - 1;
    }
    return t.values4[lo];
  }
  const w0 = ip[0] | 0;
  const w1 = ip[1] | 0;
  const w2 = ip[2] | 0;
  const w3 = ip[3] | 0;
  const nets = t.nets6;
  const masks = t.masks6;
  for (let i = 0, k = 0; k < nets.length; i++, k += 4) {
    if (
      (w0 & masks[k]) === nets[k] &&
      (w1 & masks[k + 1]) === nets[k + 1] &&
      (w2 & masks[k + 2]) === nets[k + 2] &&
      (w3 & masks[k + 3]) === nets[k + 3]
    ) {
      return t.values6[i];
    }
  }
  return undefined;
}
