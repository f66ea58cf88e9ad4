import fc from 'fast-check';
import { bucket, fnv1a32 } from '../shared';

// Reference FNV-1a over the bytes Node's own UTF-8 encoder produces.
function reference(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

describe('fnv1a32', () => {
  test.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('published test vector %j', (s, h) => {
    expect(fnv1a32(s)).toBe(h);
  });

  test('equals FNV-1a over UTF-8 bytes for every well-formed string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(fnv1a32(s)).toBe(reference(s));
      }),
      { numRuns: 2000 },
    );
  });

  test('hashes lone surrogates without throwing, as unsigned 32-bit', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const h = fnv1a32(s);
        expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
      }),
    );
  });

  test('bucket is in [0, 10000) and spreads keys evenly', () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) counts[Math.floor(bucket(`10.0.${i >> 8}.${i & 255}`) / 1000)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});
