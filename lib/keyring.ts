// Signing keys for x-route-token, on Node.js (Lambda@Edge, the CLI): HMAC-SHA256 with node:crypto.
import { createHmac, randomBytes } from 'node:crypto';
import type { KeysDoc } from '../shared/schema';
import type { KeyRing } from '../shared/token';

/** A KeyRing over the keys of a keys document; retired keys neither sign nor verify. */
export function keyRing(doc: KeysDoc): KeyRing {
  const secrets = new Map<string, Buffer>();
  for (const k of doc.keys) if (!k.retired) secrets.set(k.id, Buffer.from(k.secret, 'base64url'));
  return {
    ids: [...secrets.keys()],
    sign(keyId, payload) {
      const secret = secrets.get(keyId);
      return secret && createHmac('sha256', secret).update(payload).digest('base64url');
    },
  };
}

/** A new random 256-bit secret, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}
