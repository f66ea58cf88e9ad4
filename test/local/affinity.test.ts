// Read-your-writes end to end in the local edge (npm start's stack: built bundles, s3rver, demo backends), for both
// runtimes. A viewer writes from Korea and is served by ap-northeast-2, which sets the affinity cookie; the same viewer,
// now seen from Germany, reads from ap-northeast-2 until the cookie ends; once ap-northeast-2 is marked down the read
// goes elsewhere, and the next write re-issues the cookie for the region that served it.
// The example's residency group (Germany → eu-central-1 only) is left out here: with it, a German viewer's Seoul cookie
// is ignored, as the contract table shows for both runtimes. Waits only let a TTL pass.
import { type LocalStack, startLocalOnFreePorts } from '../../local/stack';
import type { HealthDoc } from '../../shared';
import { everyTargetUp } from '../../shared/health-check';

const KOREA = '1.208.0.1';
const GERMANY = '85.214.0.1';
const TTL = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['lambda-edge', 'cloudfront-functions'] as const)('read-your-writes, runtime %s', (runtime) => {
  let stack: LocalStack;
  let close: (() => Promise<void>) | undefined;
  let serial = 1;

  beforeAll(async () => {
    ({ stack, close } = await startLocalOnFreePorts('edge-router-affinity-', {
      runtime,
      change: (raw) => {
        delete raw.residency;
        // the document alone says who is up: no health checker undoing what the test marks down
        delete raw.health;
        if (raw.affinity) raw.affinity.ttlSeconds = TTL;
      },
    }));
  }, 90_000);

  afterAll(async () => {
    await close?.();
  });

  /** One request from a simulated viewer, with the affinity cookie if given. */
  async function send(method: string, path: string, ip: string, cookie?: string) {
    const headers: Record<string, string> = { 'x-forwarded-for': ip };
    if (cookie) headers.cookie = `route_affinity=${cookie}`;
    const r = await fetch(`http://127.0.0.1:${stack.edge.port}${path}`, { method, headers });
    const body = JSON.parse(await r.text()) as { region: string; route: Record<string, string> };
    const set = r.headers.getSetCookie().find((c) => c.startsWith('route_affinity='));
    return {
      status: r.status,
      region: body.region,
      reason: body.route['x-route-reason'],
      set,
      cookie: set ? /^route_affinity=([^;]+)/.exec(set)?.[1] : undefined,
    };
  }
  const expiresMs = (cookie: string) => Number(cookie.split('.')[3]) * 1000;

  async function markSeoul(status: 'up' | 'down') {
    const doc: HealthDoc = everyTargetUp(stack.config, ++serial, new Date().toISOString());
    doc.regions['ap-northeast-2'] = { ...doc.regions['ap-northeast-2'], status };
    await stack.putDoc(doc);
  }

  test('a write from Korea sets the cookie; from Germany the viewer reads from Seoul until it ends', async () => {
    const write = await send('POST', '/orders', KOREA);
    expect(write).toMatchObject({ status: 200, region: 'ap-northeast-2', reason: 'nearest' });
    expect(write.set).toMatch(
      new RegExp(
        `^route_affinity=ea1\\.local\\.ap-northeast-2\\.\\d+\\.[\\w-]{43}; Max-Age=${TTL}; Path=/; Secure; HttpOnly; SameSite=Lax$`,
      ),
    );
    const cookie = write.cookie as string;

    // without the cookie, Germany reads from Frankfurt; with it, from Seoul, and a read sets no cookie
    expect(await send('GET', '/orders', GERMANY)).toMatchObject({
      region: 'eu-central-1',
      reason: 'nearest',
    });
    const read = await send('GET', '/orders', GERMANY, cookie);
    expect(read).toMatchObject({ region: 'ap-northeast-2', reason: 'affinity', set: undefined });

    // until the cookie's signed expiry, then Frankfurt again
    let movedAt = 0;
    while (Date.now() < expiresMs(cookie) + 3000) {
      const r = await send('GET', '/orders', GERMANY, cookie);
      if (r.region !== 'ap-northeast-2') {
        movedAt = Date.now();
        expect(r).toMatchObject({ region: 'eu-central-1', reason: 'nearest' });
        break;
      }
      await sleep(250);
    }
    expect(movedAt).toBeGreaterThanOrEqual(expiresMs(cookie));
    expect(movedAt - expiresMs(cookie)).toBeLessThan(1500);
  }, 30_000);

  test('Seoul marked down: the read goes elsewhere at once, and the next write re-issues the cookie', async () => {
    const cookie = (await send('POST', '/orders', KOREA)).cookie as string;
    expect(await send('GET', '/orders', GERMANY, cookie)).toMatchObject({ region: 'ap-northeast-2' });
    await markSeoul('down');
    let read = await send('GET', '/orders', GERMANY, cookie);
    while (read.region === 'ap-northeast-2' && Date.now() < expiresMs(cookie)) {
      await sleep(200);
      read = await send('GET', '/orders', GERMANY, cookie);
    }
    // moved while the cookie was still valid: because Seoul is down, not because the cookie ended
    expect(Date.now()).toBeLessThan(expiresMs(cookie));
    expect(read).toMatchObject({ region: 'eu-central-1', reason: 'nearest' });

    const rewrite = await send('PUT', '/orders/1', GERMANY, cookie);
    expect(rewrite).toMatchObject({ status: 200, region: 'eu-central-1' });
    expect(rewrite.cookie).toMatch(/^ea1\.local\.eu-central-1\./);
    // back in Korea, whose nearest region is down: the new cookie keeps the viewer on Frankfurt, not the failover
    expect(await send('GET', '/orders', KOREA, rewrite.cookie)).toMatchObject({
      region: 'eu-central-1',
      reason: 'affinity',
    });
    expect(await send('GET', '/orders', KOREA)).toMatchObject({ region: 'us-east-1', reason: 'failover' });
    await markSeoul('up');
  }, 30_000);

  test('a failed write sets no cookie', async () => {
    // Seoul is up again once the edge has reread the document (its TTL is 2 s)
    for (let i = 0; i < 40 && (await send('GET', '/orders', KOREA)).region !== 'ap-northeast-2'; i++)
      await sleep(250);
    const r = await send('POST', '/status/409', KOREA);
    expect(r).toMatchObject({ status: 409, region: 'ap-northeast-2', set: undefined });
    expect((await send('POST', '/status/201', KOREA)).cookie).toMatch(/^ea1\.local\.ap-northeast-2\./);
  }, 15_000);
});
