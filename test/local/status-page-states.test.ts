// The status page in a real browser (Debian's chromium, driven by playwright-core), in the states issue 16 names: a
// decision the edge made on a missing or stale health document (the doc column's serial and stale flag), the serial of
// the plan in the CloudFront Functions KeyValueStore beside S3's, and an operator's hold with "the probes see it …"
// when the health checker disagrees. Every state is made for real: the local S3 resets every connection, the CLI
// publishes, a backend is stopped and the in-process health checker sees it; each value is read from the page's DOM.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type Browser, chromium, type Page } from 'playwright-core';
import { asStore, planEntries } from '../../lib/kvs';
import { type Edge, startEdge } from '../../local/edge';
import { type LocalStack, startLocalOnFreePorts } from '../../local/stack';
import { createStatus, type Status } from '../../local/status';
import { compileRouter, type HealthDoc, type RouterConfig } from '../../shared';
import { buildBundles, coldStart } from '../helpers/bundle';
import { docWith, exampleConfig, ROOT } from '../helpers/load';
import { type LocalS3, startS3 } from '../helpers/s3';
import { run } from '../helpers/spawn';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let browser: Browser;

// the bundles' own JSON log lines (their telemetry writes to console.log, as in Lambda): kept off the test's output
beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => {});
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 30_000);
afterAll(async () => {
  await browser?.close();
  jest.restoreAllMocks();
});

/** Waits until `selector`'s text is `want`; else fails with what the page shows there. */
async function textBecomes(page: Page, selector: string, want: string, timeout = 10_000): Promise<void> {
  try {
    await page.waitForFunction(
      ([sel, w]) => document.querySelector(sel)?.textContent === w,
      [selector, want],
      {
        timeout,
      },
    );
  } catch {
    const shown = await page.evaluate((sel) => document.querySelector(sel)?.textContent ?? null, selector);
    expect({ [selector]: shown }).toEqual({ [selector]: want });
  }
}

/** The cell of a decision's document (the serial it was routed with, and the stale flag), found by its request. */
const docCell = (page: Page, uri: string) =>
  page
    .locator('tr.decision', { hasText: `GET ${uri}` })
    .locator('td')
    .nth(6);

describe('Lambda@Edge: the decisions made on a missing and on a stale document say so', () => {
  const BUCKET = 'edge-router-status-stale';
  let s3: LocalS3;
  let edge: Edge;
  let status: Status;
  let config: RouterConfig;
  // S3 unreachable: every connection to it is reset before s3rver reads the request
  let refusing = false;

  beforeAll(async () => {
    s3 = await startS3([BUCKET], (req) => {
      if (!refusing) return;
      req.socket.destroy();
      throw new Error('the test refuses S3');
    });
    config = exampleConfig((c) => {
      c.healthDoc = {
        bucket: BUCKET,
        key: 'health.json',
        region: 'us-east-1',
        endpoint: s3.endpoint,
        ttlSeconds: 1,
        maxStaleSeconds: 2,
        // a loaded machine's refresh still lands within the request that starts it
        timeoutMs: 1000,
      } as RouterConfig['healthDoc'];
    });
    const dist = buildBundles(config);
    status = createStatus(config);
    edge = await startEdge({
      config,
      originRequest: coldStart(join(dist, 'origin-request', 'index.js')).handler,
      status,
    });
  }, 60_000);

  afterEach(() => {
    refusing = false;
  });

  afterAll(async () => {
    status?.close();
    await edge?.close();
    await s3?.close();
  });

  const viewer = (uri: string) =>
    fetch(`http://127.0.0.1:${edge.port}${uri}`, { headers: { 'x-forwarded-for': '8.8.8.8' } });

  test('no document: "none"; past maxStaleSeconds with S3 unreachable: the serial and "stale"; S3 back: fresh', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${edge.port}/_router`);

    // a cold start with no document in the bucket: the edge routes on the defaults, and says doc=none
    await viewer('/missing');
    await page.waitForSelector('tr.decision', { timeout: 10_000 });
    expect(await docCell(page, '/missing').textContent()).toBe('none');

    await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 50)));
    await sleep(1100); // past the back-off after the failed load (1 s)
    await viewer('/fresh');
    await page.waitForSelector('tr.decision >> text=GET /fresh', { timeout: 10_000 });
    expect(await docCell(page, '/fresh').textContent()).toBe('50');

    // S3 refuses connections: the edge routes on its copy of serial 50, last confirmed over 2 s ago
    refusing = true;
    await sleep(2600);
    await viewer('/stale');
    await page.waitForSelector('tr.decision >> text=GET /stale', { timeout: 10_000 });
    expect(await docCell(page, '/stale').textContent()).toBe('50 stale');
    expect(await docCell(page, '/stale').locator('.stale').textContent()).toBe('stale');
    expect(await docCell(page, '/fresh').locator('.stale').count()).toBe(0);
    expect(await docCell(page, '/missing').locator('.stale').count()).toBe(0);

    // S3 answers again, with serial 51: the next decision is on it, and not stale
    refusing = false;
    await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 51)));
    await sleep(1100); // past the back-off after the refused refresh
    await viewer('/back');
    await page.waitForSelector('tr.decision >> text=GET /back', { timeout: 10_000 });
    expect(await docCell(page, '/back').textContent()).toBe('51');
    expect(await docCell(page, '/stale').textContent()).toBe('50 stale');
    await page.close();
  }, 60_000);

  test("a store behind S3: the page shows the store's serial, not S3's, and warns until it catches up", async () => {
    // CloudFront Functions' KeyValueStore while a publish has reached S3 (serial 51) but not yet the store (50)
    await s3.put(BUCKET, 'health.json', JSON.stringify(docWith({}, 51)));
    const router = compileRouter(config);
    let store = asStore(planEntries(router, docWith({}, 50)));
    const cff = createStatus(config, { store: () => store });
    const server: Server = createServer((req, res) => {
      if (!cff.serve(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/_router`);
      await textBecomes(page, '#serial', '51');
      expect(await page.textContent('#store-serial')).toBe('50');
      expect(await page.textContent('#serial-warning')).toContain(
        'S3 holds serial 51, but the store holds serial 50',
      );

      store = asStore(planEntries(router, docWith({}, 51)));
      await textBecomes(page, '#store-serial', '51');
      expect(await page.locator('#serial-warning').count()).toBe(0);
      await page.close();
    } finally {
      cff.close();
      await new Promise((r) => server.close(r));
    }
  }, 30_000);
});

