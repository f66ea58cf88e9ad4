// Who may choose a target, and what cannot: precedence, tokens, and adversarial input.
import fc from 'fast-check';
import {
  checkSigned,
  constantTimeEqual,
  type Facts,
  type KeyRing,
  mintToken,
  parseIp,
  refusal,
  route,
} from '../shared';
import { matchCidr } from '../shared/net';
import { originOf } from '../shared/router';
import { TOKEN_KIND } from '../shared/token';
import { NOW, TEST_RING, token } from './helpers/keys';
import { docWith, exampleRouter } from './helpers/load';

const router = exampleRouter();
const PUBLIC_IP = '203.0.113.9';
const VPN_IP = '10.8.1.2';
const decide = (facts: Facts) =>
  route({ now: NOW, country: 'KR', ...facts }, docWith(), router, { keys: TEST_RING });
const outcome = (facts: Facts) => {
  const d = decide(facts);
  return { target: d.target.id, reason: d.reason };
};

describe('precedence: override > network route > geography', () => {
  test.each<[string, Facts, string, string]>([
    ['geography', { ip: PUBLIC_IP }, 'ap-northeast-2', 'nearest'],
    ['network route over geography', { ip: '10.9.0.1' }, 'staging', 'network'],
    [
      'override over network route',
      { ip: '10.9.0.1', headers: { 'x-route-to': 'us-east-1' } },
      'us-east-1',
      'override',
    ],
    [
      'token override over geography',
      { ip: PUBLIC_IP, headers: { 'x-route-to': 'staging', 'x-route-token': token('staging') } },
      'staging',
      'override',
    ],
    [
      'the header over the cookie',
      { ip: VPN_IP, headers: { 'x-route-to': 'us-east-1' }, cookies: { route_to: 'staging' } },
      'us-east-1',
      'override',
    ],
    [
      'override over residency (authorised, explicit)',
      { country: 'DE', ip: VPN_IP, headers: { 'x-route-to': 'us-east-1' } },
      'us-east-1',
      'override',
    ],
  ])('%s', (_name, facts, target, reason) => {
    expect(outcome(facts)).toEqual({ target, reason });
  });
});

describe('authorised viewers', () => {
  test('a VPN viewer is authorised (may see the trace) with or without an override', () => {
    expect(decide({ ip: VPN_IP }).authorised).toBe(true);
    expect(decide({ ip: PUBLIC_IP }).authorised).toBe(false);
  });

  test('a valid token alone authorises the viewer to see the trace, without changing the route', () => {
    const d = decide({ ip: PUBLIC_IP, headers: { 'x-route-token': token('staging') } });
    expect(d).toMatchObject({ authorised: true, reason: 'nearest', target: { id: 'ap-northeast-2' } });
  });

  test('the outcome says why, for the operator', () => {
    expect(decide({ ip: PUBLIC_IP, headers: { 'x-route-to': 'staging' } }).override).toEqual({
      requested: 'staging',
      from: 'header',
      honoured: false,
      why: 'no token, not in allowCidrs',
    });
    expect(decide({ ip: VPN_IP, cookies: { route_to: 'staging' } }).override).toMatchObject({
      from: 'cookie',
      honoured: true,
      why: 'allowCidrs',
    });
  });
});

/** A token checked for a target, in the words the override's outcome gives. */
function checkToken(
  t: string,
  target: string | undefined,
  now: number,
  keys: KeyRing | undefined,
  max: number,
) {
  const c = checkSigned(TOKEN_KIND, t, now, keys, max, target);
  return c.ok ? { ok: true } : { ok: false, why: refusal(c) };
}

