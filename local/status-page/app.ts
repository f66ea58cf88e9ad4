/// <reference lib="dom" />
// The status page's script (bundled by local/status.ts for the browser): polls /_router/state.json and draws the
// document, the counters, the latest decisions and the world map (d3-geo, Natural Earth shapes from world-atlas).
import { geoEqualEarth, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import world from 'world-atlas/countries-110m.json';

interface State {
  doc: {
    serial: number;
    updatedAt: string;
    regions: Record<
      string,
      {
        status: string;
        role?: string;
        dial?: number;
        canaryStatus?: string;
        setBy?: string;
        changedAt?: string;
      }
    >;
    canary?: { percent: number; regions?: string[]; seed?: string };
  } | null;
  docError?: string;
  docAgeSeconds: number | null;
  regions: string[];
  environments: string[];
  total: number;
  byTarget: Record<string, number>;
  byReason: Record<string, number>;
  latest: {
    at: number;
    date: string;
    method: string;
    uri: string;
    viewerIp: string;
    country?: string;
    target: string;
    reason: string;
    status: number;
    serial?: number | null;
    stale?: boolean;
    trace: string[];
  }[];
  /** by ISO numeric code: the majority target, and under a dial or canary the shares per destination */
  map: Record<string, { target: string; reason: string; split?: Record<string, number> }>;
  serials: {
    s3: number | null;
    edge: { serial: number | null; at: number } | null;
    store?: number[];
  };
  ttlSeconds: number | null;
  now: number;
  probes: Record<string, string>;
  /** per target held by an operator: who, since, until, and whether the probes disagree */
  holds: Record<string, string>;
  /** what the edge's container has ejected by passive health (Lambda@Edge) */
  ejections: { target: string; canary: boolean; until: string }[];
}

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
];
const $ = (id: string) => document.getElementById(id) as HTMLElement;
const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

const topology = world as unknown as Topology<{ countries: GeometryCollection<{ name: string }> }>;
const countries = feature(topology, topology.objects.countries).features;
const path = geoPath(geoEqualEarth().fitSize([960, 500], { type: 'Sphere' }));
const svg = $('map');
svg.innerHTML = countries
  .map(
    (c) => `<path data-id="${esc(c.id)}" data-name="${esc(c.properties?.name)}" d="${path(c) ?? ''}"></path>`,
  )
  .join('');

function colorOf(state: State, target: string | undefined): string {
  if (!target) return '#ccc';
  const i = state.regions.indexOf(target);
  return i < 0 ? '#999' : PALETTE[i % PALETTE.length];
}

/** What the edge routes with, beside S3's serial; a warning when they differ. */
function serialLine(state: State): string {
  const { s3, edge, store } = state.serials;
  const parts = [`S3 holds serial <b id="serial">${s3 ?? 'none'}</b>`];
  if (store)
    parts.push(`the store holds <b id="store-serial">${store.length ? store.join(', ') : 'nothing'}</b>`);
  parts.push(
    edge
      ? `the edge routed its last request with <b id="edge-serial">${edge.serial ?? 'none'}</b> (${Math.round((state.now - edge.at) / 1000)} s ago)`
      : 'the edge has routed no request yet',
  );
  const behind: string[] = [];
  if (edge && edge.serial !== s3) behind.push(`the edge routed with serial ${edge.serial ?? 'none'}`);
  if (store && (store.length !== 1 || store[0] !== s3))
    behind.push(`the store holds ${store.length ? `serial ${store.join(', ')}` : 'no plan'}`);
  const warning = behind.length
    ? `<p id="serial-warning" class="warn">⚠ S3 holds serial ${s3 ?? 'none'}, but ${behind.join(' and ')}${
        state.ttlSeconds !== null
          ? ` (the edge reads S3 at most every ${state.ttlSeconds} s, when a request comes)`
          : ''
      }</p>`
    : '';
  return `<p>${parts.join(' · ')}</p>${warning}`;
}

/** A region the edge's container ejected (passive health): its origin failed in a row; until when. */
function ejectedNote(state: State, id: string): string {
  return (state.ejections ?? [])
    .filter((e) => e.target === id)
    .map(
      (e) =>
        `<div class="ejected" data-ejected="${esc(id)}">${e.canary ? 'canary ' : ''}ejected by the edge (passive health) until ${esc(e.until)}</div>`,
    )
    .join('');
}

const filters = { target: '', reason: '' };

function options(id: string, values: string[], chosen: string): void {
  const el = $(id) as HTMLSelectElement;
  const want = ['', ...values].join('\n');
  if (el.dataset.values === want) return;
  el.dataset.values = want;
  el.innerHTML = ['', ...values]
    .map((v) => `<option value="${esc(v)}"${v === chosen ? ' selected' : ''}>${v ? esc(v) : 'any'}</option>`)
    .join('');
}

