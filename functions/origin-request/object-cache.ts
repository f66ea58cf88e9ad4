// A small JSON object in S3 as a Lambda@Edge container sees it (the health document; the signing keys): fetched,
// kept at module scope, refreshed with conditional GETs, never holding a request longer than timeoutMs, and never
// given up for a worse one.
import type { RouterConfig } from '../../shared/config-schema';
import { type Parsed, problemsOf } from '../../shared/problems';
import { type HealthDoc, type KeysDoc, MAX_DOC_BYTES, schemas } from '../../shared/schema';
import { readHealthDocText, readJsonText } from '../../shared/validate';
import type { Telemetry } from './telemetry';

export type FetchResult = (
  | { readonly status: 'ok'; readonly text: string; readonly etag?: string }
  | { readonly status: 'not-modified' }
) & {
  /** which copy answered (healthDoc.replicas): 'primary' or a replica's region */
  readonly source?: string;
};

/** One GET of the document; `etag` asks for a 304 when unchanged. Rejects on any failure. */
export type DocFetcher = (etag: string | undefined, signal: AbortSignal) => Promise<FetchResult>;

/** The document is larger than the 256 KB limit: rejected without being read (or without reading the rest). */
export class DocTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly etag?: string,
    /** `bytes` is what was read before stopping, not the whole size (no Content-Length, or a wrong one) */
    readonly atLeast = false,
  ) {
    super(`document is ${atLeast ? 'over ' : ''}${bytes} bytes; the limit is ${MAX_DOC_BYTES}`);
    this.name = 'DocTooLargeError';
  }
}

/**
 * A response body as UTF-8 text, read at most to `maxBytes`: one byte more stops the read (the stream destroyed) with
 * a DocTooLargeError, whatever Content-Length said or if it said nothing. An abort of `signal` (the refresh's
 * deadline) stops it too, so the deadline covers the body as well as the headers.
 */
