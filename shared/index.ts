// The routing core: pure, no I/O. Runtimes (functions/*, cli/) adapt their input to Facts, call route(),
// and apply the Decision.
export { AWS_REGIONS, COUNTRIES } from './geo-data';
export { bucket, fnv1a32 } from './hash';
export { type Decision, type DocInput, errorDecision, type Facts, type Reason, route } from './route';
export { compileRouter, type Destination, type ResolvedOrigin, type Router, type Target } from './router';
export type { HealthDoc, Origin, RegionHealth, RouterConfig } from './schema';
export {
  jsonPath,
  type Parsed,
  type Problem,
  parseHealthDoc,
  parseHealthDocText,
  parseJsonText,
  parseRouterConfig,
} from './validate';
