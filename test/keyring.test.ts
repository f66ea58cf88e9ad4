// The Node.js key ring's cache of well-signed values (lib/keyring.ts): a value seen before is answered without an
// HMAC, the cache stays within its bound, and what it caches never widens what is accepted: kind, expiry, lifetime
// and target are checked on every request, and only well-signed values enter. node:crypto's createHmac is observed
// (not replaced) to count HMACs.
import { keyRing } from '../lib/keyring';
import { AFFINITY_KIND, checkSigned, mintAffinity, mintToken, TOKEN_KIND } from '../shared';
import { NOW, TEST_KEYS } from './helpers/keys';

// the module object itself (an ES namespace import would be a copy the spy does not reach)
const hmac = jest.spyOn(require('node:crypto') as typeof import('node:crypto'), 'createHmac');
afterAll(() => hmac.mockRestore());

const SEC = Math.floor(NOW / 1000);
const TTL = 3600;
const mint = (region: string, keyId = 'k2') => mintAffinity(keyRing(TEST_KEYS, 0), region, SEC + 300, keyId);

beforeEach(() => hmac.mockClear());

test('a value checked before costs no HMAC; another value does, and a new ring starts empty', () => {
  const value = mint('us-east-1', 'k1');
  const other = mint('us-east-1', 'k2');
  hmac.mockClear();
  const ring = keyRing(TEST_KEYS);
  for (let i = 0; i < 5; i++) {
    expect(checkSigned(AFFINITY_KIND, value, NOW, ring, TTL)).toMatchObject({
      ok: true,
      subject: 'us-east-1',
    });
  }
  expect(hmac).toHaveBeenCalledTimes(1);
  expect(checkSigned(AFFINITY_KIND, other, NOW, ring, TTL)).toMatchObject({ ok: true, keyId: 'k2' });
  expect(hmac).toHaveBeenCalledTimes(2);
  // a ring is a container's loaded keys: new keys, a new ring, nothing trusted from before
  expect(checkSigned(AFFINITY_KIND, value, NOW, keyRing(TEST_KEYS), TTL).ok).toBe(true);
  expect(hmac).toHaveBeenCalledTimes(3);
  // without a cache, every check computes
  const none = keyRing(TEST_KEYS, 0);
  checkSigned(AFFINITY_KIND, value, NOW, none, TTL);
  checkSigned(AFFINITY_KIND, value, NOW, none, TTL);
  expect(hmac).toHaveBeenCalledTimes(5);
});

test('a cached value is still checked for kind, expiry, lifetime and target on every request', () => {
  // (checked once, accepted, then cached: every check below answers from the cache)
  const ring = keyRing(TEST_KEYS);
  const value = mint('eu-central-1');
  const token = mintToken(ring, 'staging', SEC + 300);
  expect(checkSigned(AFFINITY_KIND, value, NOW, ring, TTL).ok).toBe(true);
  expect(checkSigned(TOKEN_KIND, token, NOW, ring, TTL, 'staging').ok).toBe(true);
  hmac.mockClear();
  expect(checkSigned(AFFINITY_KIND, value, NOW + 301_000, ring, TTL)).toEqual({
    ok: false,
    cause: 'expired',
    keyId: 'k2',
    subject: 'eu-central-1',
  });
  expect(checkSigned(AFFINITY_KIND, value, NOW, ring, 60)).toMatchObject({
    ok: false,
    cause: 'too-long-lived',
  });
  // an affinity value never stands in for a token, nor the reverse, cached or not
  expect(checkSigned(TOKEN_KIND, value, NOW, ring, TTL)).toEqual({ ok: false, cause: 'malformed' });
  expect(checkSigned(AFFINITY_KIND, token, NOW, ring, TTL)).toEqual({ ok: false, cause: 'malformed' });
  expect(checkSigned(TOKEN_KIND, token, NOW, ring, TTL, 'eu-central-1')).toMatchObject({
    ok: false,
    cause: 'other-target',
  });
  expect(hmac).not.toHaveBeenCalled();
});

test('forged values are computed each time and never enter the cache', () => {
  const ring = keyRing(TEST_KEYS);
  const value = mint('eu-central-1');
  const forged = `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`;
  hmac.mockClear();
  for (let i = 0; i < 3; i++) {
    expect(checkSigned(AFFINITY_KIND, forged, NOW, ring, TTL)).toMatchObject({
      ok: false,
      cause: 'bad-signature',
    });
  }
  expect(hmac).toHaveBeenCalledTimes(3);
  // and the real one, checked after, is well signed
  expect(checkSigned(AFFINITY_KIND, value, NOW, ring, TTL).ok).toBe(true);
});

test('retired and unknown keys verify nothing, and cost no HMAC', () => {
  const ring = keyRing(TEST_KEYS);
  const unknown = mint('us-east-1').replace('.k2.', '.nope.');
  hmac.mockClear();
  expect(ring.sign('old', 'ea1.old.us-east-1.1')).toBeUndefined();
  expect(checkSigned(AFFINITY_KIND, unknown, NOW, ring, TTL)).toMatchObject({
    ok: false,
    cause: 'unknown-key',
  });
  expect(hmac).not.toHaveBeenCalled();
});

test('the cache keeps at most its bound: past it, the oldest value is checked again', () => {
  const ring = keyRing(TEST_KEYS, 2);
  const values = ['us-east-1', 'eu-central-1', 'ap-northeast-2'].map((r) => mint(r));
  hmac.mockClear();
  for (const v of values) checkSigned(AFFINITY_KIND, v, NOW, ring, TTL);
  expect(hmac).toHaveBeenCalledTimes(3);
  // the last two are remembered; the first went when the third came
  checkSigned(AFFINITY_KIND, values[2], NOW, ring, TTL);
  checkSigned(AFFINITY_KIND, values[1], NOW, ring, TTL);
  expect(hmac).toHaveBeenCalledTimes(3);
  expect(checkSigned(AFFINITY_KIND, values[0], NOW, ring, TTL).ok).toBe(true);
  expect(hmac).toHaveBeenCalledTimes(4);
});
