// The origin-response function (built bundle) on the real origin-response fixture.
import { join } from 'node:path';
import type { CloudFrontResponseEvent } from 'aws-lambda';
import { loadEvent } from '../helpers/fixtures';
import { affinity } from '../helpers/keys';
import { ROOT } from '../helpers/load';

type Mod = typeof import('../../functions/origin-response/index');
const mod = require(join(ROOT, 'dist', 'origin-response', 'index.js')) as Mod;

const DECISION = 'target=staging; reason=override; doc=7; stale=0';

/** The fixture, with the headers our origin-request function would have put on the request it sent. */
function event(
  sent: Record<string, string>,
  fromOrigin: Record<string, string> = {},
): CloudFrontResponseEvent {
  const e = loadEvent<CloudFrontResponseEvent>('lambda-edge/lambda-edge-origin-response.json');
  const cf = e.Records[0].cf;
  for (const [k, v] of Object.entries(sent)) cf.request.headers[k.toLowerCase()] = [{ key: k, value: v }];
  for (const [k, v] of Object.entries(fromOrigin))
    cf.response.headers[k.toLowerCase()] = [{ key: k, value: v }];
  return e;
}

const routeHeaders = (h: Record<string, unknown>) =>
  Object.keys(h)
    .filter((n) => n.startsWith('x-route-'))
    .sort();

test('an authorised viewer sees x-route-decision', async () => {
  const r = await mod.handler(event({ 'X-Route-Decision': DECISION, 'X-Route-Authorised': '1' }));
  expect(r.headers['x-route-decision']).toEqual([{ key: 'X-Route-Decision', value: DECISION }]);
  expect(r.status).toBe('200');
  expect(r.headers['content-length']).toEqual([{ key: 'Content-Length', value: '9593' }]);
});

test('the public sees no trace, even when the origin echoes what it received', async () => {
  const r = await mod.handler(
    event({ 'X-Route-Decision': DECISION }, { 'X-Route-Decision': DECISION, 'X-Route-Region': 'staging' }),
  );
  expect(routeHeaders(r.headers)).toEqual([]);
});

test('config trace.publicRegion shows just the region to everyone', async () => {
  const handler = mod.createHandler({ publicRegion: true });
  const r = await handler(event({ 'X-Route-Decision': DECISION }));
  expect(routeHeaders(r.headers)).toEqual(['x-route-region']);
  expect(r.headers['x-route-region']).toEqual([{ key: 'X-Route-Region', value: 'staging' }]);
});

test('a response our origin-request function did not route gets nothing', async () => {
  const r = await mod.handler(event({}));
  expect(routeHeaders(r.headers)).toEqual([]);
  expect(r).toEqual(
    loadEvent<CloudFrontResponseEvent>('lambda-edge/lambda-edge-origin-response.json').Records[0].cf.response,
  );
});

test('a malformed event does not throw', async () => {
  const lines: string[] = [];
  const handler = mod.createHandler({ publicRegion: false, log: (l) => lines.push(l) });
  await expect(handler({} as CloudFrontResponseEvent)).resolves.toBeUndefined();
  expect(JSON.parse(lines[0])).toMatchObject({ event: 'bad-event' });
});

describe('region affinity: the cookie the origin-request function signed', () => {
  const VALUE = affinity('ap-northeast-2');
  const withStatus = (
    status: string,
    sent: Record<string, string>,
    fromOrigin: Record<string, string> = {},
  ) => {
    const e = event(sent, fromOrigin);
    e.Records[0].cf.response.status = status;
    return e;
  };

  test('is set on a successful response, next to the cookies the origin set, with the attributes of its life', async () => {
    const r = await mod.handler(
      withStatus(
        '201',
        { 'X-Route-Decision': DECISION, 'X-Route-Affinity': VALUE },
        { 'Set-Cookie': 'sid=1; Path=/' },
      ),
    );
    expect(r.headers['set-cookie']).toEqual([
      { key: 'Set-Cookie', value: 'sid=1; Path=/' },
      {
        key: 'Set-Cookie',
        value: `route_affinity=${VALUE}; Max-Age=300; Path=/; Secure; HttpOnly; SameSite=Lax`,
      },
    ]);
    expect(routeHeaders(r.headers)).toEqual([]);
  });

  test.each(['400', '409', '500', '503'])(
    'not when the origin answered %s (the write failed)',
    async (status) => {
      const r = await mod.handler(withStatus(status, { 'X-Route-Affinity': VALUE }));
      expect(r.headers['set-cookie']).toBeUndefined();
    },
  );

  test('only a value shaped like a signed affinity value is ever written (no attribute injection)', async () => {
    for (const bad of [`${VALUE}; Domain=evil.example`, 'ap-northeast-2', `${VALUE}\r\nX: 1`, '']) {
      const r = await mod.handler(withStatus('200', { 'X-Route-Affinity': bad }));
      expect(r.headers['set-cookie']).toBeUndefined();
    }
  });

  test('an origin cannot have one set by echoing the header back', async () => {
    const r = await mod.handler(withStatus('200', {}, { 'X-Route-Affinity': VALUE }));
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(routeHeaders(r.headers)).toEqual([]);
  });

  test('without affinity in the config, nothing is set', async () => {
    const r = await mod.createHandler({ publicRegion: false })(
      withStatus('200', { 'X-Route-Affinity': VALUE }),
    );
    expect(r.headers['set-cookie']).toBeUndefined();
  });
});
