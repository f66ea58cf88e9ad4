// The built CloudFront Functions viewer-response file (dist/viewer-response/index.js) in the runtime harness, on
// AWS's viewer-response test event: it sets the affinity cookie the viewer-request function signed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundles } from '../helpers/bundle';
import { CffHarness } from '../helpers/cff';
import { loadEvent } from '../helpers/fixtures';
import { affinity, NOW } from '../helpers/keys';
import { exampleConfig, ROOT } from '../helpers/load';

const FILE = join(ROOT, 'dist', 'viewer-response', 'index.js');
const VALUE = affinity('ap-northeast-2');
const ATTRIBUTES = 'Max-Age=300; Path=/; Secure; HttpOnly; SameSite=Lax';

interface ResponseEvent {
  request: { headers: Record<string, { value: string }> };
  response: {
    statusCode: number;
    headers: Record<string, { value: string }>;
    cookies: Record<string, { value: string; attributes?: string }>;
  };
}
const fixture = () => loadEvent<ResponseEvent>('cloudfront-functions/cff-viewer-response.json');

/** AWS's event, with what our viewer-request function sent and what the origin answered. */
function event(opts: { sent?: string; echoed?: string; status?: number } = {}): ResponseEvent {
  const e = fixture();
  if (opts.sent !== undefined) e.request.headers['x-route-affinity'] = { value: opts.sent };
  if (opts.echoed !== undefined) e.response.headers['x-route-affinity'] = { value: opts.echoed };
  if (opts.status !== undefined) e.response.statusCode = opts.status;
  return e;
}

const harness = new CffHarness(FILE);
const run = async (e: ResponseEvent) =>
  (await harness.run(e, NOW)).returned as unknown as ResponseEvent['response'];

test('fits CloudFront Functions: well under 10 KB', () => {
  expect(readFileSync(FILE).byteLength).toBeLessThan(2048);
});

test('the value the viewer-request function signed becomes the affinity cookie; the rest of the response is as it came', async () => {
  const out = await run(event({ sent: VALUE }));
  const expected = fixture().response;
  expected.cookies.route_affinity = { value: VALUE, attributes: ATTRIBUTES };
  expect(out).toEqual(expected);
});

test('the value the origin echoed works as well, and the echo does not reach the viewer', async () => {
  const out = await run(event({ echoed: VALUE }));
  expect(out.cookies.route_affinity).toEqual({ value: VALUE, attributes: ATTRIBUTES });
  expect(Object.keys(out.headers).filter((h) => h.startsWith('x-route-'))).toEqual([]);
});

test.each([400, 404, 500, 503])('nothing when the origin answered %s', async (status) => {
  const out = await run(event({ sent: VALUE, status }));
  expect(out.cookies.route_affinity).toBeUndefined();
});

test('nothing but the shape of a signed value is ever set (no attribute injection)', async () => {
  for (const bad of [`${VALUE}; Domain=evil.example`, 'ap-northeast-2', '', `${VALUE}x`]) {
    const out = await run(event({ sent: bad, echoed: bad }));
    expect(out.cookies.route_affinity).toBeUndefined();
  }
});

test('a request nobody issued a cookie for: the response as it came', async () => {
  expect(await run(event())).toEqual(fixture().response);
});

test('built for a config without affinity: never a cookie', async () => {
  const dist = buildBundles(
    exampleConfig((c) => {
      delete c.affinity;
    }),
  );
  const off = new CffHarness(join(dist, 'viewer-response', 'index.js'));
  const out = (await off.run(event({ sent: VALUE }), NOW)).returned as unknown as ResponseEvent['response'];
  expect(out).toEqual(fixture().response);
});
