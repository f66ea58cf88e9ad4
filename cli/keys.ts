// edge-router token / keys: minting override tokens and keeping the signing keys object.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { keyRing, newSecret } from '../lib/keyring';
import { type KeyRing, type KeysDoc, mintAffinity, mintToken, parseJsonText, targetOf } from '../shared';
import { TARGET_ID } from '../shared/ids';
import { problemsOf } from '../shared/problems';
import { schemas } from '../shared/schema';
import { CliError, loadConfig, parseDuration, problemLines, readText } from './load';

export const parseTtl = (v: string): number => parseDuration(v, '--ttl');

/**
 * A secret is never written where git would commit it: inside a git work tree, the path must be ignored
 * (.gitignore covers keys*.json). Outside a work tree, or without git, anywhere goes.
 */
function refuseTracked(file: string): void {
  const dir = dirname(resolve(file));
  const top = spawnSync('git', ['rev-parse', '--show-toplevel'], {
    cwd: existsSync(dir) ? dir : process.cwd(),
    encoding: 'utf8',
  });
  if (top.status !== 0) return;
  const ignored = spawnSync('git', ['check-ignore', '-q', resolve(file)], {
    cwd: top.stdout.trim(),
    encoding: 'utf8',
  });
  if (ignored.status === 0) return;
  throw new CliError([
    `${file}: inside the git work tree ${top.stdout.trim()} and not ignored: a secret there could be committed`,
    'write it outside the work tree, or to a path .gitignore covers (keys*.json, .local/)',
  ]);
}

export function readKeys(file: string): KeysDoc {
  return parseKeys(readText(file), file);
}

/** A keys object's text, checked; what is wrong is named by `where` (a file, an S3 URL) and JSON path. */
export function parseKeys(text: string, where: string): KeysDoc {
  const json = parseJsonText(text);
  if (!json.success) throw new CliError(problemLines(where, json.errors));
  const r = schemas().KeysDocSchema.safeParse(json.data);
  if (!r.success) throw new CliError(problemLines(where, problemsOf(r.error)));
  return r.data;
}

export function loadKeyRing(file: string): KeyRing {
  return keyRing(readKeys(file));
}

function writeKeys(file: string, doc: KeysDoc): void {
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // also when the file existed with wider permissions
}

