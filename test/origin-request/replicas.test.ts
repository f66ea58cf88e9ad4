// A cold Lambda@Edge container far from the primary bucket (healthDoc.replicas): the built bundle, two real S3 APIs
// (s3rver, in-process) and a TCP proxy in front of the primary that adds 100 ms each way, as a bucket in us-east-1
// is about 200 ms round trip from Sydney (the project's latency matrix). The time bounds asserted are the
// config's timeoutMs contract, not speed.
import type { AddressInfo } from 'node:net';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mintToken } from '../../shared';
import { buildOriginRequest, coldStart, configWith, type OriginRequestModule } from '../helpers/bundle';
import { originRequest } from '../helpers/fixtures';
import { TEST_KEYS, TEST_RING } from '../helpers/keys';
import { docWith } from '../helpers/load';
import { type LocalS3, startS3 } from '../helpers/s3';

const PRIMARY = 'edge-router-health';
const REPLICA = 'edge-router-health-sydney';
const KEY = 'health.json';
const ONE_WAY_MS = 100;

/**
 * A TCP proxy that delays every chunk by ONE_WAY_MS in each direction, and the connection itself by two round trips
 * (the TCP and TLS handshakes a real connection pays): a cold GET takes three, about 600 ms.
 */
async function slowProxy(target: number): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    sockets.push(client);
    client.pause();
    setTimeout(() => {
      const upstream = createConnection(target, '127.0.0.1');
      sockets.push(upstream);
      const relay = (from: Socket, to: Socket) => {
        from.on('data', (chunk) => setTimeout(() => to.write(chunk), ONE_WAY_MS));
        from.on('end', () => setTimeout(() => to.end(), ONE_WAY_MS));
        from.on('error', () => to.destroy());
      };
      relay(client, upstream);
      relay(upstream, client);
      client.resume();
    }, 4 * ONE_WAY_MS);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** An address where nothing listens (connection refused), and one that accepts and never answers. */
async function deadEndpoints(): Promise<{ refused: string; hung: string; close: () => Promise<void> }> {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((r) => closed.close(r));
  const held: Socket[] = [];
  const hung: Server = createServer((s) => held.push(s));
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  return {
    refused,
    hung: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of held) s.destroy();
      await new Promise((r) => hung.close(r));
    },
  };
}

let primary: LocalS3;
let replica: LocalS3;
let proxy: Awaited<ReturnType<typeof slowProxy>>;
let dead: Awaited<ReturnType<typeof deadEndpoints>>;
let lines: string[];
const logs = (event: string) => lines.map((l) => JSON.parse(l)).filter((l) => l.event === event);

/** A bundle whose primary is behind the slow proxy, with a replica in Sydney at `replicaEndpoint`. */
function bundle(timeoutMs: number, replicaEndpoint: string | null, primaryEndpoint = proxy.endpoint) {
  return buildOriginRequest(
    configWith({
      bucket: PRIMARY,
      key: KEY,
      region: 'us-east-1',
      endpoint: primaryEndpoint,
      ttlSeconds: 3600,
      timeoutMs,
      ...(replicaEndpoint
        ? { replicas: [{ region: 'ap-southeast-2', bucket: REPLICA, endpoint: replicaEndpoint }] }
        : {}),
    }),
  );
}

async function invoke(mod: OriginRequestModule, headers: Record<string, string> = {}) {
  const started = performance.now();
  const r = await mod.handler(originRequest({ 'CloudFront-Viewer-Country': 'KR', ...headers }));
  return {
    ms: performance.now() - started,
    region: r.headers['x-route-region']?.[0]?.value,
    doc: /doc=(\w+); stale=(\d)/
      .exec(r.headers['x-route-decision']?.[0]?.value ?? '')
      ?.slice(1)
      .join(':'),
  };
}

/** A cold container in Sydney: AWS_REGION is read when the bundle loads, as Lambda sets it. */
function coldInSydney(file: string): OriginRequestModule {
  const before = process.env.AWS_REGION;
  process.env.AWS_REGION = 'ap-southeast-2';
  try {
    return coldStart(file);
  } finally {
    if (before === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = before;
  }
}

beforeAll(async () => {
  primary = await startS3([PRIMARY]);
  replica = await startS3([REPLICA]);
  proxy = await slowProxy(Number(new URL(primary.endpoint).port));
  dead = await deadEndpoints();
  // the copies differ here only so that a test can tell which one a decision used: Seoul down in the replica's
  await primary.put(PRIMARY, KEY, JSON.stringify(docWith({}, 7)));
  await replica.put(REPLICA, KEY, JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 8)));
});

