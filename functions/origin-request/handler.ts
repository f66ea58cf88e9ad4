// Lambda@Edge origin-request: event → facts → pick over the plan of the current document → apply. Only adapts; the
// policy lives in shared/.
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontRequestEvent } from 'aws-lambda';
import { keyRing } from '../../lib/keyring';
import { TARGET_ID } from '../../shared/ids';
import { FAILOVER_METHODS, type OriginTimeouts } from '../../shared/origin-timeouts';
import {
  cookieNames,
  type Decision,
  errorDecision,
  type Facts,
  needsKeys,
  OVERRIDE_COOKIE,
  type PickContext,
  pick,
} from '../../shared/pick';
import { type DocInput, type Plan, plan } from '../../shared/plan';
import { retryDecision, stalledDecision } from '../../shared/retry';
import { originOf, type Router } from '../../shared/router';
import type { KeysDoc } from '../../shared/schema';
import type { KeyRing } from '../../shared/token';
import {
  AFFINITY_HEADER,
  ATTEMPT_HEADER,
  AUTHORISED_HEADER,
  DECISION_HEADER,
  decisionHeader,
  REASON_HEADER,
  REGION_HEADER,
  ROUTE_HEADER_PREFIX,
} from '../route-headers';
import { coordinate, viewerIp } from '../viewer';
import type { DocState } from './object-cache';
import type { PassiveHealth } from './passive-health';
import { METRICS, type Telemetry } from './telemetry';

export interface HandlerDeps {
  readonly router: Router;
  readonly docs: { current(): Promise<DocState> };
  /** the signing keys; read only for requests that carry a token */
  readonly keys?: { current(): Promise<DocState<KeysDoc>> };
  readonly telemetry: Telemetry;
  readonly now?: () => number;
  /** passive health (config outlier): what this container's requests saw of each origin */
  readonly passive?: PassiveHealth;
  /**
   * the origin timeouts the function sets on the origin it chooses (config originTimeouts); default: the event's.
   * perTryTimeoutSeconds (with originGroups): the read timeout of a first attempt the group can retry.
   */
  readonly timeouts?: Pick<
    OriginTimeouts,
    'readTimeoutSeconds' | 'keepaliveTimeoutSeconds' | 'perTryTimeoutSeconds'
  >;
}

/**
 * Each header by lower-case name; repeated headers are joined with "," (RFC 9110), so a repeated x-route-to is
 * one malformed value, not a choice between two.
 */
function headerValues(headers: CloudFrontHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  for (const name of Object.keys(headers)) {
    const list = headers[name];
    if (!Array.isArray(list)) continue;
    const values = list.map((h) => h?.value).filter((v): v is string => typeof v === 'string');
    if (values.length) out[name.toLowerCase()] = values.join(',');
  }
  return out;
}

/**
 * The most of the Cookie header Lambda@Edge reads: 32 KB, above CloudFront's own limit on a whole request (20,480
 * bytes of request line and headers), so that both runtimes see the same cookies of any request CloudFront passes.
 */
export const MAX_COOKIE_BYTES = 32 * 1024;

/**
 * The cookies routing reads (`names`, cookieNames), each its last value, from at most MAX_COOKIE_BYTES of the Cookie
 * header lines; without `names`, every cookie (the local edge's replay of a decision).
 */
function cookies(
  headers: CloudFrontHeaders | undefined,
  names?: readonly (string | undefined)[],
): Record<string, string> {
  const out: Record<string, string> = {};
  const list = headers?.cookie;
  if (!Array.isArray(list)) return out;
  let budget = MAX_COOKIE_BYTES;
  for (const h of list) {
    if (typeof h?.value !== 'string' || budget <= 0) continue;
    const value = h.value.length > budget ? h.value.slice(0, budget) : h.value;
    budget -= value.length;
    let from = 0;
    while (from < value.length) {
      let end = value.indexOf(';', from);
      if (end < 0) end = value.length;
      const eq = value.indexOf('=', from);
      if (eq > from && eq < end) {
        const name = value.slice(from, eq).trim();
        if (!names || names.includes(name)) out[name] = value.slice(eq + 1, end).trim();
      }
      from = end + 1;
    }
  }
  return out;
}

