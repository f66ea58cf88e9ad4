// A real S3 API server in-process (s3rver), and an S3 client set up the way s3rver needs it.
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { type BeforeRequest, enforceConditionalWrites } from '../../local/s3-conditional';

export interface LocalS3 {
  readonly endpoint: string;
  readonly client: S3Client;
  /** GET requests the server has answered for `key` (any status) */
  gets(key: string): number;
  /** HTTP statuses of those GETs, in order */
  statuses(key: string): number[];
  /** forget the GETs counted so far */
  resetCounts(): void;
  put(bucket: string, key: string, body: string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * s3rver with S3's conditional writes (local/s3-conditional.ts, as the local stack runs it); `before` runs ahead of
 * each request (a test's way to make readers overlap).
 */
export async function startS3(buckets: string[], before?: BeforeRequest): Promise<LocalS3> {
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: mkdtempSync(join(tmpdir(), 'edge-router-s3rver-')),
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = (await server.run()) as AddressInfo;
  enforceConditionalWrites(server, before);
  const statuses = new Map<string, number[]>();
  server.httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || !req.url) return;
    const key = decodeURIComponent(new URL(req.url, 'http://x').pathname.split('/').slice(2).join('/'));
    const list = statuses.get(key) ?? [];
    statuses.set(key, list);
    const i = list.push(0) - 1;
    res.on('finish', () => {
      list[i] = res.statusCode;
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // without these, s3rver stores streamed puts corrupted
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    client,
    gets: (key) => statuses.get(key)?.length ?? 0,
    statuses: (key) => [...(statuses.get(key) ?? [])],
    resetCounts: () => statuses.clear(),
    put: async (Bucket, Key, Body) => {
      await client.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'application/json' }));
    },
    remove: async (Bucket, Key) => {
      await client.send(new DeleteObjectCommand({ Bucket, Key }));
    },
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}
