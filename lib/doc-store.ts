// The health document in S3, for the operator CLI and the health checker: read with its ETag, write only over the
// ETag that was read (If-Match), or only where nothing is (If-None-Match: *), the object versions of a versioned
// bucket, and the fan-out to the replicas (healthDoc.replicas), which never go to a lower serial.
import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { RouterConfig } from '../shared/config-schema';
import { docSources } from '../shared/doc-sources';

export interface StoreLocation {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  readonly endpoint?: string;
}

/** Conflicts in a row a writer re-reads through before it gives up. */
export const MAX_CONFLICTS = 3;

/** The live object changed since it was read (HTTP 412 or 409): re-read, never overwrite. */
export class ConflictError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the live document changed since it was read', options);
    this.name = 'ConflictError';
  }
}

export interface Stored {
  readonly text: string;
  readonly etag: string;
  readonly lastModified?: Date;
  readonly versionId?: string;
}

export interface Version {
  readonly versionId: string;
  readonly lastModified?: Date;
  readonly size?: number;
  readonly isLatest: boolean;
  readonly etag?: string;
}

/** Credentials come from the standard AWS chain; an endpoint means an S3-compatible server (path-style). */
export function s3Client(loc: StoreLocation): S3Client {
  return new S3Client({
    region: loc.region,
    endpoint: loc.endpoint,
    forcePathStyle: loc.endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // bounded waits: an endpoint that accepts and never answers fails a command instead of hanging it
    requestHandler: {
      connectionTimeout: S3_CONNECT_TIMEOUT_MS,
      requestTimeout: S3_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  });
}

/** How long the CLI and the health checker wait for S3: to connect, and for an answer. */
export const S3_CONNECT_TIMEOUT_MS = 3000;
export const S3_REQUEST_TIMEOUT_MS = 5000;

const status = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

/** The live document, or null when there is none. */
export async function readDoc(
  client: S3Client,
  loc: StoreLocation,
  versionId?: string,
): Promise<Stored | null> {
  try {
    const r = await client.send(
      new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, VersionId: versionId }),
    );
    return {
      text: (await r.Body?.transformToString('utf-8')) ?? '',
      etag: r.ETag ?? '',
      lastModified: r.LastModified,
      versionId: r.VersionId,
    };
  } catch (e) {
    if (
      (e instanceof NoSuchKey ||
        (e instanceof S3ServiceException && e.name === 'NoSuchKey') ||
        status(e) === 404) &&
      // a missing bucket is not a missing document: it is the wrong bucket, or the wrong place
      (e as Error).name !== 'NoSuchBucket'
    ) {
      if (versionId === undefined) return null;
    }
    throw e;
  }
}

/** Writes over exactly the ETag that was read (null: only if there is no object yet). */
export async function writeDoc(
  client: S3Client,
  loc: StoreLocation,
  text: string,
  etag: string | null,
): Promise<string> {
  try {
    const r = await client.send(
      new PutObjectCommand({
        Bucket: loc.bucket,
        Key: loc.key,
        Body: text,
        ContentType: 'application/json',
        // S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
        ...(etag === null ? { IfNoneMatch: '*' } : { IfMatch: etag }),
      }),
    );
    return r.ETag ?? '';
  } catch (e) {
    const code = status(e);
    if (code === 412 || code === 409) throw new ConflictError({ cause: e });
    throw e;
  }
}

export async function listVersions(client: S3Client, loc: StoreLocation): Promise<Version[]> {
  const out: Version[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  do {
    const r = await client.send(
      new ListObjectVersionsCommand({ Bucket: loc.bucket, Prefix: loc.key, KeyMarker, VersionIdMarker }),
    );
    for (const v of r.Versions ?? []) {
      if (v.Key !== loc.key || !v.VersionId) continue;
      out.push({
        versionId: v.VersionId,
        lastModified: v.LastModified,
        size: v.Size,
        isLatest: v.IsLatest === true,
        etag: v.ETag,
      });
    }
    KeyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
    VersionIdMarker = r.IsTruncated ? r.NextVersionIdMarker : undefined;
  } while (KeyMarker);
  return out.sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0));
}