afterAll(async () => {
  await proxy?.close();
  await dead?.close();
  await primary?.close();
  await replica?.close();
});

beforeEach(() => {
  lines = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => {
    lines.push(line);
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('a cold container in Sydney, the primary bucket 200 ms away (a cold GET: 600 ms)', () => {
  test('the primary alone cannot be read within timeoutMs 500: the first request routes blind', async () => {
    const mod = coldInSydney(bundle(500, null));
    const r = await invoke(mod);
    expect(r).toMatchObject({ region: 'ap-northeast-2', doc: 'none:0' });
    expect(r.ms).toBeLessThan(500 + 150);
    // the fetch goes on past the request's wait, and the next request has the document: waited for here, so that
    // its log does not land in the next test's
    const deadline = Date.now() + 5000;
    while (logs('doc-load').length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(logs('doc-load')).toEqual([expect.objectContaining({ serial: 7, source: 'primary' })]);
    expect(logs('doc-load')[0].fetchMs).toBeGreaterThan(500);
  });

  test('with a replica in its region, the first request routes on the replica, within timeoutMs', async () => {
    const mod = coldInSydney(bundle(500, replica.endpoint));
    const r = await invoke(mod);
    expect(r).toMatchObject({ region: 'us-east-1', doc: '8:0' });
    expect(r.ms).toBeLessThan(500);
    expect(logs('doc-load')).toEqual([expect.objectContaining({ serial: 8, source: 'ap-southeast-2' })]);
  });

  test.each([
    ['refused', () => dead.refused],
    ['hung', () => dead.hung],
  ])('the replica %s: the first request routes on the primary', async (_, endpoint) => {
    // refused: the primary is asked at once; hung: after half of timeoutMs (750 ms), and answers 600 ms later
    const mod = coldInSydney(bundle(1500, endpoint()));
    const r = await invoke(mod);
    expect(r).toMatchObject({ region: 'ap-northeast-2', doc: '7:0' });
    expect(r.ms).toBeLessThan(1500);
    expect(logs('doc-load')).toEqual([expect.objectContaining({ serial: 7, source: 'primary' })]);
  });

  test('both unreadable: routed on the defaults, flagged as no document in the decision and the logs', async () => {
    const mod = coldInSydney(bundle(300, dead.refused, dead.hung));
    const r = await invoke(mod);
    expect(r).toMatchObject({ region: 'ap-northeast-2', doc: 'none:0' });
    expect(r.ms).toBeLessThan(300 + 150);
    // the refresh outlives the request, to its deadline (5 × timeoutMs): then why, naming each copy
    await new Promise((res) => setTimeout(res, 5 * 300 + 200));
    expect(logs('doc-refresh-failed')).toEqual([
      expect.objectContaining({
        error: expect.stringMatching(/ap-southeast-2 \(edge-router-health-sydney\): .*ECONNREFUSED/),
        kept: 'defaults (every region up)',
      }),
    ]);
  });
});

test('the document and the keys are fetched together: a request with a token waits one timeoutMs, not two', async () => {
  await replica.put(REPLICA, 'keys.json', JSON.stringify(TEST_KEYS));
  // both copies hang: the document and the keys each wait out their own timeoutMs, at the same time
  const mod = coldInSydney(bundle(300, dead.hung, dead.hung));
  const token = mintToken(TEST_RING, 'staging', Math.floor(Date.now() / 1000) + 600, 'k1');
  const r = await invoke(mod, { 'x-route-token': token });
  expect(r.doc).toBe('none:0');
  expect(r.ms).toBeLessThan(2 * 300);
  expect(r.ms).toBeGreaterThanOrEqual(300 - 5);
});

test('keys from the replica: a token is honoured on the first request of a cold container', async () => {
  await replica.put(REPLICA, 'keys.json', JSON.stringify(TEST_KEYS));
  const mod = coldInSydney(bundle(500, replica.endpoint));
  const token = mintToken(TEST_RING, 'staging', Math.floor(Date.now() / 1000) + 600, 'k1');
  const r = await invoke(mod, { 'x-route-token': token, 'x-route-to': 'staging' });
  expect(r.region).toBe('staging');
});

describe("the signed GET (s3rver checks every request's SigV4 signature)", () => {
  const read = (env: NodeJS.ProcessEnv) => {
    const mod = coldStart(bundle(500, replica.endpoint));
    const fetch = mod.s3Fetcher(
      { bucket: REPLICA, key: KEY, region: 'ap-southeast-2', endpoint: replica.endpoint },
      env,
    );
    return fetch(undefined, new AbortController().signal);
  };

  test("the role's credentials, session token included: the document", async () => {
    const r = await read({
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_SESSION_TOKEN: 't',
    });
    expect(r).toMatchObject({ status: 'ok', etag: expect.stringMatching(/^"/) });
  });

  test("S3's error answer: its code and status (s3rver refuses an unknown access key)", async () => {
    await expect(read({ AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'x' })).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
      $metadata: { httpStatusCode: 403 },
    });
  });

  // s3rver does not check SigV4 signatures ("Signature version 4 calculation is unimplemented"): this server does,
  // with the algorithm written out from the S3 guide, an oracle independent of the signer the bundle uses.
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
  test('the signature is the one S3 computes: canonical request, scope, session token, If-None-Match signed', async () => {
    const { createHash, createHmac } = await import('node:crypto');
    const { createServer: http } = await import('node:http');
    const seen: { ok: boolean; headers: Record<string, string | string[] | undefined> }[] = [];
    const server = http((req, res) => {
      const h = req.headers as Record<string, string>;
      const [, cred, signed, sig] =
        /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
          h.authorization ?? '',
        ) ?? [];
      const [keyId, day, region, service] = (cred ?? '').split('/');
      const names = (signed ?? '').split(';');
      const canonical = [
        req.method,
        new URL(req.url ?? '/', 'http://x').pathname,
        '',
        ...names.map((n) => `${n}:${String(h[n]).trim()}`),
        '',
        signed,
        h['x-amz-content-sha256'],
      ].join('\n');
      const scope = `${day}/${region}/${service}/aws4_request`;
      const toSign = [
        'AWS4-HMAC-SHA256',
        h['x-amz-date'],
        scope,
        createHash('sha256').update(canonical).digest('hex'),
      ];
      const hmac = (k: string | Buffer, v: string) => createHmac('sha256', k).update(v).digest();
      let k = hmac('AWS4secret/key', day);
      for (const part of [region, service, 'aws4_request']) k = hmac(k, part);
      const expected = createHmac('sha256', k).update(toSign.join('\n')).digest('hex');
      seen.push({ ok: keyId === 'AKIDTEST' && sig === expected, headers: h });
      res.writeHead(304).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const mod = coldStart(bundle(500, replica.endpoint));
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const env = {
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'secret/key',
        AWS_SESSION_TOKEN: 'tok',
      };
      const fetch = mod.s3Fetcher(
        { bucket: 'b', key: 'dir/health doc.json', region: 'ap-southeast-2', endpoint },
        env,
      );
      expect(await fetch('"e1"', new AbortController().signal)).toMatchObject({ status: 'not-modified' });
      const wrong = mod.s3Fetcher(
        { bucket: 'b', key: 'k', region: 'ap-southeast-2', endpoint },
        {
          ...env,
          AWS_SECRET_ACCESS_KEY: 'other',
        },
      );
      await wrong(undefined, new AbortController().signal);
      expect(seen.map((s) => s.ok)).toEqual([true, false]);
      expect(seen[0].headers).toMatchObject({
        'x-amz-security-token': 'tok',
        'if-none-match': '"e1"',
        authorization: expect.stringMatching(
          /Credential=AKIDTEST\/\d{8}\/ap-southeast-2\/s3\/aws4_request.*if-none-match.*x-amz-security-token/,
        ),
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('no credentials in the environment: says which variables', async () => {
    await expect(read({})).rejects.toThrow(/AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY/);
  });
});
