import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import countries from 'i18n-iso-countries';
import { COUNTRIES, route } from '../shared';
import { exampleRouter, ROOT } from './helpers/load';

const router = exampleRouter();
// Every current ISO 3166-1 alpha-2 code, plus XK (Kosovo), which CloudFront also sends.
const ISO_CODES = [...Object.keys(countries.getAlpha2Codes()), 'XK'];

test('the code list is the current ISO list (249 codes and XK)', () => {
  expect(new Set(ISO_CODES).size).toBe(250);
});

test.each(ISO_CODES)('%s is routed by geography', (cc) => {
  expect(COUNTRIES.has(cc)).toBe(true);
  const d = route({ country: cc }, null, router, { trace: true });
  expect(d.reason).toBe('nearest');
  expect(d.trace[0]).toMatch(new RegExp(`^geo: country ${cc} near `));
});

test('data/countries.json is what scripts/gen-countries.mjs makes from ../shared/data', () => {
  expect(() =>
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'gen-countries.mjs'), '--check'], {
      stdio: 'pipe',
    }),
  ).not.toThrow();
});

test('data/traffic-mix.csv is what scripts/gen-traffic-mix.mjs makes, with a weight for every country', () => {
  expect(() =>
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'gen-traffic-mix.mjs'), '--check'], {
      stdio: 'pipe',
    }),
  ).not.toThrow();
});
