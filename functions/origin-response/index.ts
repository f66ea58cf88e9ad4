// Lambda@Edge origin-response entry: the config is baked in at build time (no environment variables at the edge).
import type { RouterConfig } from '../../shared/schema';
import { createHandler } from './handler';

declare const __EDGE_ROUTER_CONFIG__: RouterConfig;

export const handler = createHandler({ publicRegion: __EDGE_ROUTER_CONFIG__.trace?.publicRegion === true });
export { createHandler };
