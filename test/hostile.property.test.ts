// Hostile events through both built bundles (the Lambda@Edge origin-request file and the CloudFront Functions
// viewer-request file in its harness), 2,000 of them per run, each with a fresh seed: junk and forged headers
// (x-route-*, CloudFront-Viewer-Address with a VPN address, X-Forwarded-For), odd cookies, odd runtime IPs, odd
// methods and URIs, and event shapes CloudFront does not send. For every one:
//   - neither runtime throws;
//   - every origin either selects is one of the config's;
//   - a viewer is authorised only from an allow-listed runtime IP (clientIp / viewer.ip), or with a valid token;
//   - for a well-formed event, both runtimes make the same decision.
import { join } from 'node:path';
import type { CloudFrontRequest, CloudFrontRequestEvent } from 'aws-lambda';
import fc from 'fast-check';
import { asStore, keysEntries, planEntries } from '../lib/kvs';
import { compileCidrs } from '../shared/cidr';
import { matchCidr, parseIp } from '../shared/net';
import { distributionOrigins } from '../shared/router';
import { buildBundles, bundledRouter, coldStart } from './helpers/bundle';
import { CffHarness } from './helpers/cff';
import { originRequest, setClientIp, viewerRequest } from './helpers/fixtures';
import { NOW, TEST_KEYS, token } from './helpers/keys';
import { docWith, exampleConfig } from './helpers/load';

const RUNS = 2000;
const config = exampleConfig();
const dist = buildBundles(config);
const mod = coldStart(join(dist, 'origin-request', 'index.js'));
const router = bundledRouter(mod, config);
const ORIGINS = distributionOrigins(config);
const DOMAINS = new Set([...ORIGINS.values()].map((o) => o.domainName));
const TARGETS = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];
const allowed = compileCidrs((config.override?.allowCidrs ?? []).map((c) => [c, true] as const));
const allowListed = (ip: unknown) => matchCidr(allowed, parseIp(ip)) === true;
const cff = new CffHarness(join(dist, 'viewer-request', 'index.js'), { origins: [...ORIGINS.keys()] });
const doc = docWith({ 'sa-east-1': { status: 'down' } }, 9);
const store = { ...asStore(keysEntries(TEST_KEYS)), ...asStore(planEntries(router, doc)) };

const junk = fc.string({ unit: 'binary', maxLength: 300 });
const vpn = fc.constantFrom('10.8.0.5', '10.8.200.1', '10.9.0.7', '2001:db8:8::1');
const header = fc.oneof(
  fc.tuple(fc.constantFrom('x-route-to', 'X-Route-To'), fc.oneof(fc.constantFrom(...TARGETS, '*'), junk)),
  fc.tuple(
    fc.constant('x-route-token'),
    fc.oneof(
      junk,
      fc.constantFrom(...TARGETS).map((t) => `${token(t)}x`),
    ),
  ),
  fc.tuple(
    fc.constantFrom(
      'x-route-region',
      'x-route-reason',
      'x-route-decision',
      'x-route-authorised',
      'x-route-affinity',
    ),
    fc.oneof(junk, fc.constant('1')),
  ),
  // a viewer can send these: never a source of the viewer's address
  fc.tuple(
    fc.constant('cloudfront-viewer-address'),
    vpn.map((ip) => `${ip}:443`),
  ),
  fc.tuple(fc.constantFrom('x-forwarded-for', 'x-real-ip', 'true-client-ip'), vpn),
  fc.tuple(
    fc.constant('cloudfront-viewer-country'),
    fc.oneof(fc.constantFrom('KR', 'DE', 'US', 'kr', ''), junk),
  ),
  fc.tuple(fc.constantFrom('cloudfront-viewer-latitude', 'cloudfront-viewer-longitude'), junk),
  fc.tuple(fc.constant('x-home-region'), junk),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), junk),
);
// cookie names and values as a Cookie header can carry them (RFC 6265), so that both runtimes read the same ones
const cookieValue = fc.stringMatching(/^[!#-+\--:<-[\]-~]{0,40}$/);
const cookie = fc.tuple(fc.constantFrom('route_to', 'route_affinity', 'session', 'sticky', 'x'), cookieValue);
const runtimeIp = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  vpn,
  fc.constantFrom('', 'not-an-ip', '::ffff:10.8.0.5', '999.1.1.1'),
);
/** a token minted with the test keys, for a target, unexpired: the only kind that may authorise from outside */
const validToken = fc.constantFrom(...TARGETS, '*').map((t) => ({ token: token(t), t }));

const requestArb = fc.record({
  headers: fc.array(header, { maxLength: 12 }),
  cookies: fc.array(cookie, { maxLength: 8 }),
  ip: runtimeIp,
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'get', 'BREW', ''),
  uri: fc.oneof(
    fc.constantFrom('/', '/hello', '/a/b?c'),
    junk.map((s) => `/${s}`),
  ),
  token: fc.option(validToken, { nil: undefined }),
  // event shapes CloudFront does not send
  shape: fc.constantFrom(
    'ok',
    'ok',
    'ok',
    'ok',
    'no-headers',
    'headers-not-arrays',
    'no-origin',
    'no-request',
  ),
});

