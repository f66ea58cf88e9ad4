// The local edge's status page, http://localhost:8080/_router: the live document (serial, age, per-region status,
// dial, role, canary, holds), the serial the edge routes with beside S3's (and the store's, for CloudFront
// Functions), counters of decisions by target and reason since start, the latest decisions with their trace, and a
// world map of which country goes where under the current document, split countries marked (the computation of
// `edge-router table`). The page (local/status-page/) polls /_router/state.json (`?target=&reason=` filter the
// latest decisions); its script is bundled on first request (d3-geo, topojson-client and world-atlas's Natural Earth
// country shapes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { alpha2ToNumeric } from 'i18n-iso-countries';
import { parseKeys } from '../cli/keys';
import { s3Client } from '../lib/doc-store';
import { keyRing } from '../lib/keyring';
import { planSerials } from '../lib/kvs';
import { probeSummary, readObservations } from '../lib/prober';
import {
  compileRouter,
  type HealthDoc,
  type KeyRing,
  type KeysDoc,
  type Plan,
  parseHealthDocText,
  pick,
  plan,
  type RouterConfig,
} from '../shared';
import { holdOf, holdWords, type VantageObservations, votesOf } from '../shared/health-check';
import { keysKeyOf } from '../shared/router';
import { routingTable, type TableRow } from '../shared/simulate';
import type { RoutedRequest } from './edge';

/** decisions shown, and kept to filter from */
const LATEST = 30;
const KEPT = 500;

export interface StatusOptions {
  /** CloudFront Functions: the KeyValueStore the viewer-request function reads (its serial is shown beside S3's) */
  readonly store?: () => Record<string, string>;
  /** Lambda@Edge: what the edge's container has ejected by passive health, and until when */
  readonly ejections?: () => { target: string; canary: boolean; untilMs: number }[];
}

