// Signing keys for x-route-token and region affinity, on Node.js (Lambda@Edge, the CLI, the local edge):
// HMAC-SHA256 with node:crypto, and a bounded cache of the values found well signed, per ring (a container's keys).
import { createHmac, randomBytes } from 'node:crypto';
import type { KeysDoc } from '../shared/schema';
import type { Fields, KeyRing, VerifiedCache } from '../shared/token';

/**
 * How many well-signed values a ring remembers. A viewer's affinity cookie comes with each of its requests, and
 * checking it costs a regular expression, an HMAC and a compare (bench/route.bench.ts: route/affinity-cookie-*):
 * the cache answers a value seen before. Bounded, as every value comes from a viewer: past the bound, the oldest
 * entry goes. Only accepted values enter: a forged one is never cached, and costs its HMAC each time.
 */
export const VERIFIED_CACHE_SIZE = 8192;

/**
 * A KeyRing over the keys of a keys document; retired keys neither sign nor verify. The cache keeps the fields of
 * each value checkSigned accepted: their signature is not computed again, but kind, expiry, lifetime and target are
 * checked on every request. A new keys document makes a new ring, so a key retired since is not trusted from it.
 */
export function keyRing(doc: KeysDoc, cacheSize = VERIFIED_CACHE_SIZE): KeyRing {
  const secrets = new Map<string, Buffer>();
  for (const k of doc.keys) if (!k.retired) secrets.set(k.id, Buffer.from(k.secret, 'base64url'));
  return {
    ids: [...secrets.keys()],
    sign(keyId, payload) {
      const secret = secrets.get(keyId);
      return secret && createHmac('sha256', secret).update(payload).digest('base64url');
    },
    verified: cacheSize > 0 ? boundedCache(cacheSize) : undefined,
  };
}

/** A map of at most `size` entries: setting one more drops the oldest (insertion order). */
function boundedCache(size: number): VerifiedCache {
  const map = new Map<string, Fields>();
  return {
    get: (value) => map.get(value),
    set(value, fields) {
      if (map.size >= size) map.delete(map.keys().next().value as string);
      map.set(value, fields);
    },
  };
}

/** A new random 256-bit secret, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}
