// parseIp against ipaddr.js (the reference), and CIDR tables at their edges.
import fc from 'fast-check';
import * as ipaddr from 'ipaddr.js';
import { cidrProblem, compileCidrs } from '../shared/cidr';
import { type Ip, matchCidr, parseIp } from '../shared/net';

/** ipaddr.js's reading of an address, in parseIp's shape; null where it refuses. */
function reference(s: string): Ip | null {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.process(s);
  } catch {
    return null;
  }
  const b = a.toByteArray();
  const words = [];
  for (let i = 0; i < b.length; i += 4)
    words.push(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0);
  return (a.kind() === 'ipv4' ? [0, 0, 0xffff, words[0]] : words) as unknown as Ip;
}

const mapped = fc.ipV4().map((v4) => `::ffff:${v4}`);
const upper = fc.ipV6().map((s) => s.toUpperCase());

describe('parseIp', () => {
  test('reads every IPv4, IPv6 and IPv4-mapped address as ipaddr.js does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), mapped, upper), (s) => {
        expect(parseIp(s)).toEqual(reference(s));
      }),
      { numRuns: 5000 },
    );
  });

  test('never accepts what ipaddr.js refuses, and agrees when it accepts', () => {
    const near = fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), near), (s) => {
        const mine = parseIp(s);
        if (mine !== null) expect(mine).toEqual(reference(s));
      }),
      { numRuns: 5000 },
    );
  });

  test.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.4:80',
    '[::1]',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':::',
    '12345::',
    'g::1',
    ' 1.2.3.4',
    '::ffff:1.2.3',
    '0x7f.0.0.1',
    `${'1'.repeat(46)}`,
  ])('refuses %j', (s) => {
    expect(parseIp(s)).toBeNull();
  });

  test('refuses what is not a string', () => {
    for (const v of [undefined, null, 7, {}, ['1.2.3.4']]) expect(parseIp(v)).toBeNull();
  });
});

describe('CIDR tables', () => {
  const table = compileCidrs([
    ['10.8.0.0/16', 'vpn'],
    ['10.8.4.0/24', 'lab'],
    ['2001:db8:8::/48', 'vpn6'],
    ['0.0.0.0/0', 'any4'],
  ]);
  const at = (s: string) => matchCidr(table, parseIp(s));

  test.each([
    ['10.8.0.0', 'vpn'],
    ['10.8.255.255', 'vpn'],
    ['10.7.255.255', 'any4'],
    ['10.9.0.0', 'any4'],
    ['10.8.4.7', 'lab'], // the longest prefix wins
    ['::ffff:10.8.0.1', 'vpn'],
    ['::FFFF:10.8.4.1', 'lab'],
    ['2001:db8:8::', 'vpn6'],
    ['2001:db8:8:ffff:ffff:ffff:ffff:ffff', 'vpn6'],
    ['2001:0db8:0008:0000:0000:0000:0000:0001', 'vpn6'],
    ['2001:db8:9::', undefined],
    ['2001:db8:7:ffff:ffff:ffff:ffff:ffff', undefined],
    ['::1', undefined],
  ])('%s → %s', (ip, expected) => {
    expect(at(ip)).toBe(expected);
  });

  test('an IPv4-mapped network in the config is the IPv4 network', () => {
    const t = compileCidrs([['::ffff:10.9.0.0/112', true]]);
    expect(matchCidr(t, parseIp('10.9.1.2'))).toBe(true);
    expect(matchCidr(t, parseIp('10.10.0.0'))).toBeUndefined();
  });

  test('matches as ipaddr.js does, for random networks and addresses', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (net, bits, ip) => {
        const cidr = `${ipaddr.IPv4.networkAddressFromCIDR(`${net}/${bits}`)}/${bits}`;
        const expected = ipaddr.parse(ip).match(ipaddr.parseCIDR(cidr));
        expect(matchCidr(compileCidrs([[cidr, true]]), parseIp(ip)) === true).toBe(expected);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), fc.ipV6(), (net, bits, ip) => {
        const base = ipaddr.IPv6.networkAddressFromCIDR(`${net}/${bits}`);
        if (base.isIPv4MappedAddress()) return;
        const addr = ipaddr.parse(ip);
        if (addr.kind() !== 'ipv6' || (addr as ipaddr.IPv6).isIPv4MappedAddress()) return;
        const cidr = `${base}/${bits}`;
        expect(matchCidr(compileCidrs([[cidr, true]]), parseIp(ip)) === true).toBe(
          addr.match(ipaddr.parseCIDR(cidr)),
        );
      }),
      { numRuns: 3000 },
    );
  });

  test('overlapping networks: the longest prefix wins, the first listed on a tie (against ipaddr.js)', () => {
    const cidr = fc
      .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
      .map(([net, bits]) => `${ipaddr.IPv4.networkAddressFromCIDR(`${net}/${bits}`)}/${bits}`);
    // addresses near the networks' edges, where intervals begin and end
    fc.assert(
      fc.property(
        fc.array(cidr, { minLength: 1, maxLength: 8 }),
        fc.array(fc.ipV4(), { maxLength: 20 }),
        (cidrs, extra) => {
          const table = compileCidrs(cidrs.map((c, i) => [c, i] as const));
          const probes = [...extra];
          for (const c of cidrs) {
            const [, bits] = ipaddr.parseCIDR(c);
            const start = ipaddr.IPv4.networkAddressFromCIDR(c)
              .toByteArray()
              .reduce((n, b) => n * 256 + b, 0);
            const end = start + 2 ** (32 - bits) - 1;
            for (const n of [start - 1, start, end, end + 1]) {
              if (n >= 0 && n <= 0xffffffff)
                probes.push([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
            }
          }
          for (const ip of probes) {
            const addr = ipaddr.parse(ip);
            let expected: number | undefined;
            let best = -1;
            cidrs.forEach((c, i) => {
              const parsed = ipaddr.parseCIDR(c);
              if (addr.match(parsed) && parsed[1] > best) {
                best = parsed[1];
                expected = i;
              }
            });
            expect(matchCidr(table, parseIp(ip))).toBe(expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test.each([
    ['10.8.1.0/16', /host bits are set: the network is 10\.8\.0\.0\/16/],
    ['10.8.0.0', /not a CIDR/],
    ['10.8.0.0/33', /not a CIDR/],
    ['2001:db8::/129', /not a CIDR/],
    ['staging', /not a CIDR/],
  ])('cidrProblem(%j)', (cidr, message) => {
    expect(cidrProblem(cidr)).toMatch(message);
  });

  test('a valid CIDR has no problem', () => {
    expect(cidrProblem('2001:db8:8::/48')).toBeNull();
  });
});