/** The serials of the plan's walks in a store (several while a write propagates), lowest first. */
export const storeSerials = (store: Record<string, string>): number[] =>
  planSerials(Object.entries(store).map(([key, value]) => ({ key, value })));

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
  /** the signing keys, as read next to the document: to replay a decision that needed them */
  keys?: { doc: KeysDoc; ring: KeyRing };
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
.cols{display:flex;gap:2rem;flex-wrap:wrap}.warn{color:#8a5300;background:#fff4d6;padding:.3rem .5rem}
#map path.split{stroke:#111;stroke-width:1.2;stroke-dasharray:3 2}
.legend .split-key{background:#fff;border:1.5px dashed #111;box-sizing:border-box}
.trace{margin:0;padding-left:1.2rem;font:12px/1.3 ui-monospace,monospace}summary{cursor:pointer}
</style></head><body>
<h1>edge-router · local edge</h1>
<div id="doc">loading…</div>
<h2>Where each country goes now</h2><div class="legend" id="legend"></div><svg id="map" viewBox="0 0 960 500"></svg>
<div class="cols"><div><h2>Decisions by target</h2><table id="targets"></table></div>
<div><h2>Decisions by reason</h2><table id="reasons"></table></div></div>
<h2>Latest decisions</h2>
<p><label>target <select id="filter-target"></select></label> <label>reason <select id="filter-reason"></select></label></p>
<table id="latest"></table>
<script src="/_router/app.js"></script>
</body></html>`;

export function createStatus(config: RouterConfig, opts: StatusOptions = {}): Status {
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
  // The map under the current document, by ISO numeric code (the shapes' ids): each country's viewers routed by
  // country alone, as with only CloudFront-Viewer-Country; under a dial or canary, the majority and the split.
  let map: Record<string, TableRow> = {};
  let mapped: { doc: HealthDoc | null; at: number } | undefined;
  const remap = () => {
    const now = Date.now();
    // a canary's schedule moves with time: drawn again every 10 s, and at once for a new document
    if (mapped && mapped.doc === state.doc && now - mapped.at < 10_000) return;
    map = {};
    for (const [cc, row] of Object.entries(routingTable(router, state.doc, now))) {
      const numeric = alpha2ToNumeric(cc);
      if (numeric) map[numeric] = row;
    }
    mapped = { doc: state.doc, at: now };
  };

  // a decision replayed with its trace: the same pick, on what the edge knew of the viewer and the document it used
  let replayPlan: { doc: HealthDoc | null; plan: Plan } | undefined;
  const planFor = (doc: HealthDoc | null) => {
    if (replayPlan?.doc !== doc) replayPlan = { doc, plan: plan(router, doc) };
    return replayPlan.plan;
  };
  const traces = new WeakMap<RoutedRequest, string[]>();
  const traceOf = (r: RoutedRequest): string[] => {
    const known = traces.get(r);
    if (known) return known;
    let out: string[];
    if (!r.facts || r.serial === undefined) out = ['(no trace: the edge said nothing of its document)'];
    else if (r.serial !== null && r.serial !== state.doc?.serial)
      out = [
        `(no trace: the edge routed with serial ${r.serial}; the page has ${state.doc?.serial ?? 'none'})`,
      ];
    else {
      const d = pick(planFor(r.serial === null ? null : state.doc), r.facts, {
        stale: r.stale,
        keys: state.keys?.ring,
        trace: true,
      });
      out = [...(d.plan ?? []).map((l) => `plan: ${l}`), ...d.trace];
      if (d.target.id !== r.target && d.reason !== 'failover')
        out.unshift(
          `(replayed: chose ${d.target.id} (${d.reason}); the edge chose ${r.target} (${r.reason}))`,
        );
    }
    traces.set(r, out);
    return out;
  };

  const client = src ? s3Client(src) : undefined;
  const keysKey = keysKeyOf(config);
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
      if (keysKey) {
        const k = await client.send(new GetObjectCommand({ Bucket: src.bucket, Key: keysKey }));
        const text = (await k.Body?.transformToString()) ?? '';
        const doc = parseKeys(text, `s3://${src.bucket}/${keysKey}`);
        if (JSON.stringify(doc) !== JSON.stringify(state.keys?.doc)) state.keys = { doc, ring: keyRing(doc) };
      }
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

  const snapshot = (filter: { target?: string; reason?: string } = {}) => {
    remap();
    const latest = state.latest
      .filter(
        (r) =>
          (!filter.target || r.target === filter.target) && (!filter.reason || r.reason === filter.reason),
      )
      .slice(0, LATEST)
      .map((r) => {
        const { facts: _, ...shown } = r;
        return { ...shown, date: new Date(r.at).toISOString(), trace: traceOf(r) };
      });
    const edgeSerial = state.latest.find((r) => r.serial !== undefined);
    const store = opts.store ? storeSerials(opts.store()) : undefined;
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
      latest,
      /** the serial the edge routed its last request with; for CloudFront Functions, the store's too */
      serials: {
        s3: state.doc?.serial ?? null,
        edge: edgeSerial ? { serial: edgeSerial.serial ?? null, at: edgeSerial.at } : null,
        ...(store ? { store } : {}),
      },
      ttlSeconds: src?.ttlSeconds ?? null,
      probes: state.probes ?? {},
      holds: holds(),
      /** passive health: what the edge's container has ejected (Lambda@Edge), with the ejection's end */
      ejections: (opts.ejections?.() ?? []).map((e) => ({ ...e, until: new Date(e.untilMs).toISOString() })),
      map,
    };
  };

  return {
    record(d) {
      state.total++;
      state.byTarget[d.target] = (state.byTarget[d.target] ?? 0) + 1;
      state.byReason[d.reason] = (state.byReason[d.reason] ?? 0) + 1;
      state.latest.unshift(d);
      if (state.latest.length > KEPT) state.latest.length = KEPT;
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
        const q = new URL(req.url ?? '/', 'http://local').searchParams;
        res
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(
            JSON.stringify(
              snapshot({ target: q.get('target') ?? undefined, reason: q.get('reason') ?? undefined }),
            ),
          );
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