/** What routing knows of the viewer; `names`: the cookies to read (cookieNames), default every one. */
export function toFacts(
  request: CloudFrontRequest,
  now: number,
  names?: readonly (string | undefined)[],
): Facts {
  const headers = headerValues(request.headers);
  return {
    country: headers['cloudfront-viewer-country'],
    lat: coordinate(headers['cloudfront-viewer-latitude']),
    lon: coordinate(headers['cloudfront-viewer-longitude']),
    ip: viewerIp(request.clientIp),
    headers,
    cookies: cookies(request.headers, names),
    method: request.method,
    now,
  };
}

// Timeouts CloudFront accepts for a custom origin (seconds), and the TLS versions we keep.
const READ_TIMEOUT = { min: 1, max: 180, default: 30 };
const KEEPALIVE_TIMEOUT = { min: 1, max: 60, default: 5 };
const within = (v: unknown, r: { min: number; max: number; default: number }) =>
  typeof v === 'number' && v >= r.min && v <= r.max ? v : r.default;

/**
 * Points the request at the decision's origin (its target's, or its region's canary deployment's: originOf) and sets
 * our headers. Touches only `origin`, `host` and x-route-* headers: Lambda@Edge answers 502 to a function that
 * changes a disallowed or read-only header.
 */
export function applyDecision(
  request: CloudFrontRequest,
  d: Decision,
  router: Router,
  timeouts?: HandlerDeps['timeouts'],
  secondAttempt = false,
): void {
  const affinityCookie = router.affinity?.cookie;
  const headers = request.headers;
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase().startsWith(ROUTE_HEADER_PREFIX)) delete headers[name];
  }
  stripCookies(headers, affinityCookie === undefined ? [OVERRIDE_COOKIE] : [OVERRIDE_COOKIE, affinityCookie]);
  const o = originOf(router, d);
  const current = request.origin;
  // an event without an origin object (as `sam local generate-event` makes them) gets a complete custom origin
  if (!current || current.custom || current.s3) {
    const c = current?.custom;
    const tls = c?.sslProtocols?.includes('TLSv1.2') ? c.sslProtocols : ['TLSv1.2'];
    // An S3 origin becomes a custom one (its custom headers kept), as the AWS docs show for origin-request.
    request.origin = {
      custom: {
        customHeaders: c?.customHeaders ?? current?.s3?.customHeaders ?? {},
        domainName: o.domainName,
        keepaliveTimeout: timeouts?.keepaliveTimeoutSeconds ?? within(c?.keepaliveTimeout, KEEPALIVE_TIMEOUT),
        path: o.path,
        port: o.port,
        protocol: o.protocol,
        readTimeout:
          readTimeoutOf(request, d, timeouts, secondAttempt) ?? within(c?.readTimeout, READ_TIMEOUT),
        sslProtocols: tls,
      },
    };
    // CloudFront does not rewrite Host when a function changes the origin
    headers.host = [{ key: 'Host', value: o.domainName }];
  }
  // Our headers to the origin; any x-route-* header from the viewer was removed above, so the origin can trust them.
  headers[REGION_HEADER] = [{ key: 'X-Route-Region', value: d.target.id }];
  headers[REASON_HEADER] = [{ key: 'X-Route-Reason', value: d.reason }];
  headers[DECISION_HEADER] = [{ key: 'X-Route-Decision', value: decisionHeader(d) }];
  if (d.authorised) headers[AUTHORISED_HEADER] = [{ key: 'X-Route-Authorised', value: '1' }];
  // for the origin-response function, which sets it as the affinity cookie
  if (d.setAffinity) headers[AFFINITY_HEADER] = [{ key: 'X-Route-Affinity', value: d.setAffinity }];
}

/**
 * The read timeout for this attempt: a first attempt that the origin group can send again to the decision's retry
 * target (a GET, HEAD or OPTIONS) gets perTryTimeoutSeconds, so a region that accepts and never answers holds it that
 * long; the retry, and every other request, the read timeout.
 */
