// Lambda@Edge origin-response: shows the routing decision to those allowed to see it. The origin-request function
// put X-Route-Decision (and X-Route-Authorised for a viewer in override.allowCidrs or with a valid token) on the
// request it sent; this function reads them from the event's request and sets the viewer's response headers.
// Every x-route-* header the origin returned is removed first: an origin that echoes what it received must not
// show the topology to the public. With region affinity, it also sets the affinity cookie the origin-request
// function signed (X-Route-Affinity on the request) when the origin answered below 400: a failed write wrote
// nothing, and CloudFront runs no viewer-response function at 400 or above, so both runtimes agree.
import type { CloudFrontRequest, CloudFrontResponse, CloudFrontResponseEvent } from 'aws-lambda';
import {
  AFFINITY_HEADER,
  AUTHORISED_HEADER,
  affinityAttributes,
  DECISION_HEADER,
  decisionTarget,
  isAffinityValue,
  REGION_HEADER,
  ROUTE_HEADER_PREFIX,
} from '../route-headers';

export interface ResponseOptions {
  /** send x-route-region to every viewer (config trace.publicRegion) */
  readonly publicRegion: boolean;
  /** region affinity (config affinity): the cookie's name and life */
  readonly affinity?: { readonly cookie: string; readonly ttlSeconds: number };
  readonly log?: (line: string) => void;
  /**
   * Sees each response first, with the request the origin-request function sent (passive health, when one function
   * handles both events: functions/origin-request/index.ts). Must not throw; a throw is logged and ignored.
   */
  readonly observe?: (request: CloudFrontRequest, status: number) => void;
}

export function createHandler(opts: ResponseOptions) {
  // Lambda sends stdout to CloudWatch Logs
  const log = opts.log ?? ((line: string) => console.log(line));
  return async function handler(event: CloudFrontResponseEvent): Promise<CloudFrontResponse> {
    const cf = event?.Records?.[0]?.cf;
    const response = cf?.response;
    try {
      if (!response || typeof response.headers !== 'object' || response.headers === null) {
        log(JSON.stringify({ level: 'error', event: 'bad-event', runtime: 'lambda-edge-response' }));
        return response;
      }
      if (opts.observe && cf.request) opts.observe(cf.request, Number(response.status));
      const headers = response.headers;
      for (const name of Object.keys(headers))
        if (name.toLowerCase().startsWith(ROUTE_HEADER_PREFIX)) delete headers[name];
      const sent = cf.request?.headers ?? {};
      const affinity = sent[AFFINITY_HEADER]?.[0]?.value;
      if (opts.affinity && isAffinityValue(affinity) && Number(response.status) < 400) {
        const cookie = `${opts.affinity.cookie}=${affinity}; ${affinityAttributes(opts.affinity.ttlSeconds)}`;
        const set = Array.isArray(headers['set-cookie']) ? headers['set-cookie'] : [];
        headers['set-cookie'] = [...set, { key: 'Set-Cookie', value: cookie }];
      }
      const decision = sent[DECISION_HEADER]?.[0]?.value;
      if (typeof decision !== 'string') return response;
      if (sent[AUTHORISED_HEADER]?.[0]?.value === '1') {
        headers[DECISION_HEADER] = [{ key: 'X-Route-Decision', value: decision }];
      }
      const region = decisionTarget(decision);
      if (opts.publicRegion && region) headers[REGION_HEADER] = [{ key: 'X-Route-Region', value: region }];
    } catch (e) {
      // never a 5xx for the trace: the response goes out as the origin sent it
      log(
        JSON.stringify({
          level: 'error',
          event: 'trace-failed',
          runtime: 'lambda-edge-response',
          error: String(e),
        }),
      );
    }
    return response;
  };
}
