#!/usr/bin/env node
// Builds data/countries.json: one centroid per ISO 3166-1 alpha-2 code CloudFront can send.
// Primary source: ../shared/data/country-centroids.csv (gavinr/world-countries-centroids, MIT),
// first row wins for the codes it repeats. Codes it lacks (HK, MO, TW, EH, AX, XK, ...) are filled from
// the `latlng` of the world-countries package (mledoze/countries, ODbL-1.0). See data/README.md.
// Usage: node scripts/gen-countries.mjs [path/to/country-centroids.csv] [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const csvPath =
  args.find((a) => !a.startsWith('--')) ?? join(root, '..', 'shared', 'data', 'country-centroids.csv');

// Countries whose largest-land-mass centroid lies thousands of km from where their viewers are, so that the
// centroid would anchor them to the wrong network: placed at their largest city instead.
const POPULATION_CENTRES = {
  RU: { lat: 55.7558, lon: 37.6173, why: 'Moscow; the land-mass centroid is in Siberia, nearest to Seoul' },
  CA: {
    lat: 43.6532,
    lon: -79.3832,
    why: 'Toronto; the land-mass centroid is in Manitoba, nearest to Calgary',
  },
};

const iso = require('i18n-iso-countries');
const worldCountries = require('world-countries');

const rows = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
const header = rows.shift().split(',');
const col = (name) => header.indexOf(name);
const [cLon, cLat, cName, cIso] = [col('longitude'), col('latitude'), col('COUNTRY'), col('ISO')];
const byIso = new Map();
for (const row of rows) {
  const f = row.split(',');
  const code = f[cIso];
  if (!/^[A-Z]{2}$/.test(code) || byIso.has(code)) continue; // BQ, TF and ES repeat: first row wins
  byIso.set(code, {
    iso: code,
    name: f[cName],
    lat: round(+f[cLat]),
    lon: round(+f[cLon]),
    source: 'gavinr',
  });
}
for (const code of Object.keys(iso.getAlpha2Codes())) {
  if (byIso.has(code)) continue;
  const wc = worldCountries.find((c) => c.cca2 === code);
  if (!wc) throw new Error(`no centroid for ISO code ${code} in either source`);
  byIso.set(code, {
    iso: code,
    name: wc.name.common,
    lat: round(wc.latlng[0]),
    lon: round(wc.latlng[1]),
    source: 'mledoze',
  });
}
for (const [code, p] of Object.entries(POPULATION_CENTRES)) {
  Object.assign(byIso.get(code), { lat: p.lat, lon: p.lon, source: 'population-centre', note: p.why });
}
const out = `${JSON.stringify(
  [...byIso.values()].sort((a, b) => a.iso.localeCompare(b.iso)),
  null,
  1,
)}\n`;
const target = join(root, 'data', 'countries.json');
if (check) {
  if (readFileSync(target, 'utf8') !== out) {
    console.error(`${target} is stale: run npm run data`);
    process.exit(1);
  }
} else {
  writeFileSync(target, out);
  console.log(`wrote ${target}: ${byIso.size} countries`);
}

function round(n) {
  return Math.round(n * 1e4) / 1e4;
}
