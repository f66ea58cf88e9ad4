// Viewer country from an IP address, as CloudFront fills CloudFront-Viewer-Country, using geoip-lite in
// country-only mode: geoip-lite loads its city database (~180 MB of RSS) whenever the city files sit in
// its data folder, so we point `geodatadir` at a folder holding only the two country files (~55 MB, ~12 ms).
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fnv1a32 } from '../shared/hash';

const COUNTRY_FILES = ['geoip-country.dat', 'geoip-country6.dat'];

type Lookup = (ip: string) => { country: string; ll?: [number, number] } | null;
let lookup: Lookup | undefined;
let city = false;

/**
 * Use geoip-lite's city database instead (about 180 MB of RSS): lookups then give latitude and longitude too. Call
 * it before the first lookup (geoip-lite picks its data once, when it is first required).
 */
export function useCityData(): void {
  if (lookup && !city) throw new Error('geoip-lite is already loaded with country data only');
  city = true;
}

function load(): Lookup {
  if (lookup) return lookup;
  if (city) {
    const geoip = require('geoip-lite') as { lookup: Lookup };
    lookup = (ip) => geoip.lookup(ip);
    return lookup;
  }
  const pkgDir = dirname(require.resolve('geoip-lite/package.json'));
  const { version } = require('geoip-lite/package.json') as { version: string };
  // one folder per installed copy, so links never point into another checkout
  const dir = join(tmpdir(), `edge-router-geoip-${version}-${fnv1a32(pkgDir).toString(16)}`);
  mkdirSync(dir, { recursive: true });
  for (const f of COUNTRY_FILES) {
    const link = join(dir, f);
    if (existsSync(link)) continue;
    try {
      symlinkSync(join(pkgDir, 'data', f), link);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process made it first
    }
  }
  // geoip-lite reads global.geodatadir once, when it is first required
  (globalThis as { geodatadir?: string }).geodatadir = dir;
  const geoip = require('geoip-lite') as { lookup: Lookup };
  lookup = (ip) => geoip.lookup(ip);
  return lookup;
}

/** ISO country code of an IP address, or undefined (private, reserved or unknown addresses). */
export function countryOf(ip: string): string | undefined {
  const hit = load()(ip);
  return hit?.country || undefined;
}

/** Country and, with the city database (useCityData), latitude and longitude of an IP address. */
export function locate(ip: string): { country?: string; lat?: number; lon?: number } {
  const hit = load()(ip);
  if (!hit) return {};
  const ll = hit.ll;
  return {
    country: hit.country || undefined,
    ...(city && ll && (ll[0] !== 0 || ll[1] !== 0) ? { lat: ll[0], lon: ll[1] } : {}),
  };
}
