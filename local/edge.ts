// The local edge: an HTTP server that behaves like CloudFront in front of the regional origins. Each request
// becomes a real CloudFront origin-request event (the viewer's country from geoip-lite, as CloudFront-Viewer-Country),
// runs the built Lambda@Edge bundle, and is proxied (any method, headers, streamed body) to the origin it chose;
// the response runs the origin-response bundle (the trace for authorised viewers) on its way back.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontResponse,
  CloudFrontResponseEvent,
} from 'aws-lambda';
import { toFacts } from '../functions/origin-request/handler';
import { DECISION_HEADER, parseDecisionHeader } from '../functions/route-headers';
import type { CffResponse } from '../functions/viewer-response/handler';
import { locate } from '../lib/geoip';
import type { Facts, RouterConfig } from '../shared';
import { FAILOVER_METHODS, type OriginTimeouts, resolveOriginTimeouts } from '../shared/origin-timeouts';
import { distributionOrigins, eventCustomOrigin, secondAttemptOrigin } from '../shared/router';
import type { CffHarness } from './cff-runtime';

/** Where the viewer is, as CloudFront's CloudFront-Viewer-* headers would say. */
export interface Viewer {
  readonly country?: string;
  readonly lat?: number;
  readonly lon?: number;
}

export type OriginRequestHandler = (event: CloudFrontRequestEvent) => Promise<CloudFrontRequest>;
export type OriginResponseHandler = (event: CloudFrontResponseEvent) => Promise<CloudFrontResponse>;

export interface EdgeOptions {
  readonly config: RouterConfig;
  /** runtime lambda-edge: the built origin-request function */
  readonly originRequest?: OriginRequestHandler;
  /** runtime cloudfront-functions: the built viewer-request file in the harness, and the store it reads */
  readonly viewerRequest?: { readonly harness: CffHarness; readonly store: () => Record<string, string> };
  /** runtime cloudfront-functions: the built viewer-response file in the harness (sets the affinity cookie) */
  readonly viewerResponse?: CffHarness;
  readonly originResponse?: OriginResponseHandler;
  readonly port?: number;
  readonly host?: string;
  /** where the viewer is; default: geoip-lite (country data only, unless lib/geoip's useCityData was called) */
  readonly locate?: (ip: string) => Viewer;
  /** called with each routed request's decision headers (for counters and the status page) */
  readonly onDecision?: (d: RoutedRequest) => void;
  /**
   * called when the edge sends a request to an origin, each attempt apart (a group's second origin, a connection
   * attempt again): the target it goes to (the drill's "no request sent to the failed region any more")
   */
  readonly onAttempt?: (target: string) => void;
  /** the status page, served under /_router */
  readonly status?: {
    serve(req: IncomingMessage, res: ServerResponse): boolean;
    record(d: RoutedRequest): void;
  };
}

export interface RoutedRequest {
  readonly at: number;
  readonly method: string;
  readonly uri: string;
  readonly viewerIp: string;
  readonly country?: string;
  readonly target: string;
  readonly reason: string;
  readonly status: number;
  /** the document the edge routed with (x-route-decision): its serial, null for none; older than maxStaleSeconds */
  readonly serial?: number | null;
  readonly stale?: boolean;
  /** what the edge knew of the viewer, as the origin-request function reads it: to replay the decision with a trace */
  readonly facts?: Facts;
}

/** Where a routed request goes, whichever runtime routed it. */
interface Routed {
  readonly origin: { protocol: 'http' | 'https'; domainName: string; port: number; path: string };
  /** an origin group's second origin, and the statuses of the first that send a request there */
  readonly failover?: {
    readonly statusCodes: readonly number[];
    /**
     * where the second attempt goes (Lambda@Edge: the origin-request function invoked again for it, which sets its
     * read timeout too: `waits`; else the distribution's)
     */
    second(): Promise<{
      origin: Routed['origin'];
      target: string;
      headers: OutgoingHttpHeaders;
      waits?: OriginTimeouts;
    }>;
  };
  /** how long CloudFront waits for this origin: the distribution's settings, and the read timeout the function set */
  readonly waits: OriginTimeouts;
  readonly method: string;
  /** uri and query string */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly target: string;
  readonly reason: string;
  /** the x-route-decision header the function set */
  readonly decision?: string;
  /** what the edge knew of the viewer */
  readonly facts: Facts;
  /** the response headers on their way to the viewer (Lambda@Edge: the origin-response function) */
  response(
    status: number,
    message: string,
    headers: CloudFrontHeaders,
  ): Promise<{ status: number; headers: CloudFrontHeaders }>;
}

