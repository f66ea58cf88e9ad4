// CloudFront Functions viewer-request: event → facts → place → the viewer's walk from the store → pick → apply. Only
// adapts; the policy lives in shared/.
// This file is built for cloudfront-js-2.0 (ES5.1 plus const/let, arrows, template literals, rest parameters
// and top-level async functions): no for-of, destructuring, default parameters, spread, classes, Map or
// async closures. esbuild refuses the first five at build time; the harness (test/helpers/cff.ts) the rest.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html
import type { CloudFront, KvsHandle } from 'cloudfront';
import { withNetworks } from '../../shared/baked';
import { originId } from '../../shared/ids';
import { KVS_KEYS_KEY, readParts, walkKey } from '../../shared/kvs-layout';
import {
  cookieNames,
  type Decision,
  errorDecision,
  type Facts,
  needsKeys,
  OVERRIDE_COOKIE,
  pick,
  place,
} from '../../shared/pick';
import type { RouteTable } from '../../shared/router';
import type { KeyRing } from '../../shared/token';
import type { Walk } from '../../shared/walk';
import {
  AFFINITY_HEADER,
  AUTHORISED_HEADER,
  DECISION_HEADER,
  decisionHeader,
  REASON_HEADER,
  REGION_HEADER,
  ROUTE_HEADER_PREFIX,
} from '../route-headers';
import { coordinate, viewerIp } from '../viewer';

/** One header, query parameter or cookie of a CloudFront Functions event. */
interface Field {
  value: string;
  multiValue?: { value: string }[];
  /** the spelling of AWS's sample test events (amazon-cloudfront-functions); CloudFront sends multiValue */
  multivalue?: { value: string }[];
}
export interface CffRequest {
  method: string;
  uri: string;
  querystring: Record<string, Field>;
  headers: Record<string, Field>;
  cookies: Record<string, Field>;
}
export interface CffEvent {
  version: string;
  context?: Record<string, string>;
  viewer?: { ip?: string };
  request: CffRequest;
}

/** The HMAC the runtime's `crypto` module gives (Node's `crypto` in the harness). */
export interface Hmac {
  createHmac(
    algorithm: 'sha256',
    key: Uint8Array,
  ): { update(data: string): { digest(enc: 'base64url'): string } };
}

/** What the handler needs besides the event: the tables baked into the bundle and the runtime's modules. */
export interface Runtime {
  readonly table: RouteTable;
  /** the config's fingerprint (shared/plan.ts): walks planned for another config are not read */
  readonly fingerprint: string;
  readonly cf: CloudFront;
  /** undefined when no key value store is associated with the function */
  readonly kvs: KvsHandle | undefined;
  readonly crypto: Hmac;
  /** origin-group failover codes (config originGroups), or undefined to select one origin only */
  readonly failoverStatusCodes: number[] | null;
}

/**
 * Headers by name, a header's values joined with "," (RFC 9110), so that a repeated x-route-to is one malformed
 * value; header names are lower case already. Cookies: only those routing reads (cookieNames), each its last
 * value, as the Lambda@Edge handler reads `a=1; a=2`: a few lookups, however many cookies the request has.
 */
function values(fields: Record<string, Field>, names?: (string | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in names || fields) {
    const name = names ? (names[k as unknown as number] as string) : k;
    const f = fields[name];
    if (!f) continue;
    const many = f.multiValue || f.multivalue;
    out[name] =
      many && many.length
        ? names
          ? many[many.length - 1].value
          : many.map((m) => m.value).join(',')
        : f.value;
  }
  return out;
}

export function toFacts(event: CffEvent, now: number, table: RouteTable): Facts {
  const request = event.request;
  const headers = values(request.headers);
  // the prefix written once: 19 bytes of the file's 10,240
  const viewer = 'cloudfront-viewer-';
  return {
    country: headers[`${viewer}country`],
    lat: coordinate(headers[`${viewer}latitude`]),
    lon: coordinate(headers[`${viewer}longitude`]),
    ip: viewerIp(event.viewer && event.viewer.ip),
    headers,
    cookies: values(request.cookies || {}, cookieNames(table)),
    method: request.method,
    now,
  };
}

/**
 * Points the request at the decision's origin and sets our headers. The origins are the distribution's (the infra app
 * makes one per region, environment and canary, shared/router.ts distributionOrigins): the function selects one by
 * id, or with config originGroups, for a GET, HEAD or OPTIONS, an origin group of its per-try copy and the
 * decision's retry, so that CloudFront retries a failed or hung one on the next region (or, for a canary, on the
 * region's stable origin) within the same request. Every setting of an origin (TLS, timeouts, Host) is the distribution's, in one place.
 */