function readTimeoutOf(
  request: CloudFrontRequest,
  d: Decision,
  timeouts: HandlerDeps['timeouts'],
  secondAttempt: boolean,
): number | undefined {
  const perTry = timeouts?.perTryTimeoutSeconds;
  const retriable = !secondAttempt && d.next !== undefined && FAILOVER_METHODS.includes(request.method);
  return perTry !== undefined && retriable ? perTry : timeouts?.readTimeoutSeconds;
}

/** The route_to and affinity cookies are for us, not the origin: removed, and nothing else of the Cookie header changed. */
function stripCookies(headers: CloudFrontHeaders, names: readonly string[]): void {
  const list = headers.cookie;
  if (!Array.isArray(list)) return;
  const isOurs = (part: string) => names.includes(part.split('=')[0].trim());
  if (!list.some((h) => typeof h?.value === 'string' && h.value.split(';').some(isOurs))) return;
  const kept = list
    .map((h) => ({
      ...h,
      value: String(h?.value ?? '')
        .split(';')
        .filter((part) => !isOurs(part))
        .join(';')
        .trim(),
    }))
    .filter((h) => h.value !== '');
  if (kept.length) headers.cookie = kept;
  else delete headers.cookie;
}

/**
 * Whether this invocation is an origin group's second attempt: CloudFront invokes the origin-request function again
 * when it sends the request to the group's second origin ("Use origin failover with Lambda@Edge functions"), whose
 * origin custom header ATTEMPT_HEADER the infra app sets. `first`: what the first attempt chose, from the headers it
 * set on the request, when CloudFront sends them again.
 */
export function secondAttempt(
  request: CloudFrontRequest,
): { first?: { target: string; canary: boolean } } | undefined {
  const custom = request.origin?.custom?.customHeaders;
  const marker = custom && typeof custom === 'object' ? custom[ATTEMPT_HEADER]?.[0]?.value : undefined;
  if (marker !== '2') return undefined;
  const h = request.headers ?? {};
  const target = h[REGION_HEADER]?.[0]?.value;
  return {
    first:
      typeof target === 'string' && TARGET_ID.test(target)
        ? { target, canary: h[REASON_HEADER]?.[0]?.value === 'canary' }
        : undefined,
  };
}

/** The origin a decision sends to: its target's, or its region's canary deployment's. */
const targetOf = (d: Decision): { target: string; canary: boolean } => ({
  target: d.target.id,
  canary: d.reason === 'canary',
});

/** What the first attempt chose, when the request no longer says (the decision made again, without a retry). */
function firstChoice(p: Plan, facts: Facts, ctx: PickContext): { target: string; canary: boolean } {
  return targetOf(pick(p, facts, ctx));
}

