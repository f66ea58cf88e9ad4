// Signing keys for the tests (never used anywhere else): two active keys, as during a rotation, and a retired one.
import { keyRing } from '../../lib/keyring';
import { type KeysDoc, mintToken } from '../../shared';

export const TEST_KEYS: KeysDoc = {
  version: 1,
  keys: [
    { id: 'k1', secret: Buffer.alloc(32, 1).toString('base64url') },
    { id: 'k2', secret: Buffer.alloc(32, 2).toString('base64url') },
    { id: 'old', secret: Buffer.alloc(32, 3).toString('base64url'), retired: true },
  ],
};
export const TEST_RING = keyRing(TEST_KEYS);

/** The request time of the contract cases: 2027-01-15T08:00:00Z. */
export const NOW = Date.UTC(2027, 0, 15, 8);

/** A token for `target`, valid for `ttlSec` from NOW (negative: expired). */
export function token(target: string, ttlSec = 3600, keyId = 'k2'): string {
  return mintToken(TEST_RING, target, Math.floor(NOW / 1000) + ttlSec, keyId);
}
