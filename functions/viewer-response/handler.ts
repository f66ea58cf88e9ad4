// CloudFront Functions viewer-response: sets the affinity cookie the viewer-request function signed, as the
// Lambda@Edge origin-response function does. Only adapts: which region, and when, was decided by shared/route.ts.
// CloudFront runs no viewer-response function when the origin answers 400 or above, so a failed write never sets one.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html
//
// Where the signed value comes from. The viewer-request function puts it on the request it sends (X-Route-Affinity).
// AWS documents the event's `request` as "the actual request that CloudFront received from the viewer", so this
// function may not see that header: an origin that echoes X-Route-Affinity back in its response makes it work
// either way (the demo backends do). Both places are safe to read: only a value shaped like a signed affinity value
// is ever set, and a viewer can only hand back values it was already given.
import { AFFINITY_HEADER, affinityAttributes, isAffinityValue, ROUTE_HEADER_PREFIX } from '../route-headers';

interface Field {
  value: string;
  multiValue?: { value: string }[];
}
interface CookieField {
  value: string;
  attributes?: string;
  multiValue?: { value: string; attributes?: string }[];
}
export interface CffResponse {
  statusCode: number;
  statusDescription?: string;
  headers: Record<string, Field>;
  cookies?: Record<string, CookieField>;
}
export interface CffResponseEvent {
  version: string;
  context?: Record<string, string>;
  request: { headers?: Record<string, Field> };
  response: CffResponse;
}

/** What the build bakes in: the affinity cookie's name and life, or null when affinity is off. */
export interface ResponseConfig {
  readonly cookie: string;
  readonly ttlSeconds: number;
}

/** The response: our x-route-* headers from the origin removed, the affinity cookie set when one was issued. */
export function respond(event: CffResponseEvent, affinity: ResponseConfig | null): CffResponse {
  const response = event.response;
  try {
    const headers = response.headers || {};
    const echoed = headers[AFFINITY_HEADER];
    const sent = event.request?.headers ? event.request.headers[AFFINITY_HEADER] : undefined;
    // an origin that echoes what it received must not show the topology to the public
    for (const name in headers) if (name.indexOf(ROUTE_HEADER_PREFIX) === 0) delete headers[name];
    const value = echoed && isAffinityValue(echoed.value) ? echoed.value : sent ? sent.value : undefined;
    if (affinity && isAffinityValue(value) && response.statusCode < 400) {
      if (!response.cookies) response.cookies = {};
      response.cookies[affinity.cookie] = { value, attributes: affinityAttributes(affinity.ttlSeconds) };
    }
  } catch (e) {
    // never an error for a cookie: the response goes out as the origin sent it
    console.log(JSON.stringify({ edgeRouter: 'affinity-failed', detail: String(e) }));
  }
  return response;
}