export interface Edge {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, as a proxy must not.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * The viewer as CloudFront would see it: the socket's address, or, when the connection comes from loopback, the
 * first address of X-Forwarded-For (so that a local client can play a viewer from anywhere).
 */
export function viewerAddress(req: IncomingMessage): string {
  const socket = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const xff = req.headers['x-forwarded-for'];
  if (LOOPBACK.test(socket) && typeof xff === 'string' && xff.trim()) return xff.split(',')[0].trim();
  return socket;
}

/** CloudFront's header shape: lower-case name → [{ key, value }], from the raw header list (order kept). */
function cloudFrontHeaders(raw: string[]): CloudFrontHeaders {
  const out: CloudFrontHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    const list = out[name] ?? [];
    list.push({ key: raw[i], value: raw[i + 1] });
    out[name] = list;
  }
  return out;
}

let sequence = 0;

/** A CloudFront origin-request event for an incoming request, pointed at the fallback region's origin. */
export function originRequestEvent(
  req: IncomingMessage,
  config: RouterConfig,
  viewerIp: string,
  viewer: Viewer,
): CloudFrontRequestEvent {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers = cloudFrontHeaders(req.rawHeaders);
  for (const [name, value] of geoHeaders(viewer)) headers[name.toLowerCase()] = [{ key: name, value }];
  // `ip:port`, IPv6 unbracketed, as CloudFront sends it
  headers['cloudfront-viewer-address'] = [
    { key: 'CloudFront-Viewer-Address', value: `${viewerIp}:${req.socket.remotePort ?? 0}` },
  ];
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'local.edge-router',
            distributionId: 'LOCAL',
            eventType: 'origin-request',
            requestId: `local-${Date.now().toString(36)}-${(++sequence).toString(36)}`,
          },
          request: {
            clientIp: viewerIp,
            headers,
            method: req.method ?? 'GET',
            querystring: url.search.replace(/^\?/, ''),
            uri: url.pathname,
            origin: { custom: eventCustomOrigin(config.regions[config.fallbackRegion].origin) },
          },
        },
      },
    ],
  } as CloudFrontRequestEvent;
}

/** A CloudFront Functions viewer-request event for an incoming request. */
export function viewerRequestEvent(req: IncomingMessage, viewerIp: string, viewer: Viewer) {
  const url = new URL(req.url ?? '/', 'http://local');
  type Field = { value: string; multiValue?: { value: string }[] };
  const add = (into: Record<string, Field>, name: string, value: string) => {
    const f = into[name];
    if (!f) into[name] = { value };
    else into[name] = { value: f.value, multiValue: [...(f.multiValue ?? [{ value: f.value }]), { value }] };
  };
  const headers: Record<string, Field> = {};
  const cookies: Record<string, Field> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    if (name === 'cookie') {
      // cookies are not headers in a CloudFront Functions event
      for (const part of req.rawHeaders[i + 1].split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0) add(cookies, part.slice(0, eq).trim(), part.slice(eq + 1).trim());
      }
    } else add(headers, name, req.rawHeaders[i + 1]);
  }
  for (const [name, value] of geoHeaders(viewer)) headers[name.toLowerCase()] = { value };
  headers['cloudfront-viewer-address'] = { value: `${viewerIp}:${req.socket.remotePort ?? 0}` };
  const querystring: Record<string, Field> = {};
  for (const [k, v] of url.searchParams) add(querystring, k, v);
  return {
    version: '1.0',
    context: {
      eventType: 'viewer-request',
      distributionId: 'LOCAL',
      requestId: `local-${(++sequence).toString(36)}`,
    },
    viewer: { ip: viewerIp },
    request: { method: req.method ?? 'GET', uri: url.pathname, querystring, headers, cookies },
  };
}

