// The status page of the local edge in a real browser: headless Chromium (Debian's `chromium`; .ci/run installs it),
// driven by playwright-core. The page must show the live document and the map, and follow a document change.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type Edge, startEdge } from '../../local/edge';
import { createStatus, type Status } from '../../local/status';
import type { RouterConfig } from '../../shared';
import { buildBundles, coldStart } from '../helpers/bundle';
import { docWith, exampleConfig } from '../helpers/load';
import { type LocalS3, startS3 } from '../helpers/s3';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
}
const BUCKET = 'edge-router-status';
let s3: LocalS3;
let edge: Edge;
let status: Status;
let browser: Browser;

// The bundles' own JSON log lines (their default telemetry writes to console.log, as in Lambda): kept here, not on
// the test run's output.
const logged: string[] = [];
beforeAll(() => {
  jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    logged.push(String(line));
  });
});
afterAll(() => jest.restoreAllMocks());

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 3)));
  const config: RouterConfig = exampleConfig((c) => {
    c.healthDoc = {
      bucket: BUCKET,
      key: 'health.json',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      ttlSeconds: 1,
    } as RouterConfig['healthDoc'];
  });
  const dist = buildBundles(config);
  status = createStatus(config);
  edge = await startEdge({
    config,
    originRequest: coldStart(join(dist, 'origin-request', 'index.js')).handler,
    status,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  status?.close();
  await edge?.close();
  await s3?.close();
});

test('the page shows the document and the map, and follows a document change', async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${edge.port}/_router`);
  await page.waitForSelector('#serial');
  expect(await page.textContent('#serial')).toBe('3');
  // Korea (ISO numeric 410) is drawn, in ap-northeast-2's colour; Germany (276) in eu-central-1's
  const korea = page.locator('path[data-id="410"]');
  await expect(korea.getAttribute('data-target')).resolves.toBe('ap-northeast-2');
  await expect(page.locator('path[data-id="276"]').getAttribute('data-target')).resolves.toBe('eu-central-1');
  expect(await page.locator('#map path').count()).toBeGreaterThan(150);
  const seoulColour = await korea.getAttribute('fill');
  expect(await page.textContent('#legend')).toContain('ap-northeast-2');

  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 4)));
  await page.waitForFunction(() => document.querySelector('#serial')?.textContent === '4', undefined, {
    timeout: 10_000,
  });
  await page.waitForFunction(
    () => document.querySelector('path[data-id="410"]')?.getAttribute('data-target') === 'us-east-1',
    undefined,
    { timeout: 5_000 },
  );
  expect(await korea.getAttribute('fill')).not.toBe(seoulColour);
  // the legend lists only the targets that receive traffic: Seoul, down, receives none
  await page.waitForFunction(
    () => !document.querySelector('#legend')?.textContent?.includes('ap-northeast-2'),
    undefined,
    {
      timeout: 5_000,
    },
  );
  expect(await page.textContent('#legend')).toContain('us-east-1');
  expect(await page.textContent('tr[data-region="ap-northeast-2"] td:nth-child(2)')).toBe('down');
  expect(await page.locator('tr[data-region="ap-northeast-2"] .hold').count()).toBe(0);

  // an operator's hold: who, since, until
  const hold = { by: 'alice', since: '2027-01-15T07:00:00.000Z', until: '2099-01-01T00:00:00.000Z' };
  await s3.put(
    BUCKET,
    'health.json',
    JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down', setBy: 'operator', hold } }, 5)),
  );
  await page.waitForSelector('tr[data-region="ap-northeast-2"] .hold', { timeout: 10_000 });
  expect(await page.textContent('tr[data-region="ap-northeast-2"] .hold')).toBe(
    'held by alice since 2027-01-15T07:00:00.000Z, until 2099-01-01T00:00:00.000Z',
  );
}, 60_000);

test("the page's own requests are not counted as decisions (no /favicon.ico either)", async () => {
  const state = async () =>
    ((await (await fetch(`http://127.0.0.1:${edge.port}/_router/state.json`)).json()) as { total: number })
      .total;
  const before = await state();
  const page = await browser.newPage();
  const asked: string[] = [];
  page.on('request', (r) => {
    asked.push(new URL(r.url()).pathname);
  });
  await page.goto(`http://127.0.0.1:${edge.port}/_router`);
  await page.waitForSelector('#serial');
  await page.waitForTimeout(1500); // a poll of state.json or two
  await page.close();
  expect(asked).not.toContain('/favicon.ico');
  expect(asked.every((p) => p.startsWith('/_router'))).toBe(true);
  expect(await state()).toBe(before);
}, 30_000);

test('the counters and the latest decisions count the routed requests', async () => {
  // the example origins do not resolve here: the edge answers 502, and the decision is still counted
  await fetch(`http://127.0.0.1:${edge.port}/hello`, { headers: { 'x-forwarded-for': '8.8.8.8' } });
  const state = (await (await fetch(`http://127.0.0.1:${edge.port}/_router/state.json`)).json()) as {
    total: number;
    byTarget: Record<string, number>;
    latest: { country: string; target: string }[];
  };
  expect(state.total).toBeGreaterThanOrEqual(1);
  expect(state.latest[0]).toMatchObject({ country: 'US', target: 'us-east-1' });
  expect(state.byTarget['us-east-1']).toBeGreaterThanOrEqual(1);
});
