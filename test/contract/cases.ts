// The routing contract: one table of cases that every runtime must decide the same way (the core now;
// the Lambda@Edge and CloudFront Functions bundles run the same table). Config: examples/router.config.json
// (us-east-1, eu-central-1, ap-northeast-2, sa-east-1; staging; residency eu = DE FR IT ES NL → eu-central-1).
import type { Facts, HealthDoc, Reason, RegionHealth } from '../../shared';
import { docWith } from '../helpers/load';

export interface ContractCase {
  readonly name: string;
  readonly facts: Facts;
  /** region changes applied to examples/health.json; null: no document at all */
  readonly doc: Record<string, Partial<RegionHealth>> | null;
  readonly expect: { readonly target: string; readonly reason: Reason };
}

const down = { status: 'down' } as const;
const allDown = { 'us-east-1': down, 'eu-central-1': down, 'ap-northeast-2': down, 'sa-east-1': down };

export const CASES: readonly ContractCase[] = [
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
];

export function docFor(c: ContractCase): HealthDoc | null {
  return c.doc === null ? null : docWith(c.doc);
}
