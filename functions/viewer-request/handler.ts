// CloudFront Functions viewer-request: event → facts → route() → apply. Only adapts; the policy lives in shared/.
// This file is built for cloudfront-js-2.0 (ES5.1 plus const/let, arrows, template literals, rest parameters
// and top-level async functions): no for-of, destructuring, default parameters, spread, classes, Map or
// async closures. esbuild refuses the first five at build time; the harness (test/helpers/cff.ts) the rest.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html
import type { CloudFront, KvsHandle } from 'cloudfront';
import { KVS_HEALTH_KEY, KVS_KEYS_KEY, readParts } from '../../shared/kvs-doc';
import { hasOwn } from '../../shared/own';
import {
  type Decision,
  type DocInput,
  errorDecision,
  type Facts,
  OVERRIDE_COOKIE,
  route,
  TOKEN_HEADER,
} from '../../shared/route';
import type { RouteTable } from '../../shared/router';
import type { KeyRing } from '../../shared/token';
import {
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
  readonly cf: CloudFront;
  /** undefined when no key value store is associated with the function */
  readonly kvs: KvsHandle | undefined;
  readonly crypto: Hmac;
  /** origin-group failover codes (config originGroups), or undefined to change the origin only */
  readonly failoverStatusCodes: readonly number[] | undefined;
}

/**
 * A field's values joined with "," (RFC 9110), so that a repeated x-route-to is one malformed value; for cookies,
 * the last value, as the Lambda@Edge handler reads `a=1; a=2`.
 */
function fieldValue(f: Field | undefined, last: boolean): string | undefined {
  if (typeof f !== 'object' || f === null) return undefined;
  const many = f.multiValue || f.multivalue;
  if (!Array.isArray(many) || many.length === 0) return typeof f.value === 'string' ? f.value : undefined;
  if (last) return String(many[many.length - 1].value);
  return many.map((v) => v.value).join(',');
}

function values(fields: Record<string, Field> | undefined, last: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof fields !== 'object' || fields === null) return out;
  const names = Object.keys(fields);
  for (let i = 0; i < names.length; i++) {
    const v = fieldValue(fields[names[i]], last);
    if (v !== undefined) out[last ? names[i] : names[i].toLowerCase()] = v;
  }
  return out;
}

export function toFacts(event: CffEvent, now: number): Facts {
  const request = event.request;
  const headers = values(request.headers, false);
  return {
    country: headers['cloudfront-viewer-country'],
    lat: coordinate(headers['cloudfront-viewer-latitude']),
    lon: coordinate(headers['cloudfront-viewer-longitude']),
    ip: viewerIp(headers['cloudfront-viewer-address'], event.viewer ? event.viewer.ip : undefined),
    headers,
    cookies: values(request.cookies, true),
    now,
  };
}

/**
 * Points the request at the decision's origin and sets our headers. The Host header is read-only in a
 * viewer-request function: updateRequestOrigin sends the new domain name as Host (its hostHeader default).
 */
export function applyDecision(request: CffRequest, d: Decision, rt: Runtime): void {
  const headers = request.headers;
  const names = Object.keys(headers);
  for (let i = 0; i < names.length; i++) {
    if (names[i].toLowerCase().indexOf(ROUTE_HEADER_PREFIX) === 0) delete headers[names[i]];
  }
  // the route_to cookie is for us, not the origin
  if (request.cookies) delete request.cookies[OVERRIDE_COOKIE];
  const o = d.origin;
  const next = d.next;
  const codes = rt.failoverStatusCodes;
  // An origin group only between two regions' own origins: the distribution has one per region, id = region id.
  if (codes && next && d.reason !== 'canary' && d.target.kind === 'region') {
    rt.cf.createRequestOriginGroup({
      originIds: [{ originId: d.target.id }, { originId: next.target.id }],
      failoverCriteria: { statusCodes: codes.slice() },
    });
  } else {
    rt.cf.updateRequestOrigin({
      domainName: o.domainName,
      originPath: o.path,
      customOriginConfig: { port: o.port, protocol: o.protocol, sslProtocols: ['TLSv1.2'] },
    });
  }
  headers[REGION_HEADER] = { value: d.target.id };
  headers[REASON_HEADER] = { value: d.reason };
  headers[DECISION_HEADER] = { value: decisionHeader(d) };
  if (d.authorised) headers[AUTHORISED_HEADER] = { value: '1' };
}

/** The health document from the store; null (every region up) when there is none or it cannot be read. */
export async function readDoc(kvs: KvsHandle | undefined): Promise<{ doc: DocInput; error?: string }> {
  if (!kvs) return { doc: null, error: 'no key value store associated' };
  try {
    return { doc: JSON.parse(await readParts((k) => kvs.get(k), KVS_HEALTH_KEY)) };
  } catch (e) {
    return { doc: null, error: String(e) };
  }
}

/** The signing keys from the store, read only for a request that carries a token. */
export async function readKeys(kvs: KvsHandle | undefined, crypto: Hmac): Promise<KeyRing | undefined> {
  if (!kvs) return undefined;
  let secrets: Record<string, string>;
  try {
    secrets = JSON.parse(await readParts((k) => kvs.get(k), KVS_KEYS_KEY));
  } catch (_) {
    return undefined;
  }
  return {
    ids: Object.keys(secrets),
    sign: (keyId, payload) =>
      hasOwn(secrets, keyId)
        ? crypto
            .createHmac('sha256', Buffer.from(secrets[keyId], 'base64url'))
            .update(payload)
            .digest('base64url')
        : undefined,
  };
}

/** A log line. Its keys are not on the build's list of shortened property names (INTERNAL_PROPS). */
function log(what: string, detail: Record<string, unknown>): void {
  detail.edgeRouter = what;
  // one argument only: the runtime's console.log does not take more
  console.log(JSON.stringify(detail));
}

/** The whole request: never throws, never an error response; a failure routes to the fallback region. */
export async function handle(event: CffEvent, rt: Runtime): Promise<CffRequest> {
  const request = event.request;
  if (typeof request.headers !== 'object' || request.headers === null) request.headers = {};
  const state = await readDoc(rt.kvs);
  let d: Decision;
  try {
    const facts = toFacts(event, Date.now());
    const token = facts.headers && facts.headers[TOKEN_HEADER] !== undefined;
    d = route(facts, state.doc, rt.table, { keys: token ? await readKeys(rt.kvs, rt.crypto) : undefined });
  } catch (e) {
    // route() never throws: this is the event. Fail open to the fallback region.
    d = errorDecision(rt.table, e);
  }
  try {
    applyDecision(request, d, rt);
  } catch (e) {
    log('apply-failed', { error: String(e), region: d.target.id });
  }
  if (state.error && rt.kvs) log('doc-unreadable', { error: state.error });
  if (d.reason === 'error') log('route-error', { error: d.error });
  if (d.override && !d.override.honoured)
    log('override-ignored', { asked: d.override.requested, because: d.override.why });
  return request;
}
