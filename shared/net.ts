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
 * An address as four unsigned 32-bit words. IPv4 a.b.c.d is its IPv4-mapped IPv6 address ::ffff:a.b.c.d, so that one
 * table and one loop match both (matchCidr).
 */
export type Ip = readonly [number, number, number, number];

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

const HEXTET = /^[0-9a-f]{1,4}$/i;

/**
 * RFC 4291 text (with "::" and an embedded dotted IPv4 tail) to four unsigned 32-bit words. Written small rather
 * than fast (split and a regular expression): it is also in the CloudFront Functions bundle, where every byte
 * counts against 10 KB, and IPv6 is parsed only when the config names networks.
 */
function parseV6(s: string): number[] | null {
  let text = s;
  let tail = -1;
  if (s.indexOf('.') >= 0) {
    // a dotted IPv4 tail stands for the last two groups
    const colon = s.lastIndexOf(':');
    const v4 = parseV4(s.slice(colon + 1));
    if (v4 === null) return null;
    tail = v4;
    text = `${s.slice(0, colon + 1)}0:0`;
  }
  const halves = text.split('::');
  const groups = halves[0] ? halves[0].split(':') : [];
  const rest = halves[1] ? halves[1].split(':') : [];
  const missing = 8 - groups.length - rest.length;
  if (halves.length > 2 || (halves.length > 1 ? missing < 1 : missing)) return null;
  while (groups.length < 8 - rest.length) groups.push('0');
  const g = groups.concat(rest);
  const w: number[] = [];
  for (let i = 0; i < 8; i += 2) {
    if (!HEXTET.test(g[i]) || !HEXTET.test(g[i + 1])) return null;
    w.push(Number.parseInt(g[i], 16) * 65536 + Number.parseInt(g[i + 1], 16));
  }
  if (tail >= 0) w[3] = tail;
  return w;
}

/** Parses a viewer address; null if it is not a plain IPv4 or IPv6 address (no zone, no port, no brackets). */
export function parseIp(s: unknown): Ip | null {
  if (typeof s !== 'string' || s.length > 45) return null;
  if (s.indexOf(':') < 0) {
    const v4 = parseV4(s);
    return v4 === null ? null : [0, 0, 0xffff, v4];
  }
  const w = parseV6(s);
  // "::a.b.c.d" (the deprecated IPv4-compatible form) is read as IPv4, as ipaddr.js reads it
  if (w && s.startsWith('::') && s.indexOf(':', 2) < 0 && s.indexOf('.') > 0) w[2] = 0xffff;
  return w as Ip | null;
}

/**
 * Networks as integer tables, longest prefix first (on a tie, as listed), each with a value (a route's index, or
 * true). IPv4 networks are IPv4-mapped (a /16 is a /112). Made by compileCidrs (shared/cidr.ts).
 */
export interface CidrTable<T> {
  /** how many networks */
  readonly size: number;
  /** four words per network, and four of its mask (signed 32-bit integers) */
  readonly nets: ArrayLike<number>;
  readonly masks: ArrayLike<number>;
  readonly values: readonly T[];
}

/** The value of the longest prefix containing the address (the first listed on a tie), or undefined. */
export function matchCidr<T>(t: CidrTable<T>, ip: Ip | null): T | undefined {
  if (ip === null) return undefined;
  const nets = t.nets;
  const masks = t.masks;
  for (let k = 0; k < nets.length; k += 4) {
    if (
      (ip[0] & masks[k]) === nets[k] &&
      (ip[1] & masks[k + 1]) === nets[k + 1] &&
      (ip[2] & masks[k + 2]) === nets[k + 2] &&
      (ip[3] & masks[k + 3]) === nets[k + 3]
    ) {
      return t.values[k >> 2];
    }
  }
  return undefined;
}
