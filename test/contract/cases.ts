// The routing contract: one table of cases that every runtime must decide the same way (the core, the Lambda@Edge
// bundle, and the CloudFront Functions bundle when it lands). Config: examples/router.config.json (us-east-1,
// eu-central-1, ap-northeast-2, sa-east-1; staging; residency eu = DE FR IT ES NL → eu-central-1; network routes
// 10.8.0.0/16 + 2001:db8:8::/48 → ap-northeast-2 and 10.9.0.0/16 → staging; override.allowCidrs = both VPNs).
// Runtimes get the signing keys of test/helpers/keys.ts and the request time NOW. Region affinity: cookie
// route_affinity (300 s, after writes) and home-region header x-home-region.
import {
  AFFINITY_KIND,
  checkSigned,
  type Facts,
  type HealthDoc,
  type Reason,
  type RegionHealth,
} from '../../shared';
import { affinity, affinityRetired, NOW, TEST_RING, token } from '../helpers/keys';
import { docWith } from '../helpers/load';

export interface ContractCase {
  readonly name: string;
  readonly facts: Facts;
  /** region changes applied to examples/health.json; null: no document at all */
  readonly doc: Record<string, Partial<RegionHealth>> | null;
  /** the document's canary, if any */
  readonly canary?: HealthDoc['canary'];
  readonly expect: {
    readonly target: string;
    readonly reason: Reason;
    /** the region the issued affinity cookie names; absent: no cookie is issued */
    readonly sets?: string;
  };
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
    // region affinity: override > network > affinity > canary > geo (README, "How a request is routed")
    {
      name: 'affinity: a US viewer with a Seoul cookie reads from Seoul',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'affinity' },
    },
    {
      name: 'affinity comes before the dial: Seoul at dial 0 keeps the viewers who wrote there',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: { 'ap-northeast-2': { dial: 0 } },
      expect: { target: 'ap-northeast-2', reason: 'affinity' },
    },
    {
      name: 'affinity may hold a viewer on a standby region that is up',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: { 'ap-northeast-2': { role: 'standby' } },
      expect: { target: 'ap-northeast-2', reason: 'affinity' },
    },
    {
      name: 'a cookie for a down region is ignored',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: { 'ap-northeast-2': down },
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'a cookie for a pilot region is ignored',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: { 'ap-northeast-2': { role: 'pilot' } },
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: "residency: a German viewer's Seoul cookie is ignored",
      facts: { country: 'DE', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: {},
      expect: { target: 'eu-central-1', reason: 'nearest' },
    },
    {
      name: 'an expired cookie is ignored',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2', -1) } },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'a cookie that outlives ttlSeconds is ignored',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2', 3600) } },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'a cookie signed with the other active key works (rotation)',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-northeast-2', 300, 'k1') } },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'affinity' },
    },
    {
      name: 'a cookie signed with a retired key is ignored',
      facts: { country: 'US', cookies: { route_affinity: affinityRetired('ap-northeast-2') } },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'a forged cookie (another region, the signature kept) is ignored',
      facts: {
        country: 'US',
        cookies: { route_affinity: affinity('eu-central-1').replace('eu-central-1', 'ap-northeast-2') },
      },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'an oversized cookie is ignored',
      facts: {
        country: 'US',
        cookies: { route_affinity: `${affinity('ap-northeast-2')}${'A'.repeat(4000)}` },
      },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'a signed cookie for a region not configured is ignored',
      facts: { country: 'US', cookies: { route_affinity: affinity('ap-south-1') } },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'an override token is not an affinity cookie',
      facts: { country: 'US', cookies: { route_affinity: token('ap-northeast-2') } },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'an affinity value is not an override token',
      facts: {
        country: 'US',
        ip: '203.0.113.9',
        headers: { 'x-route-to': 'ap-northeast-2', 'x-route-token': affinity('ap-northeast-2') },
      },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: "the application's signed home-region header",
      facts: { country: 'US', headers: { 'x-home-region': affinity('eu-central-1', 3600) } },
      doc: {},
      expect: { target: 'eu-central-1', reason: 'affinity' },
    },
    {
      name: 'an unsigned home-region header is ignored',
      facts: { country: 'US', headers: { 'x-home-region': 'eu-central-1' } },
      doc: {},
      expect: { target: 'us-east-1', reason: 'nearest' },
    },
    {
      name: 'the cookie (the latest write) comes before the home-region header',
      facts: {
        country: 'US',
        headers: { 'x-home-region': affinity('eu-central-1', 3600) },
        cookies: { route_affinity: affinity('ap-northeast-2') },
      },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'affinity' },
    },
    {
      name: 'the home-region header when the cookie is ignored',
      facts: {
        country: 'US',
        headers: { 'x-home-region': affinity('eu-central-1', 3600) },
        cookies: { route_affinity: affinity('ap-northeast-2', -1) },
      },
      doc: {},
      expect: { target: 'eu-central-1', reason: 'affinity' },
    },
    {
      name: 'a network route comes before affinity',
      facts: { country: 'KR', ip: '10.8.0.9', cookies: { route_affinity: affinity('us-east-1') } },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'network' },
    },
    {
      name: 'an authorised override comes before affinity',
      facts: {
        country: 'KR',
        ip: '203.0.113.9',
        headers: { 'x-route-to': 'sa-east-1', 'x-route-token': token('sa-east-1') },
        cookies: { route_affinity: affinity('us-east-1') },
      },
      doc: {},
      expect: { target: 'sa-east-1', reason: 'override' },
    },
    {
      name: 'affinity, then the canary: a canary viewer stays on the canary of its affinity region',
      facts: { country: 'US', ip: '198.51.100.1', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: {},
      canary: { percent: 100 },
      expect: { target: 'ap-northeast-2', reason: 'canary' },
    },
    {
      name: 'a write is answered with a cookie for the region that served it',
      facts: { country: 'KR', method: 'POST' },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest', sets: 'ap-northeast-2' },
    },
    {
      name: 'a read is not (after: writes)',
      facts: { country: 'KR', method: 'GET' },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'nearest' },
    },
    {
      name: 'a write with a cookie refreshes it',
      facts: { country: 'US', method: 'PUT', cookies: { route_affinity: affinity('ap-northeast-2', 10) } },
      doc: {},
      expect: { target: 'ap-northeast-2', reason: 'affinity', sets: 'ap-northeast-2' },
    },
    {
      name: 'a write after the region went down: served elsewhere, and the cookie names the new region',
      facts: { country: 'KR', method: 'DELETE', cookies: { route_affinity: affinity('ap-northeast-2') } },
      doc: { 'ap-northeast-2': down },
      expect: { target: 'us-east-1', reason: 'failover', sets: 'us-east-1' },
    },
    {
      name: 'a write to an environment sets no cookie',
      facts: { country: 'KR', ip: '10.9.0.1', method: 'PATCH' },
      doc: {},
      expect: { target: 'staging', reason: 'network' },
    },
  ] as ContractCase[]
).map((c) => ({ ...c, facts: { now: NOW, ...c.facts } }));

export function docFor(c: ContractCase): HealthDoc | null {
  if (c.doc === null) return null;
  const doc = docWith(c.doc);
  return c.canary ? { ...doc, canary: c.canary } : doc;
}

/**
 * What a runtime issued as the affinity cookie, as the contract states it: the region it names when its signature
 * checks and it lasts exactly ttlSeconds (300) from NOW; "invalid: …" otherwise; undefined when nothing was issued.
 */
export function issuedRegion(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const c = checkSigned(AFFINITY_KIND, value, NOW, TEST_RING, 300);
  if (!c.ok) return `invalid: ${c.cause}`;
  return c.expires === Math.floor(NOW / 1000) * 1000 + 300_000 ? c.subject : `invalid: expires ${c.expires}`;
}

/** A runtime's decision in the contract's terms. */
export function outcome(target: string, reason: string, issued: string | undefined) {
  const sets = issuedRegion(issued);
  return sets === undefined ? { target, reason } : { target, reason, sets };
}