/** CloudFront-Viewer-Country, -Latitude and -Longitude, for what is known of the viewer. */
function geoHeaders(v: Viewer): [string, string][] {
  const out: [string, string][] = [];
  if (v.country) out.push(['CloudFront-Viewer-Country', v.country]);
  if (v.lat !== undefined && v.lon !== undefined) {
    out.push(
      ['CloudFront-Viewer-Latitude', v.lat.toFixed(4)],
      ['CloudFront-Viewer-Longitude', v.lon.toFixed(4)],
    );
  }
  return out;
}

/** A CloudFront Functions response object for an origin's response: Set-Cookie lines become `cookies`. */
export function toCffResponse(status: number, message: string, headers: CloudFrontHeaders): CffResponse {
  const out: CffResponse & { cookies: NonNullable<CffResponse['cookies']> } = {
    statusCode: status,
    statusDescription: message,
    headers: {},
    cookies: {},
  };
  for (const [name, list] of Object.entries(headers)) {
    if (!list?.length) continue;
    if (name !== 'set-cookie') {
      out.headers[name] =
        list.length > 1
          ? { value: list[0].value, multiValue: list.map((h) => ({ value: h.value })) }
          : { value: list[0].value };
      continue;
    }
    for (const h of list) {
      const i = h.value.indexOf(';');
      const pair = i < 0 ? h.value : h.value.slice(0, i);
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie = {
        value: pair.slice(eq + 1).trim(),
        attributes: i < 0 ? '' : h.value.slice(i + 1).trim(),
      };
      const cookieName = pair.slice(0, eq).trim();
      const seen = out.cookies[cookieName];
      if (!seen) out.cookies[cookieName] = { ...cookie };
      else
        seen.multiValue = [
          ...(seen.multiValue ?? [{ value: seen.value, attributes: seen.attributes }]),
          cookie,
        ];
    }
  }
  return out;
}

/** The viewer-response function's response as headers to send (the original keys kept where names are unchanged). */
export function fromCffResponse(
  r: CffResponse,
  before: CloudFrontHeaders,
): { status: number; headers: CloudFrontHeaders } {
  const headers: CloudFrontHeaders = {};
  for (const [name, f] of Object.entries(r.headers ?? {})) {
    const key = before[name]?.[0]?.key ?? name;
    headers[name] = (f.multiValue?.length ? f.multiValue : [f]).map((v) => ({ key, value: v.value }));
  }
  const cookies = Object.entries(r.cookies ?? {}).flatMap(([name, c]) =>
    (c.multiValue?.length ? c.multiValue : [c]).map((v) => ({
      key: 'Set-Cookie',
      value: `${name}=${v.value}${v.attributes ? `; ${v.attributes}` : ''}`,
    })),
  );
  if (cookies.length) headers['set-cookie'] = cookies;
  return { status: r.statusCode, headers };
}

function flatten(headers: CloudFrontHeaders | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, list] of Object.entries(headers ?? {})) {
    if (HOP_BY_HOP.has(name)) continue;
    const values = (list ?? []).map((h) => h.value);
    out[(list?.[0]?.key ?? name).toLowerCase()] = values.length === 1 ? values[0] : values;
  }
  return out;
}

function fail(res: ServerResponse, status: number, message: string, detail: Record<string, unknown>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'x-route-edge-error': message });
  res.end(`${JSON.stringify({ error: message, ...detail })}\n`);
}

