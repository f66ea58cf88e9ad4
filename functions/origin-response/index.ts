// Lambda@Edge origin-response entry: the config is baked in at build time (no environment variables at the edge).
import type { RouterConfig } from '../../shared/config-schema';
import { createHandler } from './handler';

declare const __EDGE_ROUTER_CONFIG__: RouterConfig;

const config = __EDGE_ROUTER_CONFIG__;
export const handler = createHandler({
  publicRegion: config.trace?.publicRegion === true,
  affinity: config.affinity && { cookie: config.affinity.cookie, ttlSeconds: config.affinity.ttlSeconds },
});
export { createHandler };
