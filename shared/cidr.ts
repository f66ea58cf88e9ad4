// Compiling CIDRs from the config into the integer tables that shared/net.ts matches, with ipaddr.js (build time and
// module load only; never per request).
import * as ipaddr from 'ipaddr.js';
import type { CidrTable } from './net';

interface Entry<T> {
  readonly v: 4 | 6;
  readonly bits: number;
  /** network words (one for IPv4, four for IPv6) and masks */
  readonly net: readonly number[];
  readonly mask: readonly number[];
  readonly value: T;
}

function maskWords(bits: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const b = Math.max(0, Math.min(32, bits - 32 * i));
    out.push(b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0);
  }
  return out;
}

/** Why a CIDR string is not usable, or null if it is. Uses ipaddr.js. */
export function cidrProblem(cidr: string): string | null {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    return 'not a CIDR (address/prefix-length)';
  }
  const [addr, bits] = parsed;
  const network = (addr.kind() === 'ipv4' ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(cidr);
  if (network.toString() !== addr.toString())
    return `host bits are set: the network is ${network.toString()}/${bits}`;
  return null;
}

/** Compiles [cidr, value] pairs (each CIDR checked with cidrProblem first). */
export function compileCidrs<T>(list: readonly (readonly [string, T])[]): CidrTable<T> {
  const entries: Entry<T>[] = list.map(([cidr, value]) => {
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    if (addr.kind() === 'ipv4') {
      const b = addr.toByteArray();
      const mask = maskWords(bits, 1);
      return {
        v: 4,
        bits,
        net: [((((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0) & mask[0]) >>> 0],
        mask,
        value,
      };
    }
    const v6 = addr as ipaddr.IPv6;
    // an IPv4-mapped network (::ffff:10.0.0.0/104) is the IPv4 network it maps
    if (v6.isIPv4MappedAddress() && bits >= 96) {
      const b = v6.toIPv4Address().toByteArray();
      const mask = maskWords(bits - 96, 1);
      return {
        v: 4,
        bits: bits - 96,
        net: [((((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0) & mask[0]) >>> 0],
        mask,
        value,
      };
    }
    const p = v6.parts;
    const mask = maskWords(bits, 4);
    const net = [0, 2, 4, 6].map((i, k) => (((p[i] * 65536 + p[i + 1]) >>> 0) & mask[k]) >>> 0);
    return { v: 6, bits, net, mask, value };
  });
  // longest prefix first; a stable sort keeps the listed order on ties
  const v4 = entries.filter((e) => e.v === 4).sort((a, b) => b.bits - a.bits);
  const v6 = entries.filter((e) => e.v === 6).sort((a, b) => b.bits - a.bits);
  // as signed 32-bit integers, so the scan stays in int32 arithmetic
  const { starts, values } = intervals4(v4);
  return {
    size: entries.length,
    starts4: Float64Array.from(starts),
    values4: values,
    nets6: Int32Array.from(
      v6.flatMap((e) => e.net),
      (x) => x | 0,
    ),
    masks6: Int32Array.from(
      v6.flatMap((e) => e.mask),
      (x) => x | 0,
    ),
    values6: v6.map((e) => e.value),
  };
}

/** IPv4 networks (longest prefix first) as disjoint intervals over the whole space, adjacent equal values merged. */
function intervals4<T>(v4: readonly Entry<T>[]): { starts: number[]; values: (T | undefined)[] } {
  const ranges = v4.map((e) => ({ start: e.net[0], end: e.net[0] + 2 ** (32 - e.bits) - 1, value: e.value }));
  const cuts = new Set<number>([0]);
  for (const r of ranges) {
    cuts.add(r.start);
    if (r.end + 1 <= 0xffffffff) cuts.add(r.end + 1);
  }
  const starts: number[] = [];
  const values: (T | undefined)[] = [];
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    // every address of an elementary interval is in the same networks: the first (longest) one decides
    const value = ranges.find((r) => r.start <= cut && cut <= r.end)?.value;
    if (starts.length && values[values.length - 1] === value) continue;
    starts.push(cut);
    values.push(value);
  }
  return { starts, values };
}
