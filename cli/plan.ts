// edge-router plan: what the edge reads of a health document. The plan's walks (shared/plan.ts), one per ranking,
// as the KeyValueStore holds them for CloudFront Functions (keys, parts, bytes) and as Lambda@Edge builds them, each
// with the viewers it serves and its words.
import type { Command } from 'commander';
import { planEntries, storedWalk } from '../lib/kvs';
import { plan, type Router } from '../shared';
import { walkNetworks } from '../shared/bake';
import { num } from '../shared/chars';
import { ANCHORS } from '../shared/geo';
import { KVS_MAX_VALUE_BYTES, type KvsEntry, walkKey } from '../shared/kvs-layout';
import { fingerprint } from '../shared/plan';
import { fallbackWalk, type Walk } from '../shared/walk';
import { CliError, loadConfig, loadDoc } from './load';

/** Who a ranking's walk serves: countries, latitude/longitude anchors (per residency group), no geography. */
export function viewersOf(
  router: Router,
  ranking: number,
): { countries: string[]; anchors: string[]; noGeo: boolean } {
  const countries = [...router.byCountry].filter(([, r]) => r === ranking).map(([cc]) => cc);
  const anchors: string[] = [];
  router.byAnchor.forEach((ranks, g) => {
    for (let a = 0; a < ANCHORS.length; a++) {
      if (num(ranks, a) !== ranking) continue;
      const group = g === 0 ? '' : ` (residency ${router.config.residency?.[g - 1]?.name ?? g - 1})`;
      anchors.push(`${ANCHORS[a].code}${group}`);
    }
  });
  return { countries: countries.sort(), anchors, noGeo: router.noGeo === ranking };
}

const list = (xs: readonly string[], most = 12) =>
  xs.length > most ? `${xs.slice(0, most).join(', ')} (+${xs.length - most} more)` : xs.join(', ');

export function addPlanCommand(cli: Command): void {
  cli
    .command('plan')
    .description(
      "what the edge reads of a document: each ranking's walk, and the KeyValueStore keys that hold it (sizes)",
    )
    .requiredOption('--config <file>', 'router config (JSON)')
    .option(
      '--doc <file>',
      'health document (JSON); without it, the walks the edge routes on with no document',
    )
    .option('--json', 'print the plan as an object: the keys, their sizes, and every walk')
    .action((o: { config: string; doc?: string; json?: boolean }) => {
      const { router, data: config, warnings } = loadConfig(o.config);
      const doc = o.doc ? loadDoc(o.doc, config) : undefined;
      for (const w of [...warnings, ...(doc?.warnings ?? [])]) console.error(w);
      const p = plan(router, doc?.data ?? null);
      // what is stored (only for a document: with none, CloudFront Functions route on their baked defaults)
      let entries: KvsEntry[] = [];
      try {
        if (doc) entries = planEntries(router, doc.data);
      } catch (e) {
        throw new CliError([
          `${o.doc}: ${e instanceof Error ? e.message : e}: the store cannot hold this plan`,
        ]);
      }
      const networks = walkNetworks(router);
      const walks = router.orders.map((_, n) => {
        const walk = (p.walks[n] ?? fallbackWalk(router, n)) as Walk;
        const keys = entries
          .filter((e) => e.key === walkKey(n) || e.key.startsWith(`${walkKey(n)}/`))
          .map((e) => ({ key: e.key, bytes: Buffer.byteLength(e.value) }));
        return {
          ranking: n,
          keys,
          stored: storedWalk(walk, networks),
          says: walk.says ?? [],
          ...viewersOf(router, n),
        };
      });
      const fp = fingerprint(router);
      const total = entries.reduce((t, e) => t + Buffer.byteLength(e.value), 0);
      if (o.json) {
        const out = walks.map(({ stored, ...w }) => ({ ...w, walk: JSON.parse(stored) }));
        console.log(
          JSON.stringify(
            { serial: p.serial, fingerprint: fp, keys: entries.length, bytes: total, walks: out },
            null,
            2,
          ),
        );
        return;
      }
      const lines = [
        doc
          ? `plan of serial ${p.serial} (${o.doc}) for ${o.config}, fingerprint ${fp}: ${walks.length} walks in ${entries.length} keys, ${total} bytes (each value at most ${KVS_MAX_VALUE_BYTES})`
          : `plan of no document for ${o.config}, fingerprint ${fp}: ${walks.length} walks, nothing stored (CloudFront Functions route on their baked defaults, every region up)`,
      ];
      for (const w of walks) {
        lines.push('');
        const where = w.keys.length
          ? w.keys.map((k) => `${k.key} ${k.bytes} B`).join(', ')
          : `${walkKey(w.ranking)} (not stored)`;
        lines.push(`walk ${w.ranking}: ${where}`);
        const who = [
          w.countries.length ? `countries ${list(w.countries)}` : '',
          w.anchors.length ? `lat/lon near ${list(w.anchors, 6)}` : '',
          w.noGeo ? 'no geography' : '',
        ].filter(Boolean);
        lines.push(`  viewers: ${who.length ? who.join('; ') : 'none'}`);
        for (const s of w.says) lines.push(`  ${s}`);
        if (w.keys.length) lines.push(`  stored: ${w.stored}`);
      }
      console.log(lines.join('\n'));
    });
}