/** A copy of the document other than the primary: its region (its name), and where its objects are. */
export interface Replica {
  readonly region: string;
  /** where the document is: the replica's bucket, the primary's key */
  readonly loc: StoreLocation;
  /** its place in the config, for messages: healthDoc.replicas[i] */
  readonly path: string;
}

/** The config's replicas, each holding its objects under the primary's `key`. */
export function replicasOf(src: RouterConfig['healthDoc'], key: string): Replica[] {
  if (!src) return [];
  return docSources(src)
    .slice(1)
    .map((s, i) => ({
      region: s.region,
      loc: { bucket: s.bucket, key, region: s.region, endpoint: s.endpoint },
      path: `healthDoc.replicas[${i}]`,
    }));
}

/** What a copy holds and was left with: written (over `before`, if there was one), kept as it was, or not written. */
export type CopyResult =
  | {
      readonly replica: Replica;
      readonly outcome: 'written';
      readonly etag: string;
      readonly before?: Stored;
    }
  | { readonly replica: Replica; readonly outcome: 'kept'; readonly current: Stored }
  | { readonly replica: Replica; readonly outcome: 'failed'; readonly error: unknown };

/**
 * Writes `text` to each replica unless `keep(current)` says what it holds stays, the replicas at once. Each write is
 * conditional on the ETag read (If-Match, or If-None-Match: * when there is no object); on a conflict the replica is
 * read again and `keep` asked again, up to MAX_CONFLICTS times. Never throws: a replica that cannot be read or written
 * is a 'failed' result, for the caller to report.
 */
export async function copyToReplicas(
  replicas: readonly Replica[],
  text: string,
  keep: (current: Stored) => boolean,
): Promise<CopyResult[]> {
  return eachReplica(replicas, async (client, replica): Promise<CopyResult> => {
    try {
      for (let attempt = 1; attempt <= MAX_CONFLICTS; attempt++) {
        const current = await readDoc(client, replica.loc);
        if (current && keep(current)) return { replica, outcome: 'kept', current };
        try {
          const etag = await writeDoc(client, replica.loc, text, current?.etag ?? null);
          return { replica, outcome: 'written', etag, before: current ?? undefined };
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
        }
      }
      return { replica, outcome: 'failed', error: new ConflictError() };
    } catch (error) {
      return { replica, outcome: 'failed', error };
    }
  });
}

/** What each replica holds: its object (null: none), or why it could not be read. */
export function readReplicas(
  replicas: readonly Replica[],
): Promise<{ replica: Replica; stored?: Stored | null; error?: unknown }[]> {
  return eachReplica(replicas, async (client, replica) => {
    try {
      return { replica, stored: await readDoc(client, replica.loc) };
    } catch (error) {
      return { replica, error };
    }
  });
}

/** `fn` for every replica at once, each with a client of its own (its region, its endpoint), destroyed after. */
function eachReplica<T>(
  replicas: readonly Replica[],
  fn: (client: S3Client, replica: Replica) => Promise<T>,
): Promise<T[]> {
  return Promise.all(
    replicas.map(async (replica) => {
      const client = s3Client(replica.loc);
      try {
        return await fn(client, replica);
      } finally {
        client.destroy();
      }
    }),
  );
}

/** A document's serial, read without the config (a replica's may be any JSON); undefined when it has none. */
export function serialOf(text: string): number | undefined {
  try {
    const serial = (JSON.parse(text) as { serial?: unknown } | null)?.serial;
    return typeof serial === 'number' && Number.isSafeInteger(serial) && serial >= 0 ? serial : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fan-out after the primary was written with serial `serial`: the same text to every replica that is behind.
 * A replica that holds this serial or a higher one is left alone (another writer got there first, or it is ahead):
 * a replica never goes to a lower serial. One without a serial (missing, or not a document) is written.
 */
export function writeReplicas(
  replicas: readonly Replica[],
  text: string,
  serial: number,
): Promise<CopyResult[]> {
  return copyToReplicas(replicas, text, (current) => (serialOf(current.text) ?? -1) >= serial);
}