export async function readBody(
  body: unknown,
  signal: AbortSignal,
  etag?: string,
  maxBytes = MAX_DOC_BYTES,
): Promise<string> {
  if (body === undefined || body === null) return '';
  const stream = body as AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void };
  const stop = () => stream.destroy?.(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  if (signal.aborted) {
    stop();
    throw signal.reason;
  }
  signal.addEventListener('abort', stop, { once: true });
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) {
        stream.destroy?.();
        throw new DocTooLargeError(bytes, etag, true);
      }
      chunks.push(chunk);
    }
  } catch (e) {
    if (signal.aborted && !(e instanceof DocTooLargeError)) throw signal.reason;
    throw e;
  } finally {
    signal.removeEventListener('abort', stop);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface DocState<T = HealthDoc> {
  /** the last known good object, or null before any was loaded (for the health doc: route on defaults) */
  readonly doc: T | null;
  /** older than maxStaleSeconds since it was last confirmed */
  readonly stale: boolean;
  /** ms since the document was last fetched or confirmed by a 304, or null */
  readonly ageMs: number | null;
}

export interface ObjectCacheOptions<T> {
  /** names the logs (`<kind>-load`, ...) and metrics (`<Kind>Loads`, ...) */
  readonly kind: 'doc' | 'keys';
  readonly parse: (text: string) => Parsed<T>;
  /** what a load log line says of the object (never a secret) */
  readonly describe: (data: T) => Record<string, unknown>;
  readonly config: RouterConfig;
  readonly fetch: DocFetcher;
  readonly telemetry: Telemetry;
  readonly now?: () => number;
  /**
   * The object's serial, for an object that must never go backwards: one with a lower serial than the last known good
   * is refused (`<kind>-regressed`), and routing stays on the good one.
   */
  readonly serialOf?: (data: T) => number;
  /** first back-off after a failure, doubled on each failure in a row, up to maxBackoffMs */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 300;

export type DocCacheOptions = Omit<ObjectCacheOptions<HealthDoc>, 'kind' | 'parse' | 'describe' | 'serialOf'>;

export class ObjectCache<T> {
  private doc: T | null = null;
  private etag: string | undefined;
  /** ETag of a document we rejected: asked for with If-None-Match so an unchanged bad doc costs a 304 */
  private rejectedEtag: string | undefined;
  private confirmedAt: number | undefined;
  private freshUntil = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  private failures = 0;
  private nextAttemptAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly maxStaleMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;

  private readonly metric: {
    loads: string;
    failures: string;
    rejections: string;
    regressions: string;
    behind: string;
  };

  constructor(private readonly opts: ObjectCacheOptions<T>) {
    const Kind = opts.kind === 'doc' ? 'Doc' : 'Keys';
    this.metric = {
      loads: `${Kind}Loads`,
      failures: `${Kind}LoadFailures`,
      rejections: `${Kind}Rejections`,
      regressions: `${Kind}Regressions`,
      behind: `${Kind}ReplicaBehind`,
    };
    const src = opts.config.healthDoc;
    this.now = opts.now ?? Date.now;
    this.ttlMs = (src?.ttlSeconds ?? 10) * 1000;
    this.timeoutMs = src?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // a refresh may outlive the request that started it (it finishes on a later invocation), but not forever
    this.deadlineMs = Math.max(5 * this.timeoutMs, 1000);
    this.maxStaleMs =
      src?.maxStaleSeconds !== undefined ? src.maxStaleSeconds * 1000 : Number.POSITIVE_INFINITY;
    this.backoffMs = opts.backoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30000;
  }

  /** The document to route on now. Waits for a refresh at most timeoutMs, and only when it must. */
  async current(): Promise<DocState<T>> {
    const now = this.now();
    if (now >= this.freshUntil && this.inflight === null && now >= this.nextAttemptAt) {
      const refresh = this.refresh();
      this.inflight = refresh;
      void refresh.finally(() => {
        if (this.inflight === refresh) this.inflight = null;
      });
      await this.waitAtMost(refresh, this.timeoutMs);
    } else if (this.inflight !== null && this.doc === null) {
      // cold start, another request's refresh in flight: worth waiting for, within the same bound
      await this.waitAtMost(this.inflight, this.timeoutMs);
    }
    return this.state();
  }

  state(): DocState<T> {
    const ageMs = this.confirmedAt === undefined ? null : this.now() - this.confirmedAt;
    return { doc: this.doc, stale: ageMs !== null && ageMs > this.maxStaleMs, ageMs };
  }

  private async waitAtMost(p: Promise<void>, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    try {
      await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async refresh(): Promise<void> {
    const t = this.opts.telemetry;
    const started = this.now();
    const abort = new AbortController();
    const deadline = setTimeout(
      () => abort.abort(new Error(`no answer in ${this.deadlineMs} ms`)),
      this.deadlineMs,
    );
    try {
      const fetched = this.opts.fetch(this.rejectedEtag ?? this.etag, abort.signal);
      // a cold container builds the schemas that parse the answer while the request is in flight, not before it
      // is sent (shared/schema.ts schemas; they are built on first use in any case)
      if (this.doc === null) setImmediate(schemas);
      const r = await fetched;
      const now = this.now();
      this.failures = 0;
      this.freshUntil = now + this.ttlMs;
      if (r.status === 'not-modified') {
        if (this.rejectedEtag === undefined) this.confirmedAt = now;
        return;
      }
      const parsed = this.opts.parse(r.text);
      if (!parsed.success) {
        this.reject(
          r.etag,
          parsed.errors.map((e) => `${e.path}: ${e.message}`),
        );
        return;
      }
      const serialOf = this.opts.serialOf;
      if (serialOf && this.doc !== null && serialOf(parsed.data) < serialOf(this.doc)) {
        this.rejectedEtag = r.etag;
        const refused = { ...this.opts.describe(parsed.data), etag: r.etag, source: r.source };
        if (r.source !== undefined && r.source !== 'primary') {
          // a replica a writer has not reached yet (doc sync repairs it) after the primary was read: kept, not alarmed
          t.count(this.metric.behind);
          t.log('warn', `${this.opts.kind}-replica-behind`, { refused, ...this.kept() });
          return;
        }
        // a restored or replayed old object: whoever wrote it would steer traffic without a trace
        t.count(this.metric.regressions);
        t.log('error', `${this.opts.kind}-regressed`, { refused, ...this.kept() });
        return;
      }
      this.doc = parsed.data;
      this.etag = r.etag;
      this.rejectedEtag = undefined;
      this.confirmedAt = now;
      t.count(this.metric.loads);
      t.log('info', `${this.opts.kind}-load`, {
        ...this.opts.describe(parsed.data),
        etag: r.etag,
        source: r.source,
        fetchMs: now - started,
        warnings: parsed.warnings.length ? parsed.warnings.map((w) => `${w.path}: ${w.message}`) : undefined,
      });
    } catch (e) {
      if (e instanceof DocTooLargeError) {
        this.failures = 0;
        this.freshUntil = this.now() + this.ttlMs;
        this.reject(e.etag, [e.message]);
        return;
      }
      this.failures++;
      const backoff = Math.min(this.backoffMs * 2 ** (this.failures - 1), this.maxBackoffMs);
      this.nextAttemptAt = this.now() + backoff;
      t.count(this.metric.failures);
      t.log('warn', `${this.opts.kind}-refresh-failed`, {
        error: describe(e),
        failures: this.failures,
        retryInMs: backoff,
        ...this.kept(),
      });
    } finally {
      clearTimeout(deadline);
    }
  }

  private reject(etag: string | undefined, errors: string[]): void {
    this.rejectedEtag = etag;
    this.opts.telemetry.count(this.metric.rejections);
    this.opts.telemetry.log('error', `${this.opts.kind}-rejected`, {
      etag,
      errors: errors.slice(0, 20),
      ...this.kept(),
    });
  }

  /** What routing goes on with: the last known good object, or the defaults. */
  private kept(): Record<string, unknown> {
    const s = this.state();
    if (s.doc)
      return {
        kept: 'last-known-good',
        ...this.opts.describe(s.doc),
        etag: this.etag,
        ageMs: s.ageMs,
        stale: s.stale,
      };
    return { kept: this.opts.kind === 'doc' ? 'defaults (every region up)' : 'none (no token is valid)' };
  }
}

/** The health document (config healthDoc). */
export class DocCache extends ObjectCache<HealthDoc> {
  constructor(opts: DocCacheOptions) {
    super({
      ...opts,
      kind: 'doc',
      parse: (text) => readHealthDocText(text, opts.config),
      describe: (d) => ({ serial: d.serial, updatedAt: d.updatedAt }),
      serialOf: (d) => d.serial,
    });
  }
}

/** The signing keys for x-route-token (config override.keysKey, next to the health document). */
export class KeysCache extends ObjectCache<KeysDoc> {
  constructor(opts: DocCacheOptions) {
    super({
      ...opts,
      kind: 'keys',
      parse: (text): Parsed<KeysDoc> => {
        const json = readJsonText(text, MAX_DOC_BYTES);
        if (!json.success) return json;
        const r = schemas().KeysDocSchema.safeParse(json.data);
        return r.success
          ? { success: true, data: r.data, warnings: [] }
          : { success: false, errors: problemsOf(r.error) };
      },
      // key ids only: a secret never reaches a log
      describe: (k) => ({ keyIds: k.keys.map((key) => (key.retired ? `${key.id} (retired)` : key.id)) }),
    });
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return `${e.name}: ${e.message}${status ? ` (HTTP ${status})` : ''}`;
  }
  return String(e);
}
