// Conditional writes for the local S3. s3rver ignores If-Match and If-None-Match on PUT, so two writers that read the
// same document would both "win", and one change would be lost. Real S3 refuses the second with 412
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). This sits in front of s3rver's own
// request handler: a PUT with either header waits for the PUTs before it on the same key, compares the object's
// current ETag (from s3rver's store), and either goes on to s3rver or is answered 412 PreconditionFailed, as S3
// answers it. Everything else goes to s3rver unchanged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type S3rver from 's3rver';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What a test may do before s3rver sees a request (hold reads until writers overlap, say). */
export type BeforeRequest = (req: IncomingMessage) => Promise<void> | void;

interface Store {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
}

const PRECONDITION_FAILED = (condition: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>${condition}</Condition></Error>`;

/** Whether a PUT's conditions hold against the object's current ETag (undefined: no object). */
export function conditionsHold(
  current: string | undefined,
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
): { ok: true } | { ok: false; condition: string } {
  if (ifNoneMatch !== undefined && (ifNoneMatch === '*' ? current !== undefined : ifNoneMatch === current))
    return { ok: false, condition: 'If-None-Match' };
  if (ifMatch !== undefined && (current === undefined || (ifMatch !== '*' && ifMatch !== current)))
    return { ok: false, condition: 'If-Match' };
  return { ok: true };
}

/** Puts the conditional-write check in front of a running s3rver (after `run()`). */
export function enforceConditionalWrites(server: S3rver, before?: BeforeRequest): void {
  const http = (server as unknown as { httpServer: import('node:http').Server }).httpServer;
  const store = (server as unknown as { store: Store }).store;
  const [s3rver] = http.listeners('request') as Handler[];
  http.removeListener('request', s3rver);
  const queues = new Map<string, Promise<void>>();

  const currentEtag = async (bucket: string, key: string): Promise<string | undefined> => {
    try {
      return (await store.getMetadata(bucket, key)).etag;
    } catch {
      return undefined; // no such object
    }
  };

  const conditional = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const [bucket, ...rest] = path.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const h = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v.trim() : undefined;
    };
    const verdict = conditionsHold(await currentEtag(bucket, key), h('if-match'), h('if-none-match'));
    if (!verdict.ok) {
      req.resume();
      res.writeHead(412, { 'content-type': 'application/xml' }).end(PRECONDITION_FAILED(verdict.condition));
      return;
    }
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      s3rver(req, res);
    });
  };

  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      await before?.(req);
      const path = new URL(req.url ?? '/', 'http://s3').pathname;
      const guarded =
        req.method === 'PUT' &&
        (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined) &&
        path.split('/').length > 2;
      if (!guarded) return s3rver(req, res);
      // one conditional write at a time per key: the check and the write are one step
      const prev = queues.get(path) ?? Promise.resolve();
      const mine = prev.then(() => conditional(req, res, path));
      const tail = mine.catch(() => {});
      queues.set(path, tail);
      await mine;
      if (queues.get(path) === tail) queues.delete(path);
    })().catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
  });
}
