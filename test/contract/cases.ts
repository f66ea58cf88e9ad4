// The routing contract: one table of cases that every runtime must decide the same way (the core, the Lambda@Edge
// bundle, and the CloudFront Functions bundle when it lands). Config: examples/router.config.json (us-east-1,
// eu-central-1, ap-northeast-2, sa-east-1; staging; residency eu = DE FR IT ES NL → eu-central-1; network routes
// 10.8.0.0/16 + 2001:db8:8::/48 → ap-northeast-2 and 10.9.0.0/16 → staging; override.allowCidrs = both VPNs).
// Runtimes get the signing keys of test/helpers/keys.ts and the request time NOW.
import type { Facts, HealthDoc, Reason, RegionHealth } from '../../shared';
import { NOW, token } from '../helpers/keys';
import { docWith } from '../helpers/load';

export interface ContractCase {
  readonly name: string;
  readonly facts: Facts;
  /** region changes applied to examples/health.json; null: no document at all */
  readonly doc: Record<string, Partial<RegionHealth>> | null;
  /** the document's canary, if any */
  readonly canary?: HealthDoc['canary'];
  readonly expect: { readonly target: string; readonly reason: Reason };
}

const down = { status: 'down' } as const;
const allDown = { 'us-east-1': down, 'eu-central-1': down, 'ap-northeast-2': down, 'sa-east-1': down };

