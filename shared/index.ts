// The routing core: pure, no I/O. Runtimes (functions/*, cli/) adapt their input to Facts, call route(),
// and apply the Decision.
export { parseRouterConfig } from './config-schema';
export { AWS_REGIONS, COUNTRIES } from './geo-data';
export { bucket, fnv1a32 } from './hash';
export { type Ip, parseIp } from './net';
export {
  type AffinityCause,
  type AffinityOutcome,
  type Decision,
  type DocInput,
  errorDecision,
  type Facts,
  needsKeys,
  OVERRIDE_COOKIE,
  OVERRIDE_HEADER,
  type OverrideOutcome,
  type Reason,
  type RouteContext,
  route,
  TOKEN_HEADER,
} from './route';
export {
  compileRouter,
  type Destination,
  type ResolvedOrigin,
  type Router,
  type RouteTable,
  type Target,
} from './router';
export type {
  HealthDoc,
  KeysDoc,
  Origin,
  RegionHealth,
  RouterConfig,
  RouterConfigInput,
  SigningKey,
} from './schema';
export {
  AFFINITY_KIND,
  checkSigned,
  checkToken,
  constantTimeEqual,
  type KeyRing,
  mintAffinity,
  mintToken,
  type SignedCause,
  type TokenCheck,
} from './token';
export {
  jsonPath,
  type Parsed,
  type Problem,
  parseHealthDoc,
  parseHealthDocText,
  parseJsonText,
} from './validate';
