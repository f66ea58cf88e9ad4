// The health document's GET, with the AWS SDK v3.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { RouterConfig } from '../../shared/config-schema';
import { MAX_DOC_BYTES } from '../../shared/schema';
import { type DocFetcher, DocTooLargeError, readBody } from './object-cache';

export function s3Fetcher(source: NonNullable<RouterConfig['healthDoc']>): DocFetcher {
  const client = new S3Client({
    region: source.region,
    endpoint: source.endpoint,
    // S3-compatible servers (s3rver, MinIO) are addressed by path, not by virtual host
    forcePathStyle: source.endpoint !== undefined,
    // Lambda puts the function role's credentials in the environment; reading only those keeps the SDK
    // from probing files, SSO or the instance metadata service when they are missing.
    credentials: fromEnv(),
    // DocCache retries with back-off: one attempt per refresh
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return async (etag, signal) => {
    try {
      const r = await client.send(
        new GetObjectCommand({ Bucket: source.bucket, Key: source.key, IfNoneMatch: etag }),
        {
          abortSignal: signal,
        },
      );
      if (r.ContentLength !== undefined && r.ContentLength > MAX_DOC_BYTES) {
        (r.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new DocTooLargeError(r.ContentLength, r.ETag);
      }
      // the limit is on the bytes read: Content-Length may be missing (or wrong) on an S3-compatible server or a proxy
      const text = await readBody(r.Body, signal, r.ETag);
      return { status: 'ok', text, etag: r.ETag };
    } catch (e) {
      // the SDK reports a 304 Not Modified as an error
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 304) {
        return { status: 'not-modified' };
      }
      throw e;
    }
  };
}
