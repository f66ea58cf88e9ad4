// edge-router: the operator's command line. A shell over the routing core, like the edge functions.
import { Command, InvalidArgumentError } from 'commander';
import * as ipaddr from 'ipaddr.js';
import { countryOf } from '../lib/geoip';
import { keyRing } from '../lib/keyring';
import { version } from '../package.json';
import {
  compileRouter,
  type Decision,
  type Facts,
  type HealthDoc,
  pick,
  plan,
  type RouterConfig,
  route,
} from '../shared';
import { bake } from '../shared/bake';
import type { Baked } from '../shared/baked';
import { fingerprint } from '../shared/plan';
import { compiledRouter, latencyColumnsOf, originOf } from '../shared/router';
import { routingTable } from '../shared/simulate';
import { addDocCommands, readLive } from './doc';
import { formatDecision, formatTable, paint } from './format';
import { addKeyCommands, loadKeyRing, readKeys } from './keys';
import { addKvsCommands } from './kvs';
import { CliError, checkConfig, checkDoc, loadConfig, loadDoc, problemLines, readText } from './load';
import { addPlanCommand } from './plan';

const collect = (value: string, previous: string[]) => [...previous, value];

function number(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    }
    return n;
  };
}

function header(v: string): [string, string] {
  const i = v.indexOf(':');
  const name = v.slice(0, i).trim().toLowerCase();
  if (i < 1 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
    throw new CliError([`--header ${JSON.stringify(v)}: expected 'name: value'`]);
  }
  return [name, v.slice(i + 1).trim()];
}

function cookie(v: string): [string, string] {
  const i = v.indexOf('=');
  if (i < 1) throw new CliError([`--cookie ${JSON.stringify(v)}: expected 'name=value'`]);
  return [v.slice(0, i).trim(), v.slice(i + 1).trim()];
}

interface ExplainOptions {
  config: string;
  doc?: string;
  country?: string;
  lat?: number;
  lon?: number;
  ip?: string;
  header: string[];
  cookie: string[];
  time?: string;
  keyFile?: string;
  ipFile?: string;
  method?: string;
  live?: boolean;
  endpoint?: string;
  json?: boolean;
}

/** explain for many viewers at once (one per line of --ip-file), each geolocated unless --country is given. */
function explainMany(o: ExplainOptions): void {
  const file = o.ipFile as string;
  const ips = readText(file)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const { router, data: config, warnings } = loadConfig(o.config);
  const doc = o.doc ? loadDoc(o.doc, config) : undefined;
  for (const w of [...warnings, ...(doc?.warnings ?? [])]) console.error(w);
  const keys = o.keyFile ? loadKeyRing(o.keyFile) : undefined;
  const p = plan(router, doc?.data ?? null);
  const out: string[] = [];
  ips.forEach((ip, i) => {
    if (!ipaddr.isValid(ip))
      throw new CliError([`${file}: line ${i + 1}: ${JSON.stringify(ip)} is not an IP address`]);
    const { facts } = toFacts({ ...o, ip });
    const d = pick(p, facts, { keys });
    out.push(
      o.json
        ? JSON.stringify({
            ip,
            target: d.target.id,
            kind: d.target.kind,
            reason: d.reason,
            origin: originOf(router, d).domainName,
          })
        : `${ip}\t${d.target.id}\t${d.reason}\t${originOf(router, d).domainName}`,
    );
  });
  console.log(out.join('\n'));
}

