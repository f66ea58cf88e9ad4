// The local edge's status page, http://localhost:8080/_router: the live document (serial, age, per-region status,
// dial, role, canary), counters of decisions by target and reason since start, the latest decisions, and a world
// map of which country goes where under the current document. The page (local/status-page/) polls
// /_router/state.json; its script is bundled on first request (d3-geo, topojson-client and world-atlas's
// Natural Earth country shapes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { alpha2ToNumeric } from 'i18n-iso-countries';
import { s3Client } from '../lib/doc-store';
import { probeSummary, readObservations } from '../lib/prober';
import {
  COUNTRIES,
  compileRouter,
  type HealthDoc,
  parseHealthDocText,
  pick,
  plan,
  type RouterConfig,
} from '../shared';
import { holdOf, holdWords, type VantageObservations, votesOf } from '../shared/health-check';
import type { RoutedRequest } from './edge';

const LATEST = 30;

export interface StatusState {
  doc: HealthDoc | null;
  docError?: string;
  fetchedAt: number | null;
  started: number;
  total: number;
  byTarget: Record<string, number>;
  byReason: Record<string, number>;
  latest: RoutedRequest[];
  /** per target, what the health checker's vantages saw last */
  probes?: Record<string, string>;
  /** what the vantages wrote last (for the probes' verdict on a held status) */
  observations?: VantageObservations[];
}

export interface Status {
  /** count a routed request */
  record(d: RoutedRequest): void;
  /** answers /_router, /_router/state.json and /_router/app.js; false for any other path */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  /** the state as the page gets it */
  state(): Record<string, unknown>;
  /** the live document, as last read from the store (null: none yet) */
  doc(): HealthDoc | null;
  close(): void;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edge-router · local edge</title><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.3rem;margin:0 0 .5rem}
h2{font-size:1rem;margin:1.2rem 0 .4rem}table{border-collapse:collapse}td,th{padding:.15rem .6rem;text-align:left;border-bottom:1px solid #ddd}
.down{color:#b00;font-weight:600}.up{color:#070}#map{width:100%;max-width:960px;height:auto;background:#eef3f7}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
.cols{display:flex;gap:2rem;flex-wrap:wrap}
</style></head><body>
<h1>edge-router · local edge</h1>
<div id="doc">loading…</div>
<h2>Where each country goes now</h2><div class="legend" id="legend"></div><svg id="map" viewBox="0 0 960 500"></svg>
<div class="cols"><div><h2>Decisions by target</h2><table id="targets"></table></div>
<div><h2>Decisions by reason</h2><table id="reasons"></table></div></div>
<h2>Latest decisions</h2><table id="latest"></table>
<script src="/_router/app.js"></script>
</body></html>`;

export function createStatus(config: RouterConfig): Status {
  const router = compileRouter(config);
  const src = config.healthDoc;
  const state: StatusState = {
    doc: null,
    fetchedAt: null,
    started: Date.now(),
    total: 0,
    byTarget: {},
    byReason: {},
    latest: [],
  };
  // the map under the current document: routed by country alone, as a viewer with only CloudFront-Viewer-Country
  let map: Record<string, string> = {};
  let mappedSerial: number | null | undefined;
  const remap = () => {
    const serial = state.doc?.serial ?? null;
    if (serial === mappedSerial) return;
    map = {};
    const p = plan(router, state.doc);
    for (const cc of COUNTRIES.keys()) {
      const numeric = alpha2ToNumeric(cc);
      if (numeric) map[numeric] = pick(p, { country: cc, now: Date.now() }).target.id;
    }
    mappedSerial = serial;
  };

  const client = src ? s3Client(src) : undefined;
  const poll = async () => {
    if (!client || !src) return;
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: src.bucket, Key: src.key }));
      const parsed = parseHealthDocText((await r.Body?.transformToString()) ?? '', config);
      if (parsed.success) {
        state.doc = parsed.data;
        state.docError = undefined;
      } else state.docError = parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
      state.fetchedAt = Date.now();
      if (config.health) {
        const loc = { bucket: src.bucket, key: src.key, region: src.region, endpoint: src.endpoint };
        const observations = await readObservations(client, loc);
        state.observations = observations;
        state.probes = Object.fromEntries(
          [...router.regions, ...router.environments].map((id) => [id, probeSummary(id, observations)]),
        );
      }
    } catch (e) {
      state.docError = e instanceof Error ? e.message : String(e);
    }
  };
  void poll();
  const timer = setInterval(poll, Math.max(500, (src?.ttlSeconds ?? 2) * 1000));
  timer.unref();

  let script: Promise<string> | undefined;
  const bundle = () => {
    script ??= build({
      entryPoints: [join(__dirname, 'status-page', 'app.ts')],
      bundle: true,
      minify: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      logLevel: 'silent',
    }).then((r) => r.outputFiles[0].text);
    return script;
  };

  // per target held by an operator: by whom, since, until, and whether the probes disagree
  const holds = () => {
    const out: Record<string, string> = {};
    const now = Date.now();
    const votes = votesOf(config, state.observations ?? [], now);
    for (const id of [...router.regions, ...router.environments]) {
      const h = state.doc?.regions[id];
      const hold = holdOf(h, now);
      if (!hold) continue;
      const verdict = votes[id]?.verdict;
      const status = h?.status ?? 'up';
      out[id] = `${holdWords(hold)}${verdict && verdict !== status ? `; the probes see it ${verdict}` : ''}`;
    }
    return out;
  };

  const snapshot = () => {
    remap();
    return {
      now: Date.now(),
      started: state.started,
      doc: state.doc,
      docError: state.docError,
      docAgeSeconds: state.doc ? Math.round((Date.now() - Date.parse(state.doc.updatedAt)) / 1000) : null,
      fetchedAt: state.fetchedAt,
      regions: router.regions,
      environments: router.environments,
      total: state.total,
      byTarget: state.byTarget,
      byReason: state.byReason,
      latest: state.latest,
      probes: state.probes ?? {},
      holds: holds(),
      map,
    };
  };

  return {
    record(d) {
      state.total++;
      state.byTarget[d.target] = (state.byTarget[d.target] ?? 0) + 1;
      state.byReason[d.reason] = (state.byReason[d.reason] ?? 0) + 1;
      state.latest.unshift(d);
      if (state.latest.length > LATEST) state.latest.length = LATEST;
    },
    state: snapshot,
    doc: () => state.doc,
    serve(req, res) {
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      if (path === '/_router' || path === '/_router/') {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
          .end(PAGE);
        return true;
      }
      if (path === '/_router/state.json') {
        res
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify(snapshot()));
        return true;
      }
      if (path === '/_router/app.js') {
        bundle().then(
          (js) => res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(js),
          (e) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e)),
        );
        return true;
      }
      return false;
    },
    close() {
      clearInterval(timer);
      client?.destroy();
    },
  };
}