export function createHandler(deps: HandlerDeps) {
  const { router, docs, telemetry } = deps;
  const cookieList = cookieNames(router);
  const now = deps.now ?? Date.now;
  let warnedNoOrigin = false;
  const rings = new WeakMap<KeysDoc, KeyRing>();
  // the plan of the document in use and of this container's ejections: made when a new document is loaded (once per
  // TTL at most: a 304 keeps it) and when an ejection starts or ends
  let planned: { doc: DocInput; ejections: string; plan: Plan } | undefined;
  const planOf = (doc: DocInput, at: number): Plan => {
    const passive = deps.passive;
    if (passive && planned !== undefined && planned.doc !== doc) passive.documentChanged(planned.doc, doc);
    const e = passive?.current(at);
    const key = e?.key ?? '';
    if (planned === undefined || planned.doc !== doc || planned.ejections !== key)
      planned = { doc, ejections: key, plan: plan(router, doc, e?.ejected) };
    return planned.plan;
  };
  const keysFor = async (facts: Facts): Promise<KeyRing | undefined> => {
    if (!deps.keys || !needsKeys(facts, router)) return undefined;
    const { doc } = await deps.keys.current();
    if (!doc) return undefined;
    let ring = rings.get(doc);
    if (!ring) {
      ring = keyRing(doc);
      rings.set(doc, ring);
    }
    return ring;
  };

  return async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequest> {
    const request = event?.Records?.[0]?.cf?.request;
    if (typeof request !== 'object' || request === null) {
      telemetry.log('error', 'bad-event', { error: 'no Records[0].cf.request: returned as it came' });
      return request;
    }
    if (typeof request.headers !== 'object' || request.headers === null) request.headers = {};
    let decision: Decision;
    // the same decision in words, for the sampled log line: pick is pure, so it can be asked again
    let explain: (() => Decision) | undefined;
    let failed: ReturnType<typeof secondAttempt>;
    try {
      const at = now();
      const facts = toFacts(request, at, cookieList);
      // the document and the keys at once: a cold start waits for both together, at most timeoutMs
      const [state, keys] = await Promise.all([docs.current(), keysFor(facts)]);
      telemetry.docAge(state.ageMs === null ? undefined : state.ageMs / 1000, state.stale);
      const ctx: PickContext = { stale: state.stale, keys };
      // an origin group's second attempt: what the first chose failed, so its retry target goes instead
      failed = secondAttempt(request);
      // what the first attempt chose: from the request, else the decision made again (before this failure counts)
      const first = failed && (failed.first ?? firstChoice(planOf(state.doc, at), facts, ctx));
      // the first attempt's origin failed: counted before planning, so the failure that ejects it counts now
      if (first) deps.passive?.failure(first, at);
      const p = planOf(state.doc, at);
      let d = first ? retryDecision(pick(p, facts, ctx), first) : pick(p, facts, ctx);
      // a request no retry can save, to a target stalled in this container: to the retry target instead
      const stall = first ? undefined : deps.passive?.stalled(targetOf(d), request.method, at);
      if (stall) {
        const to = stalledDecision(d, stall.forMs);
        if (to !== d) {
          telemetry.count(METRICS.stallDiversions);
          if (stall.first)
            telemetry.log('warn', 'stalled', { ...targetOf(d), forMs: stall.forMs, to: to.target.id });
        }
        d = to;
      }
      decision = d;
      explain = () => {
        const t = pick(p, facts, { ...ctx, trace: true });
        if (first) return retryDecision(t, first);
        return stall ? stalledDecision(t, stall.forMs) : t;
      };
      if (failed) telemetry.count(METRICS.retries);
    } catch (e) {
      // pick() never throws: this is the doc source or the event. Fail open to the fallback region.
      decision = errorDecision(router, e);
    }
    try {
      if (!request.origin && !warnedNoOrigin) {
        warnedNoOrigin = true;
        telemetry.log('warn', 'no-origin', {
          error: 'event has no origin object: a custom origin made from the config',
        });
      }
      applyDecision(request, decision, router, deps.timeouts, failed !== undefined);
      deps.passive?.sent(targetOf(decision), now());
      // for the origin-response invocation: this request is the group's second attempt (CloudFront fails over no more)
      if (failed) request.headers[ATTEMPT_HEADER] = [{ key: 'X-Route-Attempt', value: '2' }];
    } catch (e) {
      telemetry.log('error', 'apply-failed', { error: String(e), target: decision.target.id });
    }
    if (decision.override) {
      const o = decision.override;
      telemetry.count(o.honoured ? METRICS.overrideHonoured : METRICS.overrideIgnored);
      if (!o.honoured)
        telemetry.sampled('override-ignored', { requested: o.requested, from: o.from, why: o.why });
    }
    if (decision.affinity) {
      const a = decision.affinity;
      telemetry.count(a.honoured ? METRICS.affinityHonoured : METRICS.affinityIgnored(String(a.cause)));
      if (!a.honoured)
        telemetry.sampled('affinity-ignored', { from: a.from, region: a.region, cause: a.cause });
    }
    if (decision.setAffinity) telemetry.count(METRICS.affinityIssued);
    telemetry.decision(decision, explain);
    return request;
  };
}
