// The status page of the local edge in a real browser: headless Chromium (Debian's `chromium`; .ci/run installs it),
// driven by playwright-core. The page must show the live document and the map, and follow a document change.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type Edge, startEdge } from '../../local/edge';
import { createStatus, type Status } from '../../local/status';
import { compileRouter, type RouterConfig } from '../../shared';
import { routingTable } from '../../shared/simulate';
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
let config: RouterConfig;

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
  config = exampleConfig((c) => {
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

const stateOf = async () =>
  (await (await fetch(`http://127.0.0.1:${edge.port}/_router/state.json`)).json()) as {
    serials: { s3: number | null; edge: { serial: number | null } | null };
  };
const waitForS3Serial = async (serial: number) => {
  for (let i = 0; i < 100 && (await stateOf()).serials.s3 !== serial; i++)
    await new Promise((r) => setTimeout(r, 100));
};
const viewer = (ip: string) =>
  fetch(`http://127.0.0.1:${edge.port}/hello`, { headers: { 'x-forwarded-for': ip } });

test('under a dial, each country shows its split: the majority, a marker, and the shares of `table` in a tooltip', async () => {
  const doc = docWith({ 'ap-northeast-2': { status: 'up', dial: 30 } }, 20);
  await s3.put(BUCKET, 'health.json', JSON.stringify(doc));
  await waitForS3Serial(20);
  const expected = routingTable(compileRouter(config), doc, Date.now()).KR;
  expect(expected.split?.['ap-northeast-2']).toBeGreaterThan(20); // the case the issue names: 29 % still there
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${edge.port}/_router`);
  const korea = page.locator('path[data-id="410"]');
  await page.waitForFunction(() => document.querySelector('path[data-id="410"]')?.hasAttribute('data-split'));
  expect(await korea.getAttribute('data-target')).toBe(expected.target);
  const shares = Object.entries(expected.split ?? {})
    .map(([id, share]) => `${id} ${share}%`)
    .join(', ');
  expect(await korea.getAttribute('data-split')).toBe(shares);
  expect(await korea.getAttribute('class')).toBe('split');
  expect(await korea.locator('title').textContent()).toBe(`South Korea: ${shares}`);
  // Germany is not split, and says where it goes
  const germany = page.locator('path[data-id="276"]');
  expect(await germany.getAttribute('data-split')).toBeNull();
  expect(await germany.locator('title').textContent()).toBe('Germany: eu-central-1 (nearest)');
  expect(await page.textContent('#legend')).toContain('split between targets');
  await page.close();
}, 30_000);

test("the page shows the serial the edge routes with beside S3's, and warns while they differ", async () => {
  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 30)));
  await waitForS3Serial(30);
  await new Promise((r) => setTimeout(r, 1100)); // past the edge's TTL (1 s): the next request reads serial 30
  await viewer('8.8.8.8');
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${edge.port}/_router`);
  await page.waitForFunction(() => document.querySelector('#edge-serial')?.textContent === '30');
  expect(await page.locator('#serial-warning').count()).toBe(0);

  // S3 moves on; the edge reads it only when a request comes, so it is still on 30
  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({ 'ap-northeast-2': { status: 'down' } }, 31)));
  await page.waitForSelector('#serial-warning', { timeout: 10_000 });
  expect(await page.textContent('#serial-warning')).toContain(
    'S3 holds serial 31, but the edge routed with serial 30',
  );
  expect(await page.textContent('#edge-serial')).toBe('30');

  await new Promise((r) => setTimeout(r, 1100));
  await viewer('8.8.8.8');
  await page.waitForFunction(() => document.querySelector('#edge-serial')?.textContent === '31', undefined, {
    timeout: 10_000,
  });
  await page.waitForFunction(() => !document.querySelector('#serial-warning'), undefined, { timeout: 5_000 });
  await page.close();
}, 30_000);

test('the latest decisions carry the date, the serial and the trace, and filter by target and reason', async () => {
  await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 40)));
  await waitForS3Serial(40);
  await new Promise((r) => setTimeout(r, 1100));
  await viewer('85.214.0.1'); // Germany
  await viewer('8.8.8.8'); // the US
  await viewer('85.214.0.1');
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${edge.port}/_router`);
  await page.waitForSelector('tr.decision');
  const first = page.locator('tr.decision').first();
  // the newest: Germany, routed with serial 40, not stale, and the date in full
  expect(await first.getAttribute('data-target')).toBe('eu-central-1');
  expect(await first.locator('td').nth(0).textContent()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(await first.locator('td').nth(6).textContent()).toBe('40');
  await first.locator('summary').click();
  const trace = await first.locator('.trace').textContent();
  expect(trace).toContain('geo: country DE');
  expect(trace).toContain('chose eu-central-1 (nearest)');

  await page.selectOption('#filter-target', 'us-east-1');
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('tr.decision')).every(
      (r) => r.getAttribute('data-target') === 'us-east-1',
    ),
  );
  expect(await page.locator('tr.decision').count()).toBeGreaterThan(0);
  await page.selectOption('#filter-target', '');
  await page.selectOption('#filter-reason', 'nearest');
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('tr.decision')).some(
      (r) => r.getAttribute('data-target') === 'eu-central-1',
    ),
  );
  const reasons = await page
    .locator('tr.decision')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-reason')));
  expect(new Set(reasons)).toEqual(new Set(['nearest']));
  await page.close();
}, 30_000);
