// Human-readable output of the CLI.
import { styleText } from 'node:util';
import { COUNTRIES, type Decision, type Reason } from '../shared';
import type { AffinityTable, ResolvedOrigin } from '../shared/router';
import type { SimulationReport, TableRow } from '../shared/simulate';

/**
 * Colour, on a terminal only: never when the stream is a pipe or a file, nor when NO_COLOR is set (https://no-color.org),
 * nor when the terminal cannot show it (TERM unset or dumb: the stream's own hasColors()).
 * The gate is here, for the stream written to; styleText's own check looks at stdout only and differs between Node releases.
 */
export function colours(stream: NodeJS.WriteStream = process.stdout): boolean {
  const no = process.env.NO_COLOR;
  return (
    stream.isTTY === true &&
    (no === undefined || no === '') &&
    typeof stream.hasColors === 'function' &&
    stream.hasColors()
  );
}

type Style = Parameters<typeof styleText>[0];
export const paint = (style: Style, text: string, stream?: NodeJS.WriteStream): string =>
  colours(stream) ? styleText(style, text, { validateStream: false }) : text;

const REASON_STYLE: Partial<Record<Reason, Style>> = {
  nearest: 'green',
  override: 'cyan',
  network: 'cyan',
  affinity: 'cyan',
  canary: 'magenta',
  failover: 'yellow',
  'dial-spill': 'yellow',
  standby: 'yellow',
  'no-geo': 'yellow',
  'fail-open': 'red',
  error: 'red',
};

export function formatDecision(
  d: Decision,
  o: ResolvedOrigin,
  notes: readonly string[],
  docFile?: string,
  affinity?: AffinityTable,
): string {
  const lines = [
    `target:  ${d.target.kind} ${paint('bold', d.target.id)}`,
    `origin:  ${o.protocol}://${o.domainName}:${o.port}${o.path}`,
    `reason:  ${paint(REASON_STYLE[d.reason] ?? 'reset', d.reason)}${d.reason === 'error' ? ` (${d.error})` : ''}`,
    `doc:     ${d.serial === null ? 'none (every region up)' : `serial ${d.serial}${docFile ? ` (${docFile})` : ''}`}`,
    `viewer:  ${d.authorised ? 'authorised (may see x-route-decision)' : 'public'}`,
    ...(d.override
      ? [
          `override: ${JSON.stringify(d.override.requested)} from the ${d.override.from}: ${d.override.honoured ? 'honoured' : 'ignored'} (${d.override.why})`,
        ]
      : []),
    ...(d.affinity
      ? [
          `affinity: ${d.affinity.from}${d.affinity.region ? ` for ${d.affinity.region}` : ''}: ${d.affinity.honoured ? 'followed' : `ignored (${d.affinity.cause})`}`,
        ]
      : []),
    ...(d.setAffinity && affinity
      ? [
          `sets:    ${affinity.cookie} for ${d.target.id}, ${affinity.ttlSeconds} s (on a response below 400)`,
          `         ${affinity.cookie}=${d.setAffinity}`,
        ]
      : []),
    ...notes.map((n) => `note:    ${n}`),
    // the two stages: what the document's plan resolved for this viewer's ranking, then what the pick did
    ...(d.plan
      ? [
          `plan:    ${d.serial === null ? 'no document' : `serial ${d.serial}`}, the walk of this viewer's ranking`,
          ...d.plan.map((t, i) => `  ${i + 1}. ${t}`),
        ]
      : []),
    'pick:',
    ...d.trace.map((t, i) => `  ${i + 1}. ${t}`),
  ];
  return lines.join('\n');
}

export function formatTable(table: Record<string, TableRow>): string {
  const rows = Object.entries(table).map(([iso, r]) => {
    const name = COUNTRIES.get(iso)?.name ?? '';
    const split = r.split
      ? `  ${Object.entries(r.split)
          .map(([id, p]) => `${id} ${p}%`)
          .join(', ')}`
      : '';
    return `${iso}  ${name.slice(0, 28).padEnd(28)}  ${r.target.padEnd(16)}  ${r.reason}${split}`;
  });
  return [`${'CC  country'.padEnd(32)}  ${'target'.padEnd(16)}  reason`, ...rows].join('\n');
}

/** The impact of a change, as a table of destinations, the moves, and the countries that move. */
export function formatSimulation(r: SimulationReport, opts: { brief?: boolean } = {}): string {
  const names = [...new Set([...Object.keys(r.before), ...Object.keys(r.after)])].sort();
  const pct = (n: number | undefined) => `${(n ?? 0).toFixed(2)}%`.padStart(8);
  const lines = [
    `traffic impact (${r.moved.toFixed(2)}% of traffic moves):`,
    `  ${'destination'.padEnd(28)}  before     after`,
  ];
  for (const n of names) lines.push(`  ${n.padEnd(28)}${pct(r.before[n])}  ${pct(r.after[n])}`);
  const moves = Object.entries(r.matrix).flatMap(([from, tos]) =>
    Object.entries(tos)
      .filter(([to]) => to !== from)
      .map(([to, share]) => ({ from, to, share })),
  );
  if (moves.length) {
    lines.push('  moves:');
    for (const m of moves.sort((a, b) => b.share - a.share))
      lines.push(`    ${m.from} → ${m.to}: ${m.share.toFixed(2)}%`);
  }
  const countries = Object.entries(r.countries);
  if (countries.length) {
    const shown = opts.brief ? countries.slice(0, 10) : countries;
    lines.push(`  countries that move (${countries.length}):`);
    for (const [cc, c] of shown) {
      const fmt = (m: Record<string, number>) =>
        Object.entries(m)
          .map(([k, v]) => (v === 100 ? k : `${k} ${v}%`))
          .join(', ');
      lines.push(
        `    ${cc} ${COUNTRIES.get(cc)?.name ?? ''} (${c.share.toFixed(2)}% of traffic): ${fmt(c.before)} → ${fmt(c.after)}`,
      );
    }
    if (shown.length < countries.length)
      lines.push(`    … and ${countries.length - shown.length} more (simulate --all lists them all)`);
  }
  return lines.join('\n');
}