describe("CloudFront Functions in npm start's stack: the store's serial, a hold, and the probes' verdict", () => {
  const BIN = join(ROOT, 'bin', 'edge-router.cjs');
  let stack: LocalStack;
  let configFile: string;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ stack, configFile, close } = await startLocalOnFreePorts('edge-router-status-cff-', {
      runtime: 'cloudfront-functions',
    }));
  }, 90_000);

  afterAll(async () => {
    await close?.();
  });

  const cli = (...args: string[]) => run(process.execPath, [BIN, ...args, '--config', configFile]);
  const docInS3 = async (): Promise<HealthDoc> => {
    const src = stack.config.healthDoc as NonNullable<RouterConfig['healthDoc']>;
    const r = await stack.s3.send(new GetObjectCommand({ Bucket: src.bucket, Key: src.key }));
    return JSON.parse((await r.Body?.transformToString()) ?? '') as HealthDoc;
  };
  const holdCell = (page: Page, id: string) => page.locator(`tr[data-region="${id}"] .hold`);

  test('a publish moves the store serial shown; a hold shows who, since, until, and the probes only when they disagree', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${stack.edge.port}/_router`);
    const first = (await docInS3()).serial;
    await textBecomes(page, '#store-serial', String(first));
    expect(await page.locator('tr[data-region] .hold').count()).toBe(0);

    // an operator holds Seoul down for an hour while its backend is healthy: a new serial, in S3 and in the store
    const down = await cli(
      'doc',
      'status',
      'ap-northeast-2',
      'down',
      '--by',
      'alice',
      '--for',
      '1h',
      '--yes',
    );
    expect(down.code).toBe(0);
    const held = await docInS3();
    expect(held.serial).toBeGreaterThan(first);
    await textBecomes(page, '#store-serial', String(held.serial));
    expect(await page.textContent('#serial')).toBe(String(held.serial));
    const hold = held.regions['ap-northeast-2']?.hold;
    expect(hold?.by).toBe('alice');
    const words = `held by alice since ${hold?.since}, until ${hold?.until}`;
    // the health checker probes every second and sees Seoul up: the page says so beside the hold
    await textBecomes(page, 'tr[data-region="ap-northeast-2"] .hold', `${words}; the probes see it up`);
    expect(await page.textContent('tr[data-region="ap-northeast-2"] td:nth-child(2)')).toBe('down');

    // São Paulo's backend stops: the checker marks it down; an operator's hold on down agrees, so no note
    await stack.backends.find((b) => b.id === 'sa-east-1')?.close();
    await textBecomes(page, 'tr[data-region="sa-east-1"] td:nth-child(2)', 'down', 15_000);
    const agree = await cli('doc', 'status', 'sa-east-1', 'down', '--by', 'bob', '--yes');
    expect(agree.code).toBe(0);
    const both = await docInS3();
    await textBecomes(page, '#store-serial', String(both.serial));
    const bob = both.regions['sa-east-1']?.hold;
    await page.waitForSelector('tr[data-region="sa-east-1"] .hold', { timeout: 10_000 });
    await sleep(1500); // a poll of the probes' observations or two: the note must not come
    expect(await holdCell(page, 'sa-east-1').textContent()).toBe(
      `held by bob since ${bob?.since}, until handed back (doc status ID auto)`,
    );
    expect(await holdCell(page, 'ap-northeast-2').textContent()).toBe(`${words}; the probes see it up`);
    expect(await page.locator('#serial-warning').count()).toBe(0);
    await page.close();
  }, 90_000);
});
