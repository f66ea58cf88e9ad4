// Reading the config and document files for the CLI. Every failure becomes a CliError that names the file
// and the JSON path; none of them print a stack trace.
import { readFileSync } from 'node:fs';
import {
  compileRouter,
  type HealthDoc,
  type Parsed,
  type Problem,
  parseHealthDocText,
  parseJsonText,
  parseRouterConfig,
  type Router,
  type RouterConfig,
} from '../shared';

/** A failure the user can act on: printed as its lines, without a stack trace. */
export class CliError extends Error {
  constructor(
    readonly lines: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(lines.join('\n'), options);
    this.name = 'CliError';
  }
}

export function problemLines(file: string, problems: readonly Problem[], prefix = ''): string[] {
  return problems.map((p) => `${file}: ${prefix}${p.path}: ${p.message}`);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(e));
    throw new CliError([`${file}: cannot read: ${why}`], { cause: e });
  }
}

export interface Loaded<T> {
  readonly data: T;
  readonly warnings: readonly string[];
}

function unwrap<T>(file: string, parsed: Parsed<T>): Loaded<T> {
  if (!parsed.success) throw new CliError(problemLines(file, parsed.errors));
  return { data: parsed.data, warnings: problemLines(file, parsed.warnings, 'warning: ') };
}

export function checkConfig(file: string): Parsed<RouterConfig> {
  const json = parseJsonText(readText(file));
  return json.success ? parseRouterConfig(json.data) : json;
}

export function checkDoc(file: string, config?: RouterConfig): Parsed<HealthDoc> {
  return parseHealthDocText(readText(file), config);
}

export function loadConfig(file: string): Loaded<RouterConfig> & { router: Router } {
  const loaded = unwrap(file, checkConfig(file));
  return { ...loaded, router: compileRouter(loaded.data) };
}

export function loadDoc(file: string, config: RouterConfig): Loaded<HealthDoc> {
  return unwrap(file, checkDoc(file, config));
}
