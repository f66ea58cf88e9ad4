// Small numbers (region, ranking and group indexes) as characters, CHAR0 + n, so that a table of them is a short
// string: in every runtime the same, and in the CloudFront Functions file baked as is (shared/baked.ts).
// Runs in cloudfront-js-2.0 too.

/** The character of 0; -1 (none) is "/". */
export const CHAR0 = 48;

/** The number at position i of a string of them. */
export function num(s: string, i: number): number {
  return s.charCodeAt(i) - CHAR0;
}

/** Small numbers (≥ -1) as a string of characters. */
export function chars(ns: readonly number[]): string {
  let s = '';
  for (let i = 0; i < ns.length; i++) {
    if (!(ns[i] >= -1 && ns[i] < 0xd800 - CHAR0)) throw new Error(`${ns[i]} does not fit one character`);
    s += String.fromCharCode(CHAR0 + ns[i]);
  }
  return s;
}
