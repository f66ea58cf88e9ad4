// Reading the config and document files for the CLI. Every failure becomes a CliError that names the file
// and the JSON path; none of them print a stack trace.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
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

/** Why a file could not be read, in words (never an errno code alone). */
const WHY: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

/**
 * The most any file the CLI reads may hold (a config, a document, keys, a traffic mix, a list of IPs): 4 MiB. Our
 * documents are far smaller (a health document at most 256 KB); a larger file is refused before it is read.
 */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/**
 * A file's text, or a CliError worded the same everywhere: `cannot read FILE: no such file`. Only a regular file is
 * read (a device such as /dev/zero, a FIFO or a socket is refused at once), and at most MAX_INPUT_BYTES of it.
 */
export function readText(file: string, maxBytes = MAX_INPUT_BYTES): string {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const what = st.isDirectory()
        ? 'is a directory'
        : st.isFIFO()
          ? 'is a FIFO (a pipe), not a file'
          : st.isSocket()
            ? 'is a socket, not a file'
            : 'is a device, not a file';
      throw new CliError([`cannot read ${file}: ${what}`]);
    }
    if (st.size > maxBytes)
      throw new CliError([`cannot read ${file}: ${st.size} bytes, over the ${maxBytes}-byte limit`]);
    // the size a file reports can change as it is read: never more than the limit
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, n);
    if (n > maxBytes) throw new CliError([`cannot read ${file}: over the ${maxBytes}-byte limit`]);
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = (code && WHY[code]) ?? (e instanceof Error ? e.message : String(e));
    throw new CliError([`cannot read ${file}: ${why}`], { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
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

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration like 30m, 8h or 7d, in seconds; `option` names it in the error. */
export function parseDuration(v: string, option: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(v.trim());
  if (!m || Number(m[1]) === 0)
    throw new CliError([`${option} ${JSON.stringify(v)}: expected a duration like 30m, 8h or 7d`]);
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}
