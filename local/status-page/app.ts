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
    method: string;
    uri: string;
    viewerIp: string;
    country?: string;
    target: string;
    reason: string;
    status: number;
  }[];
  map: Record<string, string>;
  probes: Record<string, string>;
  /** per target held by an operator: who, since, until, and whether the probes disagree */
  holds: Record<string, string>;
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

function rows(obj: Record<string, number>): string {
  return Object.entries(obj)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`)
    .join('');
}

function render(state: State): void {
  const d = state.doc;
  $('doc').innerHTML = d
    ? `<p>Document serial <b id="serial">${d.serial}</b>, updated ${esc(d.updatedAt)} (${state.docAgeSeconds} s ago)${
        state.docError ? ` · <span class="down">${esc(state.docError)}</span>` : ''
      }</p><table id="regions"><tr><th>region</th><th>status</th><th>role</th><th>dial</th><th>canary</th><th>set by</th><th>changed</th><th>probes</th></tr>${[
        ...state.regions,
        ...state.environments,
      ]
        .map((id) => {
          const h = d.regions[id] ?? { status: 'up' };
          return `<tr data-region="${esc(id)}"><td>${esc(id)}</td><td class="${h.status === 'down' ? 'down' : 'up'}">${esc(h.status)}</td><td>${esc(h.role ?? 'active')}</td><td>${h.dial ?? 100}</td><td>${esc(h.canaryStatus ?? '')}</td><td>${esc(h.setBy ?? '')}${state.holds[id] ? `<div class="hold">${esc(state.holds[id])}</div>` : ''}</td><td>${esc(h.changedAt ?? '')}</td><td>${esc(state.probes[id] ?? '')}</td></tr>`;
        })
        .join(
          '',
        )}</table><p>Canary: ${d.canary ? `${d.canary.percent}%${d.canary.regions ? ` of ${esc(d.canary.regions.join(', '))}` : ''}` : 'none'}</p>`
    : `<p>No document${state.docError ? `: ${esc(state.docError)}` : ''} (every region up)</p>`;
  // the legend names only the targets the map shows traffic going to
  const shown = new Set(Object.values(state.map));
  $('legend').innerHTML = [...state.regions, ...state.environments]
    .filter((r) => shown.has(r))
    .map((r) => `<span style="background:${colorOf(state, r)}"></span>${esc(r)}`)
    .join('');
  for (const p of Array.from(svg.querySelectorAll('path'))) {
    const target = state.map[p.getAttribute('data-id') ?? ''];
    p.setAttribute('fill', colorOf(state, target));
    p.setAttribute('data-target', target ?? '');
  }
  $('targets').innerHTML = `${rows(state.byTarget)}<tr><th>total</th><th>${state.total}</th></tr>`;
  $('reasons').innerHTML = rows(state.byReason);
  $('latest').innerHTML =
    `<tr><th>time</th><th>viewer</th><th>country</th><th>request</th><th>target</th><th>reason</th><th>status</th></tr>${state.latest
      .map(
        (r) =>
          `<tr><td>${new Date(r.at).toLocaleTimeString()}</td><td>${esc(r.viewerIp)}</td><td>${esc(r.country ?? '')}</td><td>${esc(r.method)} ${esc(r.uri)}</td><td>${esc(r.target)}</td><td>${esc(r.reason)}</td><td>${r.status}</td></tr>`,
      )
      .join('')}`;
}

async function tick(): Promise<void> {
  try {
    render((await (await fetch('/_router/state.json', { cache: 'no-store' })).json()) as State);
  } catch {
    // the edge is restarting: try again on the next tick
  }
}
void tick();
setInterval(tick, 1000);