export function addKeyCommands(cli: Command): void {
  cli
    .command('token')
    .description('mint an x-route-token that lets a viewer choose a target (override)')
    .requiredOption('--target <id>', 'a configured region or environment, or * for any')
    .requiredOption('--ttl <duration>', 'how long it is valid: 30m, 8h, 7d')
    .requiredOption('--key-file <file>', 'the signing keys object (see `edge-router keys new`)')
    .option('--key-id <id>', 'the key to sign with (default: the newest active key)')
    .option('--config <file>', 'router config: checks the target and the maximum TTL')
    .action((o: { target: string; ttl: string; keyFile: string; keyId?: string; config?: string }) => {
      const ttl = parseTtl(o.ttl);
      if (o.target !== '*' && !TARGET_ID.test(o.target)) {
        throw new CliError([
          `--target ${JSON.stringify(o.target)}: expected a region or environment id, or *`,
        ]);
      }
      if (o.config) {
        const { router } = loadConfig(o.config);
        if (o.target !== '*' && !targetOf(router, o.target)) {
          throw new CliError([`--target ${o.target}: not a region or environment of ${o.config}`]);
        }
        if (ttl > router.maxTokenTtlSeconds) {
          throw new CliError([
            `--ttl ${o.ttl}: longer than override.maxTokenTtlSeconds (${router.maxTokenTtlSeconds} s)`,
          ]);
        }
      }
      const ring = loadKeyRing(o.keyFile);
      if (o.keyId !== undefined && !ring.ids.includes(o.keyId)) {
        throw new CliError([`--key-id ${o.keyId}: no such active key in ${o.keyFile}`]);
      }
      const expires = Math.floor(Date.now() / 1000) + ttl;
      const token = mintToken(ring, o.target, expires, o.keyId);
      console.error(
        `token for ${o.target}, key ${token.split('.')[1]}, expires ${new Date(expires * 1000).toISOString()}`,
      );
      console.log(token);
    });

  const affinity = cli.command('affinity').description('region affinity (read-your-writes) values');
  affinity
    .command('mint')
    .description(
      "make a signed affinity value: a cookie for tests, or an application's home-region header (--home)",
    )
    .requiredOption('--region <id>', 'the region it keeps the viewer on')
    .requiredOption('--ttl <duration>', 'how long it is valid: 5m, 1h, 7d')
    .requiredOption('--key-file <file>', 'the signing keys object (see `edge-router keys new`)')
    .option('--key-id <id>', 'the key to sign with (default: the newest active key)')
    .option('--home', 'for the home-region header (affinity.homeHeader), not the cookie')
    .option('--config <file>', 'router config: checks the region, and the TTL against what the edge accepts')
    .action(
      (o: {
        region: string;
        ttl: string;
        keyFile: string;
        keyId?: string;
        home?: boolean;
        config?: string;
      }) => {
        const ttl = parseTtl(o.ttl);
        if (!TARGET_ID.test(o.region))
          throw new CliError([
            `--region ${JSON.stringify(o.region)}: expected a region id such as eu-central-1`,
          ]);
        let cookie = 'route_affinity';
        let header: string | undefined;
        if (o.config) {
          const { router, data } = loadConfig(o.config);
          const a = router.affinity;
          if (!a) throw new CliError([`${o.config}: no affinity section: the edge would ignore the value`]);
          if (!Object.hasOwn(data.regions, o.region))
            throw new CliError([`--region ${o.region}: not a region of ${o.config}`]);
          if (o.home && a.header === undefined)
            throw new CliError([`--home: ${o.config} has no affinity.homeHeader`]);
          const max = o.home ? a.headerMaxTtlSeconds : a.ttlSeconds + 60;
          if (ttl > max) {
            throw new CliError([
              `--ttl ${o.ttl}: longer than the edge accepts (${max} s: ${o.home ? 'affinity.homeMaxTtlSeconds' : 'affinity.ttlSeconds plus 60 s of clock skew'})`,
            ]);
          }
          cookie = a.cookie;
          header = a.header;
        }
        const ring = loadKeyRing(o.keyFile);
        if (o.keyId !== undefined && !ring.ids.includes(o.keyId)) {
          throw new CliError([`--key-id ${o.keyId}: no such active key in ${o.keyFile}`]);
        }
        const expires = Math.floor(Date.now() / 1000) + ttl;
        const value = mintAffinity(ring, o.region, expires, o.keyId);
        const use = o.home ? `${header ?? '<affinity.homeHeader>'}: ${value}` : `Cookie: ${cookie}=${value}`;
        console.error(
          `affinity for ${o.region}, key ${value.split('.')[1]}, expires ${new Date(expires * 1000).toISOString()}; send it as\n  ${use}`,
        );
        console.log(value);
      },
    );

  const keys = cli.command('keys').description('the signing keys object for x-route-token (keep it private)');
  keys
    .command('new')
    .description('add a new random key (creates the file, mode 0600); tokens are then signed with it')
    .requiredOption(
      '--file <file>',
      'the keys object, e.g. keys.json (upload it next to the health document)',
    )
    .option('--id <id>', 'key id (default: k<UTC date and time>)')
    .action((o: { file: string; id?: string }) => {
      refuseTracked(o.file);
      const doc: KeysDoc = existsSync(o.file) ? readKeys(o.file) : { version: 1, keys: [] };
      const id = o.id ?? `k${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id))
        throw new CliError([`--id ${JSON.stringify(id)}: letters, digits, - and _, at most 32`]);
      if (doc.keys.some((k) => k.id === id)) throw new CliError([`${o.file}: key ${id} exists already`]);
      doc.keys.push({ id, secret: newSecret(), createdAt: new Date().toISOString() });
      writeKeys(o.file, doc);
      console.log(`${o.file}: added key ${id}; ${doc.keys.filter((k) => !k.retired).length} active`);
    });
  keys
    .command('retire')
    .description('retire a key: tokens signed with it stop working once the edge reloads the keys')
    .requiredOption('--file <file>', 'the keys object')
    .requiredOption('--id <id>', 'the key to retire')
    .action((o: { file: string; id: string }) => {
      const doc = readKeys(o.file);
      const key = doc.keys.find((k) => k.id === o.id);
      if (!key) throw new CliError([`${o.file}: no key ${o.id}`]);
      key.retired = true;
      writeKeys(o.file, doc);
      const active = doc.keys.filter((k) => !k.retired).length;
      console.log(`${o.file}: retired key ${o.id}; ${active} active`);
      if (active === 0) console.error(`warning: ${o.file} has no active key: no token is valid`);
    });
}
