// The health document's GET: one SigV4-signed request over node:https (a keep-alive agent), signed by the SDK's own
// signer (@smithy/signature-v4) with the function role's credentials from the Lambda environment. Not the S3 client:
// requiring @aws-sdk/client-s3 costs a cold start about 100 ms, on a viewer's request.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { RouterConfig } from '../../shared/config-schema';
import { type DocSource, readOrder } from '../../shared/doc-sources';
import { MAX_DOC_BYTES } from '../../shared/schema';
import { DEFAULT_TIMEOUT_MS, type DocFetcher, DocTooLargeError, readBody } from './object-cache';

/** One object in one bucket. */
export interface S3Object {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  /** an S3-compatible server (s3rver, MinIO), addressed by path */
  readonly endpoint?: string;
}

/** An S3 error answer: `name` is S3's error code (NoSuchKey, AccessDenied, ...). */
export class S3Error extends Error {
  readonly $metadata: { readonly httpStatusCode: number };
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

// connections are kept between invocations of a container: a warm refresh is one round trip
const agents = {
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 8 }),
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 8 }),
};

/** The most of an error answer read, for its code and message. */
const MAX_ERROR_BYTES = 4096;

/** Where the object is: virtual-hosted on AWS (path-style for a bucket name with dots, which TLS cannot cover). */
export function objectUrl(o: S3Object): URL {
  const path = o.key.split('/').map(encodeURIComponent).join('/');
  if (o.endpoint !== undefined) return new URL(`${o.endpoint.replace(/\/+$/, '')}/${o.bucket}/${path}`);
  return o.bucket.includes('.')
    ? new URL(`https://s3.${o.region}.amazonaws.com/${o.bucket}/${path}`)
    : new URL(`https://${o.bucket}.s3.${o.region}.amazonaws.com/${path}`);
}

/** The Lambda environment's credentials (the function role's, with its session token). */
function credentialsOf(env: NodeJS.ProcessEnv) {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)');
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

export function s3Fetcher(o: S3Object, env: NodeJS.ProcessEnv = process.env): DocFetcher {
  const url = objectUrl(o);
  const signer = new SignatureV4({
    service: 's3',
    region: o.region,
    sha256: Hash.bind(null, 'sha256'),
    // read for each request: the environment's credentials are the role's current ones
    credentials: async () => credentialsOf(env),
    // S3 signs the path as sent, not escaped again
    uriEscapePath: false,
  });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = agents[url.protocol as keyof typeof agents];
  return async (etag, signal) => {
    const signed = await signer.sign({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: {},
      headers: { host: url.host, ...(etag !== undefined ? { 'if-none-match': etag } : {}) },
    });
    signal.throwIfAborted();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method: 'GET', headers: signed.headers, agent, signal }, resolve);
      req.on('error', (e) => reject(signal.aborted ? signal.reason : e));
      req.end();
    });
    const status = res.statusCode ?? 0;
    const resEtag = header(res, 'etag');
    if (status === 304) {
      res.resume();
      return { status: 'not-modified' };
    }
    if (status !== 200) throw await errorOf(res, status, signal);
    const length = Number(header(res, 'content-length') ?? Number.NaN);
    if (length > MAX_DOC_BYTES) {
      res.destroy();
      throw new DocTooLargeError(length, resEtag);
    }
    // the limit is on the bytes read: Content-Length may be missing (or wrong) on an S3-compatible server or a proxy
    const text = await readBody(res, signal, resEtag);
    return { status: 'ok', text, etag: resEtag };
  };
}

function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** S3's error answer as an S3Error: its <Code> and <Message>, from at most MAX_ERROR_BYTES of the body. */
async function errorOf(res: IncomingMessage, status: number, signal: AbortSignal): Promise<Error> {
  let body = '';
  try {
    body = await readBody(res, signal, undefined, MAX_ERROR_BYTES);
  } catch {
    // the status says enough
  }
  const code = /<Code>([^<]{1,64})<\/Code>/.exec(body)?.[1] ?? `HTTP${status}`;
  const message = /<Message>([^<]{1,200})<\/Message>/.exec(body)?.[1] ?? `S3 answered ${status}`;
  return new S3Error(code, status, message);
}

/**
 * One GET over the copies of an object, in the order given (shared/doc-sources.ts readOrder: the nearest copy, then
 * the primary): the first copy is asked; when it fails, or has not answered in `hedgeMs`, the next is asked as well,
 * and the first answer wins (the others are aborted). Every copy failing rejects with each one's error.
 */
export function copiesFetcher(
  copies: readonly { readonly source: DocSource; readonly fetch: DocFetcher }[],
  hedgeMs: number,
): DocFetcher {
  if (copies.length === 1) {
    const only = copies[0];
    return async (etag, signal) => ({ ...(await only.fetch(etag, signal)), source: only.source.name });
  }
  return (etag, signal) =>
    new Promise((resolve, reject) => {
      const aborts = copies.map(() => new AbortController());
      const errors: string[] = [];
      let started = 0;
      let settled = 0;
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopAll = () => {
        done = true;
        clearTimeout(timer);
        for (const a of aborts) a.abort(new Error('another copy answered'));
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        if (done) return;
        stopAll();
        // what each copy asked did, the ones still waiting with the deadline's words
        const why = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
        for (let i = 0; i < started; i++)
          errors[i] ??= `${copies[i].source.name} (${copies[i].source.bucket}): ${why}`;
        reject(new Error(`no copy could be read: ${errors.filter(Boolean).join('; ')}`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const next = () => {
        clearTimeout(timer);
        if (done || started === copies.length) return;
        const i = started++;
        const { source, fetch } = copies[i];
        if (started < copies.length) timer = setTimeout(next, hedgeMs);
        fetch(etag, aborts[i].signal).then(
          (r) => {
            if (done) return;
            stopAll();
            resolve({ ...r, source: source.name });
          },
          (e) => {
            if (done) return;
            // a document over the limit is an answer, not a failure of the copy
            if (e instanceof DocTooLargeError) {
              stopAll();
              reject(e);
              return;
            }
            errors[i] =
              `${source.name} (${source.bucket}): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
            if (++settled === copies.length) {
              stopAll();
              reject(new Error(`no copy could be read: ${errors.filter(Boolean).join('; ')}`));
            } else next();
          },
        );
      };
      next();
    });
}

/**
 * The fetcher of one object (the document, or the keys next to it) as a function in `at` reads it: the nearest copy,
 * then the primary, asked after half of timeoutMs without an answer (or at once when the first fails).
 */
export function docFetcher(
  src: NonNullable<RouterConfig['healthDoc']>,
  key: string,
  at: string | undefined = process.env.AWS_REGION,
  env: NodeJS.ProcessEnv = process.env,
): DocFetcher {
  const copies = readOrder(src, at).map((source) => ({
    source,
    fetch: s3Fetcher({ bucket: source.bucket, key, region: source.region, endpoint: source.endpoint }, env),
  }));
  return copiesFetcher(copies, Math.floor((src.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 2));
}
