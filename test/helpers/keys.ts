// Signing keys for the tests (never used anywhere else): two active keys, as during a rotation, and a retired one.
import { keyRing } from '../../lib/keyring';
import { type KeysDoc, mintAffinity, mintToken } from '../../shared';

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

/** An affinity value (cookie or home-region header) for `region`, valid for `ttlSec` from NOW (negative: expired). */
export function affinity(region: string, ttlSec = 300, keyId = 'k2'): string {
  return mintAffinity(TEST_RING, region, Math.floor(NOW / 1000) + ttlSec, keyId);
}

/** An affinity value signed with the retired key `old` (as before a rotation retired it). */
export function affinityRetired(region: string, ttlSec = 300): string {
  const old = TEST_KEYS.keys.find((k) => k.id === 'old');
  const ring = keyRing({ version: 1, keys: [{ id: 'old', secret: String(old?.secret) }] });
  return mintAffinity(ring, region, Math.floor(NOW / 1000) + ttlSec, 'old');
}