test(`${RUNS} hostile events: no throw, no origin outside the config, no authorisation from a header, and agreement`, async () => {
  let compared = 0;
  let authorisedByIp = 0;
  await fc.assert(
    fc.asyncProperty(requestArb, async (r) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of r.headers) headers[name.toLowerCase()] = value;
      if (r.token) headers['x-route-token'] = r.token.token;
      const cookies: Record<string, string> = {};
      for (const [name, value] of r.cookies) cookies[name] = value;

      // Lambda@Edge
      const event: CloudFrontRequestEvent = originRequest(headers);
      const req = event.Records[0].cf.request as CloudFrontRequest & Record<string, unknown>;
      const cookieHeader = Object.entries(cookies)
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
      if (cookieHeader) req.headers.cookie = [{ key: 'Cookie', value: cookieHeader }];
      setClientIp(event, r.ip);
      Object.assign(req, { method: r.method, uri: r.uri });
      if (r.shape === 'no-headers') delete (req as { headers?: unknown }).headers;
      if (r.shape === 'headers-not-arrays')
        (req.headers as unknown as Record<string, unknown>)['x-route-to'] = 'staging';
      if (r.shape === 'no-origin') delete (req as { origin?: unknown }).origin;
      if (r.shape === 'no-request') delete (event.Records[0].cf as { request?: unknown }).request;
      const lambda = (await mod.createHandler({
        router,
        telemetry: new mod.Telemetry({ runtime: 'test', write: () => {} }),
        docs: { current: async () => ({ doc, stale: false, ageMs: 0 }) },
        keys: { current: async () => ({ doc: TEST_KEYS, stale: false, ageMs: 0 }) },
        now: () => NOW,
      })(event)) as CloudFrontRequest | undefined;

      // CloudFront Functions
      const viewerEvent = viewerRequest(headers, cookies, r.ip) as unknown as Record<string, unknown> & {
        request: Record<string, unknown>;
      };
      Object.assign(viewerEvent.request, { method: r.method, uri: r.uri });
      if (r.shape === 'no-headers') delete viewerEvent.request.headers;
      if (r.shape === 'no-request') delete (viewerEvent as { request?: unknown }).request;
      const f = await cff.run(viewerEvent, NOW, store);

      if (r.shape === 'no-request') {
        expect(lambda).toBeUndefined();
        expect(f.returned).toBeUndefined();
        return;
      }
      // every origin is the config's
      const domain = lambda?.origin?.custom?.domainName;
      expect(DOMAINS.has(domain as string)).toBe(true);
      for (const call of f.calls) {
        const ids =
          call.helper === 'createRequestOriginGroup'
            ? (call.args[0] as { originIds: { originId: string }[] }).originIds.map((o) => o.originId)
            : [call.args[0] as string];
        for (const id of ids) expect(ORIGINS.has(id)).toBe(true);
      }
      // authorised only from an allow-listed runtime IP, or with a valid token; never from a header's address
      const lambdaAuthorised = lambda?.headers?.['x-route-authorised']?.[0]?.value === '1';
      const cffAuthorised = f.returned.headers?.['x-route-authorised']?.value === '1';
      for (const authorised of [lambdaAuthorised, cffAuthorised])
        if (authorised) expect(allowListed(r.ip) || r.token !== undefined).toBe(true);
      if (lambdaAuthorised && allowListed(r.ip)) authorisedByIp++;
      // a well-formed event: the same decision in both
      if (r.shape === 'ok') {
        expect(f.returned.headers['x-route-decision'].value).toBe(
          lambda?.headers['x-route-decision'][0].value,
        );
        expect(cffAuthorised).toBe(lambdaAuthorised);
        compared++;
      }
    }),
    { numRuns: RUNS },
  );
  // the runs reach both sides of the checks
  expect(compared).toBeGreaterThan(RUNS / 3);
  expect(authorisedByIp).toBeGreaterThan(0);
}, 120_000);