export async function startEdge(opts: EdgeOptions): Promise<Edge> {
  const origins = distributionOrigins(opts.config);
  // every distribution origin's timeouts, as the infra app sets them
  const waits = resolveOriginTimeouts(opts.config);
  const geo = opts.locate ?? locate;
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => fail(res, 500, 'local edge failure', { detail: String(e) }));
  });

  const decided = (d: RoutedRequest) => {
    opts.status?.record(d);
    opts.onDecision?.(d);
  };

  /** Routes a request with the Lambda@Edge bundle: where to send it, and a hook for the response headers. */
  async function lambdaEdge(req: IncomingMessage, viewerIp: string, viewer: Viewer): Promise<Routed> {
    const event = originRequestEvent(req, opts.config, viewerIp, viewer);
    // before the function runs (it removes our headers and cookies); toFacts copies what it reads
    const facts = toFacts(event.Records[0].cf.request, Date.now());
    const routed = await opts.originRequest?.(event);
    const o = routed?.origin?.custom;
    if (!routed || !o) throw new Error('the origin-request function returned no custom origin');
    // the request the origin-response function sees: the second attempt's, after a failover
    let sent = routed;
    const groups = opts.config.originGroups;
    // With config originGroups, the distribution's behaviour uses an origin group (the infra app). When the first
    // origin fails, CloudFront sends the same request to the group's second origin and invokes the origin-request
    // function again ("Use origin failover with Lambda@Edge functions"): its event carries the second origin, whose
    // custom header says so.
    const failover: Routed['failover'] = groups
      ? {
          statusCodes: groups.failoverStatusCodes,
          async second() {
            const again = structuredClone(routed);
            again.origin = { custom: { ...secondAttemptOrigin(opts.config) } };
            const r2 = await opts.originRequest?.({
              Records: [{ cf: { config: event.Records[0].cf.config, request: again } }],
            } as CloudFrontRequestEvent);
            const o2 = r2?.origin?.custom;
            if (!r2 || !o2) throw new Error('the origin-request function returned no custom origin');
            sent = r2;
            return {
              origin: { protocol: o2.protocol, domainName: o2.domainName, port: o2.port, path: o2.path },
              target: r2.headers['x-route-region']?.[0]?.value ?? '',
              headers: flatten(r2.headers),
              waits: { ...waits, readTimeoutSeconds: o2.readTimeout ?? waits.readTimeoutSeconds },
            };
          },
        }
      : undefined;
    return {
      origin: { protocol: o.protocol, domainName: o.domainName, port: o.port, path: o.path },
      failover,
      // connection attempts and timeout: the behaviour's origin's (the infra app sets them from the config); the read
      // timeout: the one the function set on the origin
      waits: { ...waits, readTimeoutSeconds: o.readTimeout ?? waits.readTimeoutSeconds },
      method: routed.method,
      path: `${routed.uri}${routed.querystring ? `?${routed.querystring}` : ''}`,
      headers: flatten(routed.headers),
      target: routed.headers['x-route-region']?.[0]?.value ?? '',
      reason: routed.headers['x-route-reason']?.[0]?.value ?? '',
      decision: routed.headers[DECISION_HEADER]?.[0]?.value,
      facts,
      async response(status, message, headers) {
        if (!opts.originResponse) return { status, headers };
        const out = await opts.originResponse({
          Records: [
            {
              cf: {
                config: { ...event.Records[0].cf.config, eventType: 'origin-response' },
                request: sent,
                response: { status: String(status), statusDescription: message, headers },
              },
            },
          ],
        } as unknown as CloudFrontResponseEvent);
        return { status: Number(out.status) || status, headers: out.headers };
      },
    };
  }

  /** Routes a request with the CloudFront Functions file in the runtime harness, against the store's contents. */
  async function cloudFrontFunctions(
    req: IncomingMessage,
    viewerIp: string,
    viewer: Viewer,
  ): Promise<Routed> {
    const cff = opts.viewerRequest;
    if (!cff) throw new Error('no viewer-request function');
    const viewerEvent = viewerRequestEvent(req, viewerIp, viewer);
    const r = await cff.harness.run(viewerEvent, Date.now(), cff.store());
    if (r.returned.statusCode !== undefined)
      throw new Error('the viewer-request function answered the viewer itself');
    const call = r.calls[0];
    // the function selects the distribution's origins by id (one per region, environment and canary, and their
    // per-try copies), each waiting as the infra app sets it: a per-try copy's read timeout is the per-try timeout
    const waitsOf = (id: string): OriginTimeouts =>
      origins.get(id)?.perTry
        ? { ...waits, readTimeoutSeconds: waits.perTryTimeoutSeconds ?? waits.readTimeoutSeconds }
        : waits;
    const asOrigin = (id: string): Routed['origin'] => {
      const o = origins.get(id);
      if (!o) throw new Error(`origin ${id} is not in the config`);
      const protocol = o.protocol ?? 'https';
      return {
        domainName: o.domainName,
        port: o.port ?? (protocol === 'https' ? 443 : 80),
        protocol,
        path: o.path ?? '',
      };
    };
    const group =
      call?.helper === 'createRequestOriginGroup'
        ? (call.args[0] as { originIds: { originId: string }[]; failoverCriteria: { statusCodes: number[] } })
        : undefined;
    const selected = call?.helper === 'selectRequestOriginById' ? (call.args[0] as string) : undefined;
    const first = group ? group.originIds[0].originId : (selected ?? opts.config.fallbackRegion);
    const origin = asOrigin(first);
    const headers: OutgoingHttpHeaders = {};
    for (const [name, f] of Object.entries(r.returned.headers)) {
      headers[name] = f.multiValue?.length ? f.multiValue.map((v) => v.value) : f.value;
    }
    const cookies = Object.entries(r.returned.cookies ?? {}).flatMap(([name, f]) =>
      (f.multiValue?.length ? f.multiValue : [f]).map((v) => `${name}=${v.value}`),
    );
    if (cookies.length) headers.cookie = cookies.join('; ');
    // the Host header follows the selected origin (as for the distribution's own origins)
    headers.host = origin.domainName;
    let failover: Routed['failover'];
    // an origin group: CloudFront retries a GET, HEAD or OPTIONS on the second origin when the first fails
    if (group) {
      const second = group.originIds[1].originId;
      failover = {
        statusCodes: group.failoverCriteria.statusCodes,
        second: async () => ({
          origin: asOrigin(second),
          target: second,
          headers: { ...headers, host: asOrigin(second).domainName },
          waits: waitsOf(second),
        }),
      };
    }
    const url = new URL(req.url ?? '/', 'http://local');
    return {
      origin,
      failover,
      waits: waitsOf(first),
      method: req.method ?? 'GET',
      path: `${r.returned.uri ?? url.pathname}${url.search}`,
      headers,
      target: r.returned.headers['x-route-region']?.value ?? '',
      reason: r.returned.headers['x-route-reason']?.value ?? '',
      decision: r.returned.headers[DECISION_HEADER]?.value,
      // the viewer as the origin-request function would read it (the same core decides in both runtimes)
      facts: toFacts(
        originRequestEvent(req, opts.config, viewerIp, viewer).Records[0].cf.request,
        Date.now(),
      ),
      async response(status, message, h) {
        // CloudFront runs no viewer-response function when the origin answered 400 or above. Its event's request is
        // the one the viewer sent, as AWS documents it, not the one the viewer-request function changed.
        const fn = opts.viewerResponse;
        if (!fn || status >= 400) return { status, headers: h };
        const out = await fn.run(
          {
            ...viewerEvent,
            context: { ...viewerEvent.context, eventType: 'viewer-response' },
            response: toCffResponse(status, message, h),
          },
          Date.now(),
        );
        return fromCffResponse(out.returned as unknown as CffResponse, h);
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url?.startsWith('/_router') && opts.status?.serve(req, res)) return;
    const viewerIp = viewerAddress(req);
    const viewer = geo(viewerIp);
    const country = viewer.country;
    const routed = opts.viewerRequest
      ? await cloudFrontFunctions(req, viewerIp, viewer)
      : await lambdaEdge(req, viewerIp, viewer);
    const said = parseDecisionHeader(routed.decision);
    const seen = (status: number, target = routed.target) =>
      decided({
        at: Date.now(),
        method: routed.method,
        uri: routed.path,
        viewerIp,
        country,
        target,
        reason: routed.reason,
        status,
        serial: said?.serial,
        stale: said?.stale,
        facts: routed.facts,
      });
    // CloudFront fails over only requests without a body to send again
    const idempotent = FAILOVER_METHODS.includes(routed.method);
    // sent with no body, so it can be sent again (CloudFront's connection attempts)
    const replayable = idempotent;
    // the second origin of a group: where the runtime says (Lambda@Edge invokes the function again for it)
    const retry = (failover: NonNullable<Routed['failover']>) =>
      failover.second().then(
        (s) => attempt(s.origin, s.target, s.headers, undefined, 1, s.waits ?? waits),
        (e) => {
          fail(res, 502, 'the second attempt could not be routed', { detail: String(e) });
          seen(502);
        },
      );
    // One origin, as CloudFront tries it ("Controlling origin timeouts and attempts"): up to connectionAttempts
    // connections of connectionTimeoutSeconds each, then readTimeoutSeconds for the answer (a read timeout also
    // costs an attempt). A request with a body streams it to the first connection, so it gets one attempt. When the
    // origin gives no answer: the group's second origin (GET, HEAD, OPTIONS), else 502 (no connection) or 504.
    const attempt = (
      o: Routed['origin'],
      target: string,
      headers: OutgoingHttpHeaders,
      failover?: Routed['failover'],
      tries = 1,
      w: OriginTimeouts = routed.waits,
    ) => {
      const { connectionAttempts, connectionTimeoutSeconds, readTimeoutSeconds } = w;
      opts.onAttempt?.(target);
      const send = o.protocol === 'https' ? httpsRequest : httpRequest;
      const upstream = send({
        host: o.domainName,
        port: o.port,
        method: routed.method,
        path: `${o.path}${routed.path}`,
        headers,
        agent: false,
      });
      let timedOut = false;
      const connectTimer = setTimeout(() => {
        upstream.destroy(new Error(`no connection within ${connectionTimeoutSeconds} s`));
      }, connectionTimeoutSeconds * 1000);
      let readTimer: ReturnType<typeof setTimeout> | undefined;
      upstream.on('socket', (socket) => {
        const onConnect = () => {
          clearTimeout(connectTimer);
          readTimer = setTimeout(() => {
            timedOut = true;
            upstream.destroy(new Error(`no answer within ${readTimeoutSeconds} s`));
          }, readTimeoutSeconds * 1000);
        };
        if (socket.connecting) socket.once('connect', onConnect);
        else onConnect();
      });
      const done = () => {
        clearTimeout(connectTimer);
        clearTimeout(readTimer);
      };
      upstream.on('error', (e) => {
        done();
        if (answered) return;
        if (replayable && tries < connectionAttempts)
          return void attempt(o, target, headers, failover, tries + 1, w);
        if (failover) return void retry(failover);
        // CloudFront: 504 when the origin did not answer in time, 502 when it could not be reached or broke off
        fail(res, timedOut ? 504 : 502, timedOut ? 'the origin did not answer' : 'the origin failed', {
          target,
          origin: `${o.protocol}://${o.domainName}:${o.port}`,
          detail: e.message,
        });
        seen(timedOut ? 504 : 502, target);
      });
      let answered = false;
      upstream.on('response', async (up) => {
        answered = true;
        done();
        if (failover?.statusCodes.includes(up.statusCode ?? 0)) {
          up.resume();
          return void retry(failover);
        }
        const out = await routed.response(
          up.statusCode ?? 502,
          up.statusMessage ?? '',
          cloudFrontHeaders(up.rawHeaders),
        );
        res.writeHead(out.status, up.statusMessage, flatten(out.headers));
        up.pipe(res);
        seen(out.status, target);
      });
      if (replayable) upstream.end();
      else req.pipe(upstream);
      req.on('aborted', () => upstream.destroy());
    };
    attempt(routed.origin, routed.target, routed.headers, idempotent ? routed.failover : undefined);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
