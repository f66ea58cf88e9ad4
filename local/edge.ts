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
import { countryOf } from '../lib/geoip';
import type { RouterConfig } from '../shared';

export type OriginRequestHandler = (event: CloudFrontRequestEvent) => Promise<CloudFrontRequest>;
export type OriginResponseHandler = (event: CloudFrontResponseEvent) => Promise<CloudFrontResponse>;

export interface EdgeOptions {
  readonly config: RouterConfig;
  readonly originRequest: OriginRequestHandler;
  readonly originResponse?: OriginResponseHandler;
  readonly port?: number;
  readonly host?: string;
  /** the viewer's country; default: geoip-lite (country data only) */
  readonly countryOf?: (ip: string) => string | undefined;
  /** called with each routed request's decision headers (for counters and the status page) */
  readonly onDecision?: (d: RoutedRequest) => void;
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
  country: string | undefined,
): CloudFrontRequestEvent {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers = cloudFrontHeaders(req.rawHeaders);
  if (country) headers['cloudfront-viewer-country'] = [{ key: 'CloudFront-Viewer-Country', value: country }];
  // `ip:port`, IPv6 unbracketed, as CloudFront sends it
  headers['cloudfront-viewer-address'] = [
    { key: 'CloudFront-Viewer-Address', value: `${viewerIp}:${req.socket.remotePort ?? 0}` },
  ];
  const fb = config.regions[config.fallbackRegion].origin;
  const protocol = fb.protocol ?? 'https';
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
            origin: {
              custom: {
                customHeaders: {},
                domainName: fb.domainName,
                keepaliveTimeout: 5,
                path: fb.path ?? '',
                port: fb.port ?? (protocol === 'https' ? 443 : 80),
                protocol,
                readTimeout: 30,
                sslProtocols: ['TLSv1.2'],
              },
            },
          },
        },
      },
    ],
  } as CloudFrontRequestEvent;
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
  const geo = opts.countryOf ?? countryOf;
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => fail(res, 500, 'local edge failure', { detail: String(e) }));
  });

  const decided = (d: RoutedRequest) => {
    opts.status?.record(d);
    opts.onDecision?.(d);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url?.startsWith('/_router') && opts.status?.serve(req, res)) return;
    const viewerIp = viewerAddress(req);
    const country = geo(viewerIp);
    const event = originRequestEvent(req, opts.config, viewerIp, country);
    const routed = await opts.originRequest(event);
    const o = routed.origin?.custom;
    if (!o) return fail(res, 502, 'the origin-request function returned no custom origin', {});
    const target = routed.headers['x-route-region']?.[0]?.value ?? '';
    const reason = routed.headers['x-route-reason']?.[0]?.value ?? '';
    const qs = routed.querystring ? `?${routed.querystring}` : '';
    const send = o.protocol === 'https' ? httpsRequest : httpRequest;
    const upstream = send({
      host: o.domainName,
      port: o.port,
      method: routed.method,
      path: `${o.path}${routed.uri}${qs}`,
      headers: flatten(routed.headers),
      timeout: (o.readTimeout ?? 30) * 1000,
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${o.readTimeout ?? 30} s`)));
    upstream.on('error', (e) => {
      fail(res, 502, 'the origin failed', {
        target,
        origin: `${o.protocol}://${o.domainName}:${o.port}`,
        detail: e.message,
      });
      decided({
        at: Date.now(),
        method: routed.method,
        uri: routed.uri,
        viewerIp,
        country,
        target,
        reason,
        status: 502,
      });
    });
    upstream.on('response', async (up) => {
      let headers: CloudFrontHeaders = cloudFrontHeaders(up.rawHeaders);
      let status = up.statusCode ?? 502;
      if (opts.originResponse) {
        const response: CloudFrontResponse = {
          status: String(status),
          statusDescription: up.statusMessage ?? '',
          headers,
        };
        const out = await opts.originResponse({
          Records: [{ cf: { config: event.Records[0].cf.config, request: routed, response } }],
        } as unknown as CloudFrontResponseEvent);
        headers = out.headers;
        status = Number(out.status) || status;
      }
      res.writeHead(status, up.statusMessage, flatten(headers));
      up.pipe(res);
      decided({
        at: Date.now(),
        method: routed.method,
        uri: routed.uri,
        viewerIp,
        country,
        target,
        reason,
        status,
      });
    });
    req.pipe(upstream);
    req.on('aborted', () => upstream.destroy());
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
