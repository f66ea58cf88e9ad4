// Override tokens (x-route-token): `er1.<key id>.<target or *>.<expiry, unix seconds>.<signature>`, where the
// signature is base64url(HMAC-SHA256(key, "er1.<key id>.<target>.<expiry>")). The HMAC itself is the runtime's
// (node:crypto in Lambda@Edge and the CLI; the `crypto` module in CloudFront Functions), behind KeyRing, so that
// this file stays pure. Keys live in a private object next to the health document, never in a bundle.

/** The signing keys a runtime loaded: the HMAC of a payload under a key id, or undefined for an unknown or retired key. */
export interface KeyRing {
  sign(keyId: string, payload: string): string | undefined;
  /** ids of the keys that sign (for minting: the newest is last) */
  readonly ids: readonly string[];
}

const TOKEN = /^er1\.([A-Za-z0-9_-]{1,32})\.(\*|[a-z][a-z0-9-]{0,62})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;
export const MAX_TOKEN_LENGTH = 160;

export type TokenCheck =
  | { readonly ok: true; readonly keyId: string; readonly target: string; readonly expires: number }
  | { readonly ok: false; readonly why: string };

export function tokenPayload(keyId: string, target: string, expiresSec: number): string {
  return `er1.${keyId}.${target}.${expiresSec}`;
}

/** Compares two strings in time that depends on their length only. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Checks a token for a target (undefined: any target the token names). Never throws; `why` is for the operator's
 * log, never for the viewer.
 */
export function checkToken(
  token: unknown,
  target: string | undefined,
  nowMs: number,
  keys: KeyRing | undefined,
  maxTtlSeconds: number,
): TokenCheck {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, why: 'malformed' };
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, why: 'malformed' };
  const keyId = m[1];
  const tokenTarget = m[2];
  const exp = m[3];
  const signature = m[4];
  if (!keys) return { ok: false, why: 'no signing keys loaded' };
  const expected = keys.sign(keyId, tokenPayload(keyId, tokenTarget, Number(exp)));
  if (expected === undefined) return { ok: false, why: `unknown or retired key ${keyId}` };
  if (!constantTimeEqual(expected, signature)) return { ok: false, why: 'bad signature' };
  const expires = Number(exp) * 1000;
  if (!(nowMs < expires)) return { ok: false, why: 'expired' };
  if (expires - nowMs > maxTtlSeconds * 1000) return { ok: false, why: 'expires too far in the future' };
  if (target !== undefined && tokenTarget !== '*' && tokenTarget !== target) {
    return { ok: false, why: `for ${tokenTarget}, not ${target}` };
  }
  return { ok: true, keyId, target: tokenTarget, expires };
}

/** A token for `target` (or `*`), signed with `keyId` (default: the newest key). */
export function mintToken(keys: KeyRing, target: string, expiresSec: number, keyIdOrNewest?: string): string {
  const keyId = keyIdOrNewest === undefined ? keys.ids[keys.ids.length - 1] : keyIdOrNewest;
  if (keyId === undefined) throw new Error('no signing key');
  const payload = tokenPayload(keyId, target, expiresSec);
  const sig = keys.sign(keyId, payload);
  if (sig === undefined) throw new Error(`key ${keyId} is unknown or retired`);
  return `${payload}.${sig}`;
}
