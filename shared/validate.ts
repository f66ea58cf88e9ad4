// Parsing and validation that never throws: every problem comes back with the JSON path it is at.
import * as jsonc from 'jsonc-parser';
import type { RouterConfig } from './config-schema';
import { jsonPath, type Parsed, type Problem, problemsOf, reservedKeyProblems } from './problems';
import { type HealthDoc, MAX_DOC_BYTES, schemas } from './schema';

export { jsonPath, type Parsed, type Problem, problemsOf };

/**
 * Validates a health document. With the router config, ids the config does not know are reported as
 * warnings (and are ignored by routing) rather than errors, so a doc can name a region before it is deployed.
 */
export function parseHealthDoc(input: unknown, config?: RouterConfig): Parsed<HealthDoc> {
  const reserved = reservedKeyProblems(input);
  if (reserved.length) return { success: false, errors: reserved };
  const r = schemas().HealthDocSchema.safeParse(input);
  if (!r.success) return { success: false, errors: problemsOf(r.error) };
  const warnings: Problem[] = [];
  if (config) {
    for (const id of Object.keys(r.data.regions)) {
      if (!Object.hasOwn(config.regions, id) && !Object.hasOwn(config.environments ?? {}, id)) {
        warnings.push({
          path: jsonPath(['regions', id]),
          message: `"${id}" is not in the router config: ignored`,
        });
      }
    }
  }
  return { success: true, data: r.data, warnings };
}

/**
 * The deepest nesting of arrays and objects any of our documents may have. Ours need under 10; the bound keeps every
 * reader of a hostile text (the JSON error finder, the schemas, the error paths) from recursing without end.
 */
export const MAX_JSON_DEPTH = 64;

/** The offset where `text` nests arrays and objects deeper than `max`, outside strings; -1 when it never does. */
export function tooDeepAt(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/**
 * JSON.parse that reports where the text breaks, and refuses texts over `maxBytes` (UTF-8) or nested deeper than
 * MAX_JSON_DEPTH: each is a rejection with its reason, never a thrown RangeError.
 */
export function parseJsonText(text: string, maxBytes = Number.POSITIVE_INFINITY): Parsed<unknown> {
  return readJsonText(text, maxBytes, whereJsonBreaks);
}

/**
 * parseJsonText for the Lambda@Edge function: a text JSON.parse refuses gets V8's own message (it names the token,
 * not always the line), so that jsonc-parser, which finds where, is not in its bundle: 10 KB a cold start would
 * parse on a viewer's request. The bounds are the same.
 */
export function readJsonText(
  text: string,
  maxBytes = Number.POSITIVE_INFINITY,
  describe: (text: string, error: unknown) => string = (_, e) => (e instanceof Error ? e.message : String(e)),
): Parsed<unknown> {
  const bytes = utf8Length(text);
  if (bytes > maxBytes) {
    return {
      success: false,
      errors: [{ path: '$', message: `document is ${bytes} bytes; the limit is ${maxBytes}` }],
    };
  }
  const deep = tooDeepAt(text);
  if (deep >= 0) {
    return {
      success: false,
      errors: [
        {
          path: '$',
          message: `nested deeper than ${MAX_JSON_DEPTH} arrays and objects (at character ${deep + 1})`,
        },
      ],
    };
  }
  try {
    return { success: true, data: JSON.parse(text), warnings: [] };
  } catch (e) {
    return { success: false, errors: [{ path: '$', message: `invalid JSON: ${describe(text, e)}` }] };
  }
}

// V8's JSON.parse messages do not always say where; jsonc-parser (strict mode) finds the first error's offset.
function whereJsonBreaks(text: string, error: unknown): string {
  const errors: jsonc.ParseError[] = [];
  jsonc.parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length === 0) return error instanceof Error ? error.message : String(error);
  const { error: code, offset } = errors[0];
  const what = jsonc
    .printParseErrorCode(code)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${what} (line ${line}, column ${offset - before.lastIndexOf('\n')})`;
}

/** Reads and validates a health document from its stored text (the 256 KB limit applies). */
export function parseHealthDocText(text: string, config?: RouterConfig): Parsed<HealthDoc> {
  return healthDocOf(parseJsonText(text, MAX_DOC_BYTES), config);
}

/** parseHealthDocText for the Lambda@Edge function (readJsonText). */
export function readHealthDocText(text: string, config?: RouterConfig): Parsed<HealthDoc> {
  return healthDocOf(readJsonText(text, MAX_DOC_BYTES), config);
}

function healthDocOf(json: Parsed<unknown>, config?: RouterConfig): Parsed<HealthDoc> {
  return json.success ? parseHealthDoc(json.data, config) : json;
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c >= 0xe000) ? 2 : 1;
  }
  return n;
}