export const CASES: readonly ContractCase[] = (
  [
    {
      name: 'Korea goes to Seoul',
      facts: { country: 'KR' },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'Japan goes to Seoul',
      facts: { country: 'JP' },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'the US goes to Virginia',
      facts: { country: 'US' },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'Brazil goes to São Paulo',
      facts: { country: 'BR' },
      doc: {},
      expect: { target: 'sa-east-1', reason: 'nearest' },
    },
    {
      name: 'Germany goes to Frankfurt',
      facts: { country: 'DE' },
      doc: {},
      expect: { target: 'eu-central-1', reason: 'nearest' },
    },
    {
      name: 'a lower-case country code',
      facts: { country: 'kr' },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'no document: every region up',
      facts: { country: 'KR' },
      doc: null,
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'Seoul down: Korea fails over to Virginia (next by p50 latency)',
      facts: { country: 'KR' },
      doc: { 'ap-northeast-2': down },
      expect: { target: 'us-east-1', reason: 'failover' },
    },
    {
      name: 'Frankfurt down: the UK (no residency) fails over to Virginia',
      facts: { country: 'GB' },
      doc: { 'eu-central-1': down },
      expect: { target: 'us-east-1', reason: 'failover' },
    },
    {
      name: 'Frankfurt down: Germany stays in the residency set (fail-open)',
      facts: { country: 'DE' },
      doc: { 'eu-central-1': down },
      expect: { target: 'eu-central-1', reason: 'fail-open' },
    },
    {
      name: 'residency holds for lat/lon viewers too',
      facts: { country: 'FR', lat: 48.85, lon: 2.35 },
      doc: { 'eu-central-1': down },
      expect: { target: 'eu-central-1', reason: 'fail-open' },
    },
    {
      name: 'everything down: fail open to the best-ranked region',
      facts: { country: 'KR' },
      doc: allDown,
      expect: { target: 'ap-northeast-2', reason: 'fail-open' },
    },
    {
      name: 'standby is held back while an active region is up',
      facts: { country: 'BR' },
      doc: { 'sa-east-1': { role: 'standby' } },
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'standby takes over when no active region is up',
      facts: { country: 'BR' },
      doc: { ...allDown, 'sa-east-1': { role: 'standby' } },
      expect: { target: 'sa-east-1', reason: 'standby' },
    },
    {
      name: 'a pilot light is never chosen automatically',
      facts: { country: 'BR' },
      doc: { 'sa-east-1': { role: 'pilot' }, 'us-east-1': down },
      expect: { target: 'eu-central-1', reason: 'failover' },
    },
    {
      name: 'dial 0 drains Seoul',
      facts: { country: 'KR', ip: '203.0.113.7' },
      doc: { 'ap-northeast-2': { dial: 0 } },
      expect: { target: 'us-east-1', reason: 'dial-spill' },
    },
    {
      name: 'dial 0 on the only residency region cannot send Germans away',
      facts: { country: 'DE', ip: '203.0.113.7' },
      doc: { 'eu-central-1': { dial: 0 } },
      expect: { target: 'eu-central-1', reason: 'nearest' },
    },
    {
      name: 'latitude/longitude place the viewer (Seoul)',
      facts: { lat: 37.57, lon: 126.98 },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'latitude/longitude win over the country for ranking',
      facts: { country: 'US', lat: 50.11, lon: 8.68 },
      doc: {},
      expect: { target: 'eu-central-1', reason: 'nearest' },
    },
    {
      name: 'no geography: the fallback region',
      facts: {},
      doc: {},
      expect: { target: 'us-east-1', reason: 'no-geo' },
    },
    {
      name: 'an unknown country code is no geography',
      facts: { country: 'ZZ' },
      doc: {},
      expect: { target: 'us-east-1', reason: 'no-geo' },
    },
    {
      name: 'no geography, fallback down: the next region from it',
      facts: {},
      doc: { 'us-east-1': down },
      expect: { target: 'eu-central-1', reason: 'no-geo' },
    },
    {
      name: 'Taiwan is placed',
      facts: { country: 'TW' },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'Kosovo is placed',
      facts: { country: 'XK' },
      doc: {},
      expect: { target: 'eu-central-1', reason: 'nearest' },
    },
    // network routes: the VPN decides
    {
      name: 'the staging VPN reaches staging without sending anything',
      facts: { country: 'KR', ip: '10.9.3.4' },
      doc: {},
      expect: { target: 'staging', reason: 'network' },
    },
    {
      name: 'the Seoul QA VPN over IPv6 reaches Seoul, even when it is down',
      facts: { country: 'US', ip: '2001:db8:8:1::10' },
      doc: { 'ap-northeast-2': down },
      expect: { target: 'ap-northeast-2', reason: 'network' },
    },
    {
      name: 'an IPv4-mapped IPv6 address matches the IPv4 network',
      facts: { country: 'US', ip: '::ffff:10.9.0.1' },
      doc: {},
      expect: { target: 'staging', reason: 'network' },
    },
    {
      name: 'just outside a VPN network: geography',
      facts: { country: 'KR', ip: '10.10.0.0' },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    // overrides: the QA engineer decides, when authorised
    {
      name: 'from the VPN, x-route-to picks a region (override beats the network route)',
      facts: { country: 'KR', ip: '10.9.3.4', headers: { 'x-route-to': 'eu-central-1' } },
      doc: {},
      expect: { target: 'eu-central-1', reason: 'override' },
    },
    {
      name: 'from the VPN, the route_to cookie works too',
      facts: { country: 'KR', ip: '10.8.0.1', cookies: { route_to: 'staging' } },
      doc: {},
      expect: { target: 'staging', reason: 'override' },
    },
    {
      name: 'an override may name a down pilot region (QA tests it)',
      facts: { country: 'KR', ip: '10.8.0.1', headers: { 'x-route-to': 'sa-east-1' } },
      doc: { 'sa-east-1': { status: 'down', role: 'pilot' } },
      expect: { target: 'sa-east-1', reason: 'override' },
    },
    {
      name: 'from the public internet, x-route-to is ignored',
      facts: { country: 'KR', ip: '203.0.113.9', headers: { 'x-route-to': 'staging' } },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'from the public internet with a valid token: honoured',
      facts: {
        country: 'KR',
        ip: '203.0.113.9',
        headers: { 'x-route-to': 'staging', 'x-route-token': token('staging') },
      },
      doc: {},
      expect: { target: 'staging', reason: 'override' },
    },
    {
      name: 'a token for any target (*)',
      facts: {
        country: 'DE',
        ip: '203.0.113.9',
        headers: { 'x-route-to': 'us-east-1', 'x-route-token': token('*') },
      },
      doc: {},
      expect: { target: 'us-east-1', reason: 'override' },
    },
    {
      name: 'a token for eu-central-1 cannot be used for staging',
      facts: {
        country: 'KR',
        ip: '203.0.113.9',
        headers: { 'x-route-to': 'staging', 'x-route-token': token('eu-central-1') },
      },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'an expired token is ignored',
      facts: {
        country: 'KR',
        ip: '203.0.113.9',
        headers: { 'x-route-to': 'staging', 'x-route-token': token('staging', -1) },
      },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'a token signed with the other active key works (rotation)',
      facts: {
        country: 'KR',
        ip: '203.0.113.9',
        headers: { 'x-route-to': 'staging', 'x-route-token': token('staging', 600, 'k1') },
      },
      doc: {},
      expect: { target: 'staging', reason: 'override' },
    },
    {
      name: 'an override naming something not configured is ignored, even from the VPN',
      facts: { country: 'KR', ip: '10.8.0.1', headers: { 'x-route-to': 'api.evil.example.com' } },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'network' },
    },
    // canaries: Seoul and Frankfurt have a canaryOrigin
    {
      name: 'canary at 100%: every Korean viewer reaches the Seoul canary',
      facts: { country: 'KR', ip: '198.51.100.1' },
      doc: {},
      canary: { percent: 100 },
      expect: { target: 'ap-northeast-2', reason: 'canary' },
    },
    {
      name: 'canary at 0%: nobody',
      facts: { country: 'KR', ip: '198.51.100.1' },
      doc: {},
      canary: { percent: 0 },
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'a region without a canaryOrigin has no canary',
      facts: { country: 'US', ip: '198.51.100.1' },
      doc: {},
      canary: { percent: 100 },
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'canaryStatus down sends nobody to the canary',
      facts: { country: 'KR', ip: '198.51.100.1' },
      doc: { 'ap-northeast-2': { canaryStatus: 'down' } },
      canary: { percent: 100 },
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'a canary limited to other regions',
      facts: { country: 'KR', ip: '198.51.100.1' },
      doc: {},
      canary: { percent: 100, regions: ['eu-central-1'] },
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'a failover region may be in the canary',
      facts: { country: 'GB', ip: '198.51.100.1' },
      doc: { 'us-east-1': { status: 'down' } },
      canary: { percent: 100 },
      expect: { target: 'eu-central-1', reason: 'canary' },
    },
    {
      name: 'a schedule: the last step whose time has passed (NOW is 2027-01-15T08:00Z)',
      facts: { country: 'KR', ip: '198.51.100.1' },
      doc: {},
      canary: {
        percent: 0,
        schedule: [
          { at: '2027-01-15T07:00:00Z', percent: 100 },
          { at: '2027-01-15T09:00:00Z', percent: 0 },
        ],
      },
      expect: { target: 'ap-northeast-2', reason: 'canary' },
    },
    {
      name: 'a network route is not split by the canary',
      facts: { country: 'KR', ip: '10.8.0.9' },
      doc: {},
      canary: { percent: 100 },
      expect: { target: 'ap-northeast-2', reason: 'network' },
    },
  ] as ContractCase[]
).map((c) => ({ ...c, facts: { now: NOW, ...c.facts } }));

export function docFor(c: ContractCase): HealthDoc | null {
  if (c.doc === null) return null;
  const doc = docWith(c.doc);
  return c.canary ? { ...doc, canary: c.canary } : doc;
}
