// CloudFront Functions viewer-response entry (cloudfront-js-2.0): the affinity cookie's name and life are baked in
// by esbuild.config.mjs as the module `edge-router:baked`.
import { affinity } from 'edge-router:baked';
import { type CffResponse, type CffResponseEvent, respond } from './handler';

export function handler(event: CffResponseEvent): CffResponse {
  return respond(event, affinity);
}