export function applyDecision(request: CffRequest, d: Decision, rt: Runtime): void {
  const headers = request.headers;
  const cookies = request.cookies || {};
  for (const name in headers) if (name.indexOf(ROUTE_HEADER_PREFIX) === 0) delete headers[name];
  // the route_to and affinity cookies are for us, not the origin
  delete cookies[OVERRIDE_COOKIE];
  if (rt.table.affinity) delete cookies[rt.table.affinity.cookie];
  const id = originId(d.target.id, d.reason === 'canary');
  const codes = rt.failoverStatusCodes;
  // A GET, HEAD or OPTIONS (the methods CloudFront fails over; no other method starts with G, H or O) goes first to
  // the origin's per-try copy, whose read timeout is the per-try timeout: a hung region holds it that long. Any
  // other method to the origin itself, with the whole read timeout. ("try." is shared/ids.ts PER_TRY, written out:
  // the file's bytes are counted; the harness refuses an origin id the distribution does not have.)
  if (codes && d.next && /^[GHO]/.test(request.method))
    rt.cf.createRequestOriginGroup({
      originIds: [{ originId: `try.${id}` }, { originId: d.next.id }],
      failoverCriteria: { statusCodes: codes },
    });
  else rt.cf.selectRequestOriginById(id);
  headers[REGION_HEADER] = { value: d.target.id };
  headers[REASON_HEADER] = { value: d.reason };
  headers[DECISION_HEADER] = { value: decisionHeader(d) };
  if (d.authorised) headers[AUTHORISED_HEADER] = { value: '1' };
  // for the viewer-response function, which sets it as the affinity cookie
  if (d.setAffinity) headers[AFFINITY_HEADER] = { value: d.setAffinity };
}

/** A log line: one argument only, as the runtime's console.log takes. Keys not on the build's INTERNAL_PROPS. */
function log(what: string, detail: string): void {
  console.log(JSON.stringify({ edgeRouter: what, detail }));
}

/**
 * The whole request: never throws, never an error response. The viewer's walk comes from the store; without a
 * usable one (no store, a missing key, a torn or foreign value), its ranking's baked default: every region up. A
 * failure to route sends the request to the fallback region.
 */
export async function handle(event: CffEvent, rt: Runtime): Promise<CffRequest> {
  const request = event.request;
  // not a viewer-request event: nothing to route, and nothing thrown
  if (!request) return request;
  if (!request.headers) request.headers = {};
  const kvs = rt.kvs;
  // (not an async closure: the runtime has none)
  const get = (k: string) => (kvs as KvsHandle).get(k);
  let d: Decision;
  try {
    const facts = toFacts(event, Date.now(), rt.table);
    const at = place(rt.table, facts);
    const walks: Walk[] = [];
    let serial: number | null = null;
    try {
      // the walk of the viewer's ranking, planned from the document `<serial>` for the config `<fingerprint>`
      const got = await readParts(get, walkKey(at.ranking));
      const tag = got.tag.split('.');
      if (tag[1] !== rt.fingerprint) throw new Error(`planned for config ${tag[1]}, not ${rt.fingerprint}`);
      walks[at.ranking] = JSON.parse(got.text);
      serial = Number(tag[0]);
    } catch (e) {
      if (kvs) log('plan-unusable', String(e));
    }
    // the config's network tables travel with the walk; without one, none applies
    withNetworks(rt.table, walks[at.ranking] && walks[at.ranking].w);
    let keys: KeyRing | undefined;
    if (needsKeys(facts, rt.table)) {
      // the signing keys: {"<key id>": "<secret, base64url>"}, read only for a request that needs them
      try {
        const secrets: Record<string, unknown> = JSON.parse((await readParts(get, KVS_KEYS_KEY)).text);
        keys = {
          ids: Object.keys(secrets),
          // a key's own entry, never one of Object's ("constructor", "__proto__")
          sign: (id, payload) => {
            const secret = secrets[id];
            return typeof secret === 'string'
              ? rt.crypto
                  .createHmac('sha256', Buffer.from(secret, 'base64url'))
                  .update(payload)
                  .digest('base64url')
              : undefined;
          },
        };
      } catch (_) {}
    }
    d = pick({ table: rt.table, serial, walks }, facts, { keys, at });
  } catch (e) {
    // pick() never throws: this is the event. Fail open to the fallback region.
    d = errorDecision(rt.table, e);
  }
  try {
    applyDecision(request, d, rt);
  } catch (e) {
    log('apply-failed', String(e));
  }
  if (d.reason === 'error') log('route-error', d.error);
  // why an override or affinity value was not followed: `edge-router explain` tells, for any request (no room here)
  return request;
}