export function program(): Command {
  const cli = new Command('edge-router')
    .description(
      'Route every request of a multi-region API to the best regional origin, at the CloudFront edge.',
    )
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError();

  cli
    .command('validate')
    .description('check a router config and, optionally, a health document; one line per problem')
    .requiredOption('--config <file>', 'router config (JSON)')
    .option('--doc <file>', 'health document (JSON)')
    .option('--keys <file>', 'signing keys object (JSON)')
    .action((o: { config: string; doc?: string; keys?: string }) => {
      const lines: string[] = [];
      const config = checkConfig(o.config);
      if (config.success) lines.push(...problemLines(o.config, config.warnings, 'warning: '));
      else lines.push(...problemLines(o.config, config.errors));
      let ok = config.success;
      if (o.doc) {
        const doc = checkDoc(o.doc, config.success ? config.data : undefined);
        if (doc.success) lines.push(...problemLines(o.doc, doc.warnings, 'warning: '));
        else lines.push(...problemLines(o.doc, doc.errors));
        ok &&= doc.success;
      }
      if (o.keys) {
        try {
          readKeys(o.keys);
        } catch (e) {
          if (!(e instanceof CliError)) throw e;
          lines.push(...e.lines);
          ok = false;
        }
      }
      for (const l of lines) console.error(l);
      if (!ok) throw new CliError([]);
      console.log(`ok: ${[o.config, o.doc, o.keys].filter(Boolean).join(', ')}`);
    });

  cli
    .command('explain')
    .description('show which target a request goes to, and why')
    .requiredOption('--config <file>', 'router config (JSON)')
    .option('--doc <file>', 'health document (JSON); without it every region is up')
    .option('--country <cc>', 'viewer country (ISO 3166-1 alpha-2), as CloudFront-Viewer-Country')
    .option('--lat <n>', 'viewer latitude', number('--lat', -90, 90))
    .option('--lon <n>', 'viewer longitude', number('--lon', -180, 180))
    .option('--ip <addr>', 'viewer IP; without --country, its country comes from geoip-lite')
    .option('--header <name: value>', 'a request header (repeatable)', collect, [])
    .option('--cookie <name=value>', 'a request cookie (repeatable)', collect, [])
    .option('--time <iso>', 'request time (default: now)')
    .option(
      '--method <method>',
      'HTTP method (default GET): a write may be answered with the affinity cookie',
    )
    .option('--key-file <file>', 'signing keys, to check an x-route-token header or affinity value')
    .option('--ip-file <file>', 'one viewer IP per line: one line out per IP (JSON lines with --json)')
    .option('--live', 'read the live document and signing keys from S3 (healthDoc), as the edge does')
    .option('--endpoint <url>', 'with --live: an S3-compatible endpoint (default: healthDoc.endpoint)')
    .option('--json', 'print the Decision object')
    .action(async (o: ExplainOptions) => {
      if (o.live && o.doc) throw new CliError(['--live and --doc: one or the other']);
      if (o.ipFile !== undefined) {
        if (o.live)
          throw new CliError(['--live with --ip-file: give --doc (edge-router doc get > live.json)']);
        return explainMany(o);
      }
      const { facts, notes } = toFacts(o);
      const { router, data: config, warnings } = loadConfig(o.config);
      const live = o.live ? await readLive(config, o) : undefined;
      if (live)
        notes.push(
          `read live from ${live.where}${live.doc ? '' : ' (no document there)'}${live.keys ? ', with its signing keys' : ''}`,
        );
      const doc = o.doc ? loadDoc(o.doc, config) : live?.doc ? { data: live.doc, warnings: [] } : undefined;
      for (const w of [...warnings, ...(doc?.warnings ?? [])]) console.error(w);
      const keys = o.keyFile ? loadKeyRing(o.keyFile) : live?.keys ? keyRing(live.keys) : undefined;
      if (facts.headers?.['x-route-token'] !== undefined && !keys)
        notes.push('x-route-token not checked: give --key-file');
      const a = router.affinity;
      if (
        a &&
        !keys &&
        (facts.cookies?.[a.cookie] !== undefined || (a.header && facts.headers?.[a.header] !== undefined))
      )
        notes.push('affinity not checked (an unsigned value never steers): give --key-file');
      const { cookie, header } = router.sticky;
      const keyed =
        facts.ip !== undefined ||
        (cookie !== undefined && facts.cookies?.[cookie] !== undefined) ||
        (header !== undefined && facts.headers?.[header] !== undefined);
      const splits =
        doc?.data.canary !== undefined ||
        Object.values(doc?.data.regions ?? {}).some((h) => (h.dial ?? 100) < 100);
      if (splits && !keyed) {
        notes.push(
          'no viewer key (--ip, or the sticky cookie/header): dials and the canary see one empty key',
        );
      }
      const decision: Decision = route(facts, doc?.data ?? null, router, { keys, trace: true });
      // the origin the target resolves to (in CloudFront Functions, the distribution's origin of that id)
      if (o.json) console.log(JSON.stringify({ ...decision, origin: originOf(router, decision) }, null, 2));
      else
        console.log(
          formatDecision(decision, originOf(router, decision), notes, o.doc ?? live?.where, router.affinity),
        );
    });

  cli
    .command('table')
    .description('the routing map: target and reason for a viewer from every country')
    .requiredOption('--config <file>', 'router config (JSON)')
    .option('--doc <file>', 'health document (JSON); without it every region is up')
    .option('--json', 'print an object keyed by ISO code, each with target and reason')
    .action((o: { config: string; doc?: string; json?: boolean }) => {
      const { router, data: config, warnings } = loadConfig(o.config);
      const doc: HealthDoc | null = o.doc ? loadDoc(o.doc, config).data : null;
      for (const w of warnings) console.error(w);
      const table = routingTable(router, doc, Date.now());
      console.log(o.json ? JSON.stringify(table, null, 2) : formatTable(table));
    });

  addPlanCommand(cli);
  addKeyCommands(cli);
  addDocCommands(cli);
  addKvsCommands(cli);
  return cli;
}

