// Problems with an input, each at the JSON path it is at: one shape for every validator (the router config, the
// health document, the signing keys) and every shell that reports them. Imports nothing of the core, so that the
// schemas and the validators can all use it without importing each other.
import type { $ZodError } from 'zod/v4/core';

export interface Problem {
  /** JSONPath of the offending value, e.g. `$.regions["us-east-1"].origin.port` */
  readonly path: string;
  readonly message: string;
}

export type Parsed<T> =
  | { readonly success: true; readonly data: T; readonly warnings: readonly Problem[] }
  | { readonly success: false; readonly errors: readonly Problem[] };

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && IDENT.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/**
 * Names no key of ours may have: JSON.parse makes `__proto__` an own property, which the schemas' records skip in
 * silence (a region that validates and is then dropped), and `constructor` and `prototype` name what every object
 * inherits. Each is refused wherever it appears, with its path.
 */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

export function reservedKeyProblems(input: unknown): Problem[] {
  const out: Problem[] = [];
  const walk = (v: unknown, path: PropertyKey[], depth: number) => {
    if (typeof v !== 'object' || v === null || depth > 64 || out.length >= 20) return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(x, [...path, i], depth + 1);
      });
      return;
    }
    for (const k of Object.keys(v)) {
      if (RESERVED.has(k))
        out.push({ path: jsonPath([...path, k]), message: `"${k}" is a reserved name: not an id or a key` });
      else walk((v as Record<string, unknown>)[k], [...path, k], depth + 1);
    }
  };
  walk(input, [], 0);
  return out;
}

/** A zod error as problems with JSON paths. */
export function problemsOf(error: $ZodError): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'invalid_key') {
      // a record key that fails its pattern: report the pattern's own message at the key's path
      for (const inner of issue.issues) out.push({ path: jsonPath(issue.path), message: inner.message });
    } else if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: jsonPath([...issue.path, key]), message: 'unknown property' });
    } else {
      out.push({ path: jsonPath(issue.path), message: issue.message });
    }
  }
  return out;
}