function rows(obj: Record<string, number>): string {
  return Object.entries(obj)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`)
    .join('');
}

function render(state: State): void {
  const d = state.doc;
  $('doc').innerHTML = d
    ? `${serialLine(state)}<p>Document serial ${d.serial}, updated ${esc(d.updatedAt)} (${state.docAgeSeconds} s ago)${
        state.docError ? ` · <span class="down">${esc(state.docError)}</span>` : ''
      }</p><table id="regions"><tr><th>region</th><th>status</th><th>role</th><th>dial</th><th>canary</th><th>set by</th><th>changed</th><th>probes</th></tr>${[
        ...state.regions,
        ...state.environments,
      ]
        .map((id) => {
          const h = d.regions[id] ?? { status: 'up' };
          return `<tr data-region="${esc(id)}"><td>${esc(id)}</td><td class="${h.status === 'down' ? 'down' : 'up'}">${esc(h.status)}</td><td>${esc(h.role ?? 'active')}</td><td>${h.dial ?? 100}</td><td>${esc(h.canaryStatus ?? '')}</td><td>${esc(h.setBy ?? '')}${state.holds[id] ? `<div class="hold">${esc(state.holds[id])}</div>` : ''}${ejectedNote(state, id)}</td><td>${esc(h.changedAt ?? '')}</td><td>${esc(state.probes[id] ?? '')}</td></tr>`;
        })
        .join(
          '',
        )}</table><p>Canary: ${d.canary ? `${d.canary.percent}%${d.canary.regions ? ` of ${esc(d.canary.regions.join(', '))}` : ''}` : 'none'}</p>`
    : `${serialLine(state)}<p>No document${state.docError ? `: ${esc(state.docError)}` : ''} (every region up)</p>`;
  // the legend names only the targets the map shows traffic going to, and the split marker when a country is split
  const rowsOnMap = Object.values(state.map);
  const shown = new Set(rowsOnMap.map((r) => r.target));
  $('legend').innerHTML = `${[...state.regions, ...state.environments]
    .filter((r) => shown.has(r))
    .map((r) => `<span style="background:${colorOf(state, r)}"></span>${esc(r)}`)
    .join('')}${
    rowsOnMap.some((r) => r.split)
      ? '<span class="split-key"></span>split between targets (a dial or canary): hover a country for the shares'
      : ''
  }`;
  for (const p of Array.from(svg.querySelectorAll('path'))) {
    const row = state.map[p.getAttribute('data-id') ?? ''];
    p.setAttribute('fill', colorOf(state, row?.target));
    p.setAttribute('data-target', row?.target ?? '');
    const split = row?.split
      ? Object.entries(row.split)
          .map(([id, share]) => `${id} ${share}%`)
          .join(', ')
      : '';
    if (split) p.setAttribute('data-split', split);
    else p.removeAttribute('data-split');
    p.setAttribute('class', split ? 'split' : '');
    const tip = `${p.getAttribute('data-name') ?? ''}: ${split || (row ? `${row.target} (${row.reason})` : 'not routed')}`;
    const title: Element =
      p.querySelector('title') ??
      p.appendChild(document.createElementNS('http://www.w3.org/2000/svg', 'title'));
    if (title.textContent !== tip) title.textContent = tip;
  }
  $('targets').innerHTML = `${rows(state.byTarget)}<tr><th>total</th><th>${state.total}</th></tr>`;
  $('reasons').innerHTML = rows(state.byReason);
  options('filter-target', Object.keys(state.byTarget).sort(), filters.target);
  options('filter-reason', Object.keys(state.byReason).sort(), filters.reason);
  // a trace left open stays open across polls
  const open = new Set(
    Array.from(document.querySelectorAll('#latest details[open]')).map((e) => e.getAttribute('data-key')),
  );
  $('latest').innerHTML =
    `<tr><th>date</th><th>viewer</th><th>country</th><th>request</th><th>target</th><th>reason</th><th>doc</th><th>status</th><th>why</th></tr>${state.latest
      .map((r) => {
        const key = `${r.at}-${r.viewerIp}-${r.uri}`;
        return `<tr class="decision" data-target="${esc(r.target)}" data-reason="${esc(r.reason)}"><td>${esc(r.date)}</td><td>${esc(r.viewerIp)}</td><td>${esc(r.country ?? '')}</td><td>${esc(r.method)} ${esc(r.uri)}</td><td>${esc(r.target)}</td><td>${esc(r.reason)}</td><td>${r.serial === undefined ? '' : esc(r.serial ?? 'none')}${r.stale ? ' <span class="down stale">stale</span>' : ''}</td><td>${r.status}</td><td><details data-key="${esc(key)}"${open.has(key) ? ' open' : ''}><summary>trace</summary><ol class="trace">${r.trace.map((l) => `<li>${esc(l)}</li>`).join('')}</ol></details></td></tr>`;
      })
      .join('')}`;
}

for (const [id, field] of [
  ['filter-target', 'target'],
  ['filter-reason', 'reason'],
] as const) {
  $(id).addEventListener('change', (e) => {
    filters[field] = (e.target as HTMLSelectElement).value;
    void tick();
  });
}

async function tick(): Promise<void> {
  try {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    render((await (await fetch(`/_router/state.json?${q}`, { cache: 'no-store' })).json()) as State);
  } catch {
    // the edge is restarting: try again on the next tick
  }
}
void tick();
setInterval(tick, 1000);
