// Signed values, one format for two uses, told apart by their first field:
// - override tokens (x-route-token): `er1.<key id>.<target or *>.<expiry, unix seconds>.<signature>`;
// - region affinity (the affinity cookie and the home-region header): `ea1.<key id>.<region>.<expiry>.<signature>`.
// The signature is base64url(HMAC-SHA256(key, "<kind>.<key id>.<subject>.<expiry>")): the kind is signed, so an
// affinity cookie (handed to every viewer who writes) can never stand in for an override token, nor the reverse.
// The HMAC itself is the runtime's (node:crypto in Lambda@Edge and the CLI; the `crypto` module in CloudFront
// Functions), behind KeyRing, so that this file stays pure. Keys live in a private object next to the health
// document, never in a bundle.

/** The signing keys a runtime loaded: the HMAC of a payload under a key id, or undefined for an unknown or retired key. */
export interface KeyRing {
  sign(keyId: string, payload: string): string | undefined;
  /** ids of the keys that sign (for minting: the newest is last) */
  readonly ids: readonly string[];
  /**
   * Values this ring accepted, by value: a bounded cache that lasts as long as the ring (a container's loaded keys,
   * lib/keyring.ts). Its signature is not computed again; its times and target are checked on every request.
   * Absent where state lasts one request (CloudFront Functions).
   */
  readonly verified?: VerifiedCache;
}

/**
 * A signed value's fields as SIGNED reads them: [value, kind, key id, subject, expiry in seconds, signature].
 */
export type Fields = readonly string[];

/** Accepted values and their fields (lib/keyring.ts bounds it). */
export interface VerifiedCache {
  get(value: string): Fields | undefined;
  set(value: string, fields: Fields): void;
}

export type SignedKind = 'er1' | 'ea1';
export const TOKEN_KIND: SignedKind = 'er1';
export const AFFINITY_KIND: SignedKind = 'ea1';

const SIGNED = /^(er1|ea1)\.([\w-]{1,32})\.(\*|[a-z][a-z0-9-]{0,62})\.(\d{1,12})\.([\w-]{43})$/;
/** Longer values are refused unread (the longest well-formed one is 155 characters). */
export const MAX_TOKEN_LENGTH = 160;

/**
 * Why a signed value was refused, in a word: for metrics, and, with the key id, for the operator's log. no-keys: the
 * keys could not be loaded; unknown-key: not a current key (unknown, or retired); other-target: a token for another
 * target than the one asked for.
 */
export type SignedCause =
  | 'malformed'
  | 'no-keys'
  | 'unknown-key'
  | 'bad-signature'
  | 'expired'
  | 'too-long-lived'
  | 'other-target';

export type SignedCheck =
  | { readonly ok: true; readonly keyId: string; readonly subject: string; readonly expires: number }
  | {
      readonly ok: false;
      readonly cause: SignedCause;
      /** the key it names, once it is well formed */
      readonly keyId?: string;
      /** what a well-signed value names, when only its time is wrong (expired, too long-lived) */
      readonly subject?: string;
    };

/** Compares two strings in time that depends on their length only. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Whether a value has the shape of a signed value of `kind` (signature not checked): what a response may echo. */
export function looksSigned(kind: SignedKind, value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_TOKEN_LENGTH) return false;
  const m = SIGNED.exec(value);
  return m !== null && m[1] === kind && m[3] !== '*';
}

/**
 * Checks a signed value of one kind: well formed, signed by a current key (constant-time compare), not expired, not
 * expiring more than maxTtlSeconds from now, and, given a target, naming it (or `*`, any target). Never throws.
 */
export function checkSigned(
  kind: SignedKind,
  value: unknown,
  nowMs: number,
  keys: KeyRing | undefined,
  maxTtlSeconds: number,
  target?: string,
): SignedCheck {
  let hit: Fields | undefined;
  // a value this ring accepted before: its fields, its signature known good (FAST: CloudFront Functions have no cache)
  FAST: hit = keys && keys.verified && typeof value === 'string' ? keys.verified.get(value) : undefined;
  const m =
    hit || (typeof value === 'string' && value.length <= MAX_TOKEN_LENGTH ? SIGNED.exec(value) : null);
  if (!m || m[1] !== kind) return { ok: false, cause: 'malformed' };
  const keyId = m[2];
  const subject = m[3];
  // what was signed: the value up to its signature, as written (a value with its expiry spelled otherwise fails)
  const expected = hit ? m[5] : keys ? keys.sign(keyId, m[0].slice(0, -44)) : undefined;
  const expires = Number(m[4]) * 1000;
  // what is wrong with its time, if anything (each cause spelled once: the CloudFront Functions file counts bytes)
  const late: SignedCause | undefined = !(nowMs < expires)
    ? 'expired'
    : expires - nowMs > maxTtlSeconds * 1000
      ? 'too-long-lived'
      : undefined;
  const cause: SignedCause | undefined = !keys
    ? 'no-keys'
    : expected === undefined
      ? 'unknown-key'
      : !constantTimeEqual(expected, m[5])
        ? 'bad-signature'
        : late ||
          (target !== undefined && subject !== '*' && subject !== target ? 'other-target' : undefined);
  if (cause === undefined) {
    FAST: if (!hit && keys && keys.verified) keys.verified.set(m[0], m);
    return { ok: true, keyId, subject, expires };
  }
  // what a well-signed value names, when only its time is wrong
  return {
    ok: false,
    cause,
    keyId,
    subject: cause === late ? subject : undefined,
  };
}

/** A refusal in words, for the operator: the cause, and the key it names. */
export function refusal(c: { readonly cause: SignedCause; readonly keyId?: string }): string {
  return c.keyId === undefined ? c.cause : `${c.cause} (key ${c.keyId})`;
}

/** A signed value for `subject`, signed with the newest key of the ring. Throws without a current key. */
export function mintSigned(kind: SignedKind, keys: KeyRing, subject: string, expiresSec: number): string {
  const keyId = keys.ids[keys.ids.length - 1];
  const payload = `${kind}.${keyId}.${subject}.${expiresSec}`;
  const sig = keyId === undefined ? undefined : keys.sign(keyId, payload);
  if (sig === undefined) throw new Error(`no current key ${keyId}`);
  return `${payload}.${sig}`;
}

/** The ring with only one of its keys signing (as the newest): to mint with a key of the operator's choosing. */
function withKey(keys: KeyRing, keyId: string | undefined): KeyRing {
  return keyId === undefined ? keys : { ids: [keyId], sign: keys.sign };
}

/** A token for `target` (or `*`), signed with `keyId` (default: the newest key). */
export function mintToken(keys: KeyRing, target: string, expiresSec: number, keyIdOrNewest?: string): string {
  return mintSigned(TOKEN_KIND, withKey(keys, keyIdOrNewest), target, expiresSec);
}

/** A region-affinity value (the affinity cookie, or an application's home-region header) for `region`. */
export function mintAffinity(
  keys: KeyRing,
  region: string,
  expiresSec: number,
  keyIdOrNewest?: string,
): string {
  return mintSigned(AFFINITY_KIND, withKey(keys, keyIdOrNewest), region, expiresSec);
}
