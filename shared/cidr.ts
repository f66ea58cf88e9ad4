// Compiling CIDRs from the config into the integer tables that shared/net.ts matches, with ipaddr.js (build time and
// module load only; never per request).
import * as ipaddr from 'ipaddr.js';
import type { CidrTable } from './net';

interface Entry<T> {
  /** prefix length over the 128 bits (an IPv4 network is IPv4-mapped: /16 is /112) */
  readonly bits: number;
  /** network words, masked */
  readonly net: readonly number[];
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

/** The four words of an IPv4-mapped address (::ffff:a.b.c.d). */
function mapped(v4: ipaddr.IPv4): number[] {
  const b = v4.toByteArray();
  return [0, 0, 0xffff, ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0];
}

/** Compiles [cidr, value] pairs (each CIDR checked with cidrProblem first). */
export function compileCidrs<T>(list: readonly (readonly [string, T])[]): CidrTable<T> {
  const entries: Entry<T>[] = list.map(([cidr, value]) => {
    const [addr, prefix] = ipaddr.parseCIDR(cidr);
    const v4 = addr.kind() === 'ipv4';
    const bits = v4 ? prefix + 96 : prefix;
    const words = v4
      ? mapped(addr as ipaddr.IPv4)
      : [0, 2, 4, 6].map(
          (i) => ((addr as ipaddr.IPv6).parts[i] * 65536 + (addr as ipaddr.IPv6).parts[i + 1]) >>> 0,
        );
    const mask = maskWords(bits, 4);
    return { bits, net: words.map((w, k) => (w & mask[k]) >>> 0), value };
  });
  // longest prefix first; a stable sort keeps the listed order on ties
  const sorted = entries.slice().sort((a, b) => b.bits - a.bits);
  return {
    size: sorted.length,
    // as signed 32-bit integers, so the match stays in int32 arithmetic
    nets: Int32Array.from(
      sorted.flatMap((e) => e.net),
      (x) => x | 0,
    ),
    masks: Int32Array.from(
      sorted.flatMap((e) => maskWords(e.bits, 4)),
      (x) => x | 0,
    ),
    values: sorted.map((e) => e.value),
  };
}