describe('tokens', () => {
  const now = NOW;
  const check = (t: string, target?: string) => checkToken(t, target, now, TEST_RING, 7 * 86400);

  test('a token works until it expires, and fails after', () => {
    const t = token('staging', 60);
    expect(checkToken(t, 'staging', now + 59_000, TEST_RING, 86400).ok).toBe(true);
    expect(checkToken(t, 'staging', now + 60_000, TEST_RING, 86400)).toEqual({
      ok: false,
      why: 'expired (key k2)',
    });
  });

  test.each<[string, () => string, string | undefined, RegExp]>([
    ['for another target', () => token('eu-central-1'), 'staging', /^other-target \(key k2\)$/],
    [
      'signed with an unknown key',
      () => token('staging').replace('.k2.', '.k9.'),
      'staging',
      /^unknown-key \(key k9\)$/,
    ],
    ['signed with a retired key', () => mintRetired('staging'), 'staging', /^unknown-key \(key old\)$/],
    ['truncated', () => token('staging').slice(0, -1), 'staging', /malformed/],
    [
      'with a tampered target',
      () => token('eu-central-1').replace('eu-central-1', 'us-east-1'),
      'us-east-1',
      /^bad-signature \(key k2\)$/,
    ],
    [
      'with a tampered expiry',
      () => bumpExpiry(token('staging', 60)),
      'staging',
      /^bad-signature \(key k2\)$/,
    ],
    [
      'with a flipped signature character',
      () => flipLast(token('staging')),
      'staging',
      /^bad-signature \(key k2\)$/,
    ],
    ['expiring too far ahead', () => token('staging', 8 * 86400), 'staging', /^too-long-lived \(key k2\)$/],
    ['empty', () => '', 'staging', /malformed/],
    ['with a CR/LF', () => `${token('staging')}\r\nx: y`, 'staging', /malformed/],
    ['of another scheme', () => `Bearer ${token('staging')}`, 'staging', /malformed/],
    ['8 KB long', () => 'a'.repeat(8192), 'staging', /malformed/],
  ])('a token %s is refused', (_name, make, target, why) => {
    const r = check(make(), target);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.why).toMatch(why);
  });

  test('without keys no token is valid', () => {
    expect(checkToken(token('staging'), 'staging', now, undefined, 86400)).toEqual({
      ok: false,
      why: 'no-keys (key k2)',
    });
  });

  test('constantTimeEqual', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'ab')).toBe(false);
  });

  function mintRetired(target: string): string {
    // a ring that still has the retired key, as an attacker who kept it would
    const { createHmac } = require('node:crypto') as typeof import('node:crypto');
    const secret = Buffer.alloc(32, 3);
    return mintToken(
      { ids: ['old'], sign: (_k, p) => createHmac('sha256', secret).update(p).digest('base64url') },
      target,
      Math.floor(now / 1000) + 600,
      'old',
    );
  }
  function bumpExpiry(t: string): string {
    const parts = t.split('.');
    parts[3] = String(Number(parts[3]) + 3600);
    return parts.join('.');
  }
  function flipLast(t: string): string {
    return t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
  }
});

describe('adversarial overrides from the VPN (authorised): only exact configured ids', () => {
  test.each([
    ['CR/LF injection', 'staging\r\nX-Route-Authorised: 1'],
    ['a comma list (repeated headers joined)', 'staging,eu-central-1'],
    ['a repeated identical header', 'staging,staging'],
    ['unicode look-alike', 'stаging'],
    ['mixed case', 'Staging'],
    ['surrounding space', ' staging'],
    ['a domain name', 'api.staging.example.com'],
    ['a URL', 'https://api.staging.example.com/'],
    ['an IP', '203.0.113.50'],
    ['8 KB', 's'.repeat(8192)],
    ['empty', ''],
    ['__proto__', '__proto__'],
    ['an environment-like unknown', 'prod'],
  ])('%s is ignored', (_name, value) => {
    const d = decide({ ip: VPN_IP, headers: { 'x-route-to': value } });
    expect({ target: d.target.id, reason: d.reason }).toEqual({
      target: 'ap-northeast-2',
      reason: 'network',
    });
    expect(d.override).toMatchObject({ honoured: false, why: 'not configured' });
    expect(d.override?.requested.length).toBeLessThanOrEqual(64);
  });
});

describe('property: an unauthorised viewer cannot change its route with headers or cookies', () => {
  const targets = [...router.regions, ...router.environments];
  const value = fc.oneof(
    fc.constantFrom(...targets),
    fc.string(),
    fc.constantFrom('*', 'staging,staging', ''),
    // well-formed tokens that are not valid for this viewer: expired, wrong key, tampered
    fc.constantFrom(...targets).map((t) => token(t, -10)),
    fc.constantFrom(...targets).map((t) => token(t).replace('.k2.', '.zz.')),
    fc.constantFrom(...targets).map((t) => `${token(t).slice(0, -2)}AA`),
  );
  const names = fc.oneof(
    fc.constantFrom(
      'x-route-to',
      'x-route-token',
      'x-route-authorised',
      'x-route-region',
      'cookie',
      'x-forwarded-for',
    ),
    fc.string(),
  );
  const publicIp = fc.oneof(fc.ipV4(), fc.ipV6()).filter((ip) => !matchCidr(router.allow, parseIp(ip)));

  test('same target, reason and origin as without them', () => {
    fc.assert(
      fc.property(
        publicIp,
        fc.constantFrom('KR', 'DE', 'US', 'BR', 'GB'),
        fc.dictionary(names, value),
        fc.dictionary(fc.oneof(fc.constant('route_to'), fc.string()), value),
        (ip, country, headers, cookies) => {
          const base = route({ now: NOW, country, ip }, docWith(), router, { keys: TEST_RING });
          const d = route({ now: NOW, country, ip, headers, cookies }, docWith(), router, {
            keys: TEST_RING,
          });
          expect(d.target).toEqual(base.target);
          expect(d.reason).toBe(base.reason);
          expect(originOf(router, d)).toEqual(originOf(router, base));
          expect(d.authorised).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
