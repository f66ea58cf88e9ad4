// The health document in S3, for the operator CLI: read with its ETag, write only over the ETag that was read
// (If-Match), or only where nothing is (If-None-Match: *), and the object versions of a versioned bucket.
import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';

export interface StoreLocation {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  readonly endpoint?: string;
}

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
