// Demo regional APIs for the local edge: one small HTTP server per region or environment. Each answers with its
// id and the x-route-* headers it received, so the routing can be seen (and tested) from outside.
//   GET  /health          200 "ok"
//   *    /large?bytes=N   N bytes, streamed in 64 KB chunks
//   *    /reset           the connection is reset (a failing backend)
//   *    /status/NNN      the JSON below, with that status
//   *    anything else    JSON: region, method, path, the x-route-* and CloudFront-Viewer-* headers, and the
//                         body's size and SHA-256
// Each echoes X-Route-Affinity back, as an application behind the CloudFront Functions runtime may need to (see
// functions/viewer-response/handler.ts).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  readonly id: string;
  readonly port: number;
  /** requests answered since start */
  readonly served: () => number;
  /**
   * A fault, for the drill and the tests: `hang` accepts every request and never answers; `503` answers every
   * request (health checks too) 503; `slow` answers everything after `SLOW_MS`; `none` ends the fault.
   */
  fault(f: Fault): void;
  close(): Promise<void>;
}

export type Fault = 'none' | 'hang' | '503' | 'slow';
/** how late a `slow` backend answers */
export const SLOW_MS = 2000;

function answer(id: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://backend');
  const affinity = req.headers['x-route-affinity'];
  const echo = typeof affinity === 'string' ? { 'x-route-affinity': affinity } : {};
  if (url.pathname === '/reset') {
    req.socket.destroy();
    return;
  }
  if (url.pathname === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  if (url.pathname === '/large') {
    const total = Math.min(Number(url.searchParams.get('bytes') ?? 0) || 0, 256 * 1024 * 1024);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-backend': id, ...echo });
    const chunk = Buffer.alloc(64 * 1024, 97);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
          return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  req.on('end', () => {
    const route = Object.fromEntries(Object.entries(req.headers).filter(([n]) => n.startsWith('x-route-')));
    const viewer = Object.fromEntries(
      Object.entries(req.headers).filter(([n]) => n.startsWith('cloudfront-viewer-')),
    );
    const body = JSON.stringify({
      region: id,
      method: req.method,
      path: req.url,
      host: req.headers.host,
      route,
      viewer,
      bodyBytes: bytes,
      bodySha256: hash.digest('hex'),
    });
    const status = Number(/^\/status\/([1-5]\d\d)$/.exec(url.pathname)?.[1] ?? 200);
    res.writeHead(status, { 'content-type': 'application/json', 'x-backend': id, ...echo }).end(`${body}\n`);
  });
}

/** Starts the demo API for `id` on `port` (0: any free port) on the loopback interface. */
export async function startBackend(id: string, port = 0, host = 'localhost'): Promise<Backend> {
  let served = 0;
  let fault: Fault = 'none';
  const server: Server = createServer((req, res) => {
    served++;
    if (fault === 'hang') return; // the connection stays open; nothing is ever sent
    if (fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain', 'x-backend': id }).end('unavailable\n');
      return;
    }
    if (fault === 'slow') setTimeout(() => answer(id, req, res), SLOW_MS);
    else answer(id, req, res);
  });
  // Idle connections kept a minute, as load balancers do (an ALB's default is 60 s): the edge reuses them, and with
  // Node's 5 s default a request could meet a connection the backend had just closed.
  server.keepAliveTimeout = 61_000;
  server.headersTimeout = 62_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    id,
    port: (server.address() as AddressInfo).port,
    served: () => served,
    fault: (f) => {
      fault = f;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