function toFacts(o: ExplainOptions): { facts: Facts; notes: string[] } {
  const notes: string[] = [];
  if ((o.lat === undefined) !== (o.lon === undefined)) throw new CliError(['--lat and --lon go together']);
  if (o.country !== undefined && !/^[A-Za-z]{2}$/.test(o.country)) {
    throw new CliError([`--country ${JSON.stringify(o.country)}: expected a two-letter ISO 3166-1 code`]);
  }
  if (o.ip !== undefined && !ipaddr.isValid(o.ip))
    throw new CliError([`--ip ${JSON.stringify(o.ip)}: not an IP address`]);
  let now = Date.now();
  if (o.time !== undefined) {
    now = Date.parse(o.time);
    if (Number.isNaN(now)) throw new CliError([`--time ${JSON.stringify(o.time)}: not an ISO 8601 time`]);
  }
  let country = o.country?.toUpperCase();
  if (country === undefined && o.ip !== undefined) {
    country = countryOf(o.ip);
    notes.push(`viewer ${o.ip}: ${country ? `country ${country}` : 'no country'} (geoip-lite)`);
  }
  const facts: Facts = {
    country,
    lat: o.lat,
    lon: o.lon,
    ip: o.ip,
    headers: Object.fromEntries(o.header.map(header)),
    cookies: Object.fromEntries(o.cookie.map(cookie)),
    method: (o.method ?? 'GET').toUpperCase(),
    now,
  };
  return { facts, notes };
}

/** For the build (esbuild.config.mjs): the same validation as `edge-router validate`, and the latency columns the
 * Lambda@Edge bundle needs. */
/** What the build bakes into the Lambda@Edge bundle: the config's ranking (shared/router.ts). */
export { checkConfig, compiledRouter, latencyColumnsOf };
/** For the build: the CloudFront Functions bundle carries the config's tables baked, and its fingerprint. */
export function bakedRouter(config: RouterConfig): { baked: Baked; fingerprint: string } {
  const router = compileRouter(config);
  return { baked: bake(router), fingerprint: fingerprint(router) };
}

/** Edit distance, for suggesting an option. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/**
 * The first option the command does not know, named with the nearest it does. Commander checks required options
 * before unknown ones, so a misspelt `--conifg` would otherwise read as "--config not specified".
 */
function unknownOption(root: Command, args: readonly string[]): string | undefined {
  let cmd = root;
  const chain = [root];
  for (const a of args) {
    if (a === '--') break;
    if (!a.startsWith('-')) {
      const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
      if (sub) {
        cmd = sub;
        chain.push(sub);
      }
      continue;
    }
    if (!a.startsWith('--')) continue;
    const name = a.split('=')[0];
    const known = ['--help', '--version', ...chain.flatMap((c) => c.options.map((o) => o.long ?? ''))];
    if (known.includes(name)) continue;
    const near = known
      .map((k) => ({ k, d: distance(name, k) }))
      .filter((x) => x.d <= 2)
      .sort((x, y) => x.d - y.d)[0];
    return `unknown option ${name}${near ? ` (did you mean ${near.k}?)` : ''}`;
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const cli = program();
    const unknown = unknownOption(cli, argv.slice(2));
    if (unknown) {
      console.error(`edge-router: ${unknown}`);
      return 1;
    }
    await cli.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      for (const line of e.lines) console.error(`${paint('red', 'edge-router:', process.stderr)} ${line}`);
      return 1;
    }
    // a bug, not bad input: still no stack trace unless asked for
    console.error(`edge-router: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.EDGE_ROUTER_DEBUG) console.error(e);
    return 2;
  }
}
