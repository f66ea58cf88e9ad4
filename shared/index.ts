// The routing core: pure, no I/O. Runtimes (functions/*, cli/) plan once per health document, adapt each request
// to Facts, pick, and apply the Decision.

export type { Origin, RouterConfig, RouterConfigInput } from './config-schema';
export { parseRouterConfig } from './config-schema';
export { AWS_REGIONS, COUNTRIES } from './geo-data';
export { bucket, fnv1a32 } from './hash';
export { type Ip, parseIp } from './net';
export {
  type AffinityCause,
  type AffinityOutcome,
  type Decision,
  errorDecision,
  type Facts,
  needsKeys,
  OVERRIDE_COOKIE,
  OVERRIDE_HEADER,
  type OverrideOutcome,
  type PickContext,
  type Placement,
  pick,
  place,
  type Reason,
  TOKEN_HEADER,
  targetOf,
} from './pick';
export { type DocInput, fingerprint, type Plan, plan } from './plan';
export { route } from './route';
export {
  compileRouter,
  type ResolvedOrigin,
  type Router,
  type RouteTable,
  type Target,
} from './router';
export type { HealthDoc, KeysDoc, RegionHealth, SigningKey } from './schema';
export {
  AFFINITY_KIND,
  checkSigned,
  constantTimeEqual,
  type KeyRing,
  mintAffinity,
  mintToken,
  refusal,
  type SignedCause,
  TOKEN_KIND,
} from './token';
export {
  jsonPath,
  type Parsed,
  type Problem,
  parseHealthDoc,
  parseHealthDocText,
  parseJsonText,
} from './validate';
export { fallbackWalk, type Walk } from './walk';
