// The CloudFront Functions runtime, as far as Node can be it (the local edge and the tests run the built file with
// it): a `vm` context with only the globals the runtime documents (no require, process, timers, Map, Set,
// WeakMap, Proxy, Reflect, Intl, Object.hasOwn, Array.from; eval and Function throw), Date frozen at the request's
// start, a console.log that takes exactly one argument, and the `cloudfront` and `crypto` modules as shims. The
// file's top-level code runs again for every request, as nothing in the runtime promises state between requests.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/helper-functions-origin-modification.html
import * as nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as vm from 'node:vm';
import { parse } from 'acorn';

export interface OriginCall {
  readonly helper: 'updateRequestOrigin' | 'selectRequestOriginById' | 'createRequestOriginGroup';
  readonly args: unknown[];
}

/** One header, cookie or query parameter of a CloudFront Functions event. */
export interface CffField {
  value: string;
  multiValue?: { value: string }[];
}

/** What a viewer-request handler returns: the request, or a response (statusCode) for the viewer. */
export interface CffReturned {
  method?: string;
  uri?: string;
  querystring?: Record<string, CffField>;
  headers: Record<string, CffField>;
  cookies?: Record<string, CffField>;
  statusCode?: number;
  statusDescription?: string;
  body?: string | { encoding: string; data: string };
}

export interface CffResult {
  /** what the handler returned: the request (or a response) */
  readonly returned: CffReturned;
  readonly calls: OriginCall[];
  readonly logs: string[];
  /** wall time of the run (top-level code and handler), in microseconds */
  readonly micros: number;
}

export interface HarnessOptions {
  /** the key value store associated with the function: key → value; undefined: none associated */
  readonly kvs?: Record<string, string>;
  /** the origin ids of the distribution (for selectRequestOriginById and origin groups) */
  readonly origins?: readonly string[];
}

// Not in the cloudfront-js-2.0 feature list: removed from the context.
const GLOBALS_ABSENT = [
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'Proxy',
  'Reflect',
  'Intl',
  'SharedArrayBuffer',
  'Atomics',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
  'AggregateError',
];
const STATICS_ABSENT: Record<string, string[]> = {
  Object: ['hasOwn', 'fromEntries', 'getOwnPropertySymbols', 'groupBy'],
  Array: ['from'],
  String: ['raw'],
};

// What a field of updateRequestOrigin and the origin overrides may hold (the AWS developer guide, "Helper methods
// for origin modification"). CloudFront's reaction to a bad value is not documented: the shim throws, so a test
// fails where a real request might.
const HOSTNAME = /^[^:]{1,253}$/;
const isIp = (s: string) => /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(':');
function checkHost(field: string, v: unknown): void {
  if (typeof v !== 'string' || !HOSTNAME.test(v) || isIp(v)) {
    throw new TypeError(`${field}: a host name without ":" (not an IP address), at most 253 characters`);
  }
}
function checkOverrides(where: string, o: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(o)) {
    if (k === 'hostHeader' || k === 'sni') checkHost(`${where}.${k}`, v);
    else if (k === 'allowedCertificateNames') {
      if (!Array.isArray(v) || v.length > 20 || v.some((n) => typeof n !== 'string' || n.length > 64))
        throw new TypeError(`${where}.${k}: at most 20 names of at most 64 characters`);
    } else throw new TypeError(`${where}.${k}: not an origin override`);
  }
}
const range = (field: string, v: unknown, min: number, max: number) => {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
    throw new TypeError(`${field}: an integer from ${min} to ${max}`);
};

export function checkUpdateRequestOrigin(o: Record<string, unknown>): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('updateRequestOrigin: an object');
  const allowed = new Set([
    'domainName',
    'hostHeader',
    'originPath',
    'customHeaders',
    'connectionAttempts',
    'originShield',
    'originAccessControlConfig',
    'timeouts',
    'customOriginConfig',
    'sni',
    'allowedCertificateNames',
  ]);
  for (const k of Object.keys(o))
    if (!allowed.has(k)) throw new TypeError(`updateRequestOrigin.${k}: unknown`);
  if ('domainName' in o) checkHost('domainName', o.domainName);
  if ('originPath' in o) {
    const p = o.originPath;
    if (typeof p !== 'string' || p.length > 255 || (p !== '' && (!p.startsWith('/') || p.endsWith('/'))))
      throw new TypeError(
        'originPath: "" or starting with "/" and not ending with it, at most 255 characters',
      );
  }
  if ('customHeaders' in o) {
    const h = o.customHeaders as Record<string, unknown>;
    for (const [k, v] of Object.entries(h ?? {})) {
      if (k !== k.toLowerCase() || typeof v !== 'string')
        throw new TypeError(`customHeaders.${k}: lower case`);
    }
  }
  if ('connectionAttempts' in o) range('connectionAttempts', o.connectionAttempts, 1, 3);
  if ('timeouts' in o) {
    const t = o.timeouts as Record<string, unknown>;
    if (t.readTimeout !== undefined) range('timeouts.readTimeout', t.readTimeout, 1, 120);
    if (t.keepAliveTimeout !== undefined) range('timeouts.keepAliveTimeout', t.keepAliveTimeout, 1, 120);
    if (t.connectionTimeout !== undefined) range('timeouts.connectionTimeout', t.connectionTimeout, 1, 10);
  }
  if ('customOriginConfig' in o) {
    const c = o.customOriginConfig as Record<string, unknown>;
    const port = c?.port as number;
    if (!(port === 80 || port === 443 || (Number.isInteger(port) && port >= 1024 && port <= 65535)))
      throw new TypeError('customOriginConfig.port: 80, 443 or 1024-65535 (required)');
    if (c.protocol !== 'http' && c.protocol !== 'https')
      throw new TypeError('customOriginConfig.protocol: http or https (required)');
    const tls = c.sslProtocols;
    if (
      !Array.isArray(tls) ||
      tls.length === 0 ||
      tls.some((p) => !['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2'].includes(p))
    )
      throw new TypeError('customOriginConfig.sslProtocols: SSLv3, TLSv1, TLSv1.1 or TLSv1.2 (required)');
  }
  const overrides: Record<string, unknown> = {};
  for (const k of ['hostHeader', 'sni', 'allowedCertificateNames']) if (k in o) overrides[k] = o[k];
  checkOverrides('updateRequestOrigin', overrides);
}

const FAILOVER_CODES = [400, 403, 404, 416, 500, 502, 503, 504];

function cloudfrontShim(opts: HarnessOptions, calls: OriginCall[]) {
  const origins = new Set(opts.origins ?? []);
  const originId = (where: string, id: unknown) => {
    if (typeof id !== 'string' || !origins.has(id))
      throw new TypeError(`${where}: ${String(id)} is not an origin of the distribution`);
  };
  const store = opts.kvs;
  return {
    kvs() {
      if (!store) throw new Error('no key value store is associated with the function');
      return {
        async get(key: string, o?: { format?: string }) {
          if (!Object.hasOwn(store, key)) throw new Error(`key not found: ${key}`);
          const v = store[key];
          if (o?.format === 'json') return JSON.parse(v);
          if (o?.format === 'bytes') return Buffer.from(v);
          return v;
        },
        async exists(key: string) {
          return Object.hasOwn(store, key);
        },
        async meta() {
          return { keyCount: Object.keys(store).length };
        },
      };
    },
    updateRequestOrigin(o: Record<string, unknown>) {
      checkUpdateRequestOrigin(o);
      calls.push({ helper: 'updateRequestOrigin', args: [structuredClone(o)] });
    },
    selectRequestOriginById(id: string, overrides?: Record<string, unknown>) {
      originId('selectRequestOriginById', id);
      if (overrides !== undefined) checkOverrides('selectRequestOriginById', overrides);
      calls.push({ helper: 'selectRequestOriginById', args: [id, overrides] });
    },
    createRequestOriginGroup(g: {
      originIds?: { originId?: unknown; originOverrides?: Record<string, unknown> }[];
      failoverCriteria?: { statusCodes?: unknown[] };
      selectionCriteria?: string;
    }) {
      const ids = g?.originIds;
      if (!Array.isArray(ids) || ids.length !== 2)
        throw new TypeError('createRequestOriginGroup.originIds: two origins');
      ids.forEach((o, i) => {
        originId(`originIds[${i}].originId`, o?.originId);
        if (o.originOverrides !== undefined)
          checkOverrides(`originIds[${i}].originOverrides`, o.originOverrides);
      });
      if (ids[0].originId === ids[1].originId)
        throw new TypeError('createRequestOriginGroup: two different origins');
      const codes = g.failoverCriteria?.statusCodes;
      if (
        !Array.isArray(codes) ||
        codes.length === 0 ||
        codes.some((c: unknown) => !FAILOVER_CODES.includes(c as number))
      )
        throw new TypeError(`failoverCriteria.statusCodes: some of ${FAILOVER_CODES.join(', ')}`);
      if (
        g.selectionCriteria !== undefined &&
        !['default', 'media-quality-score'].includes(g.selectionCriteria)
      )
        throw new TypeError('selectionCriteria: default or media-quality-score');
      for (const k of Object.keys(g)) {
        if (!['originIds', 'failoverCriteria', 'selectionCriteria'].includes(k))
          throw new TypeError(`createRequestOriginGroup.${k}: unknown`);
      }
      calls.push({ helper: 'createRequestOriginGroup', args: [structuredClone(g)] });
    },
  };
}

/** The runtime's crypto module: md5, sha1 and sha256 only; digests in hex, base64 or base64url (or a Buffer). */
const cryptoShim = {
  createHash: (alg: string) => digestOnly(nodeCrypto.createHash(checkAlg(alg))),
  createHmac: (alg: string, key: string | Uint8Array) =>
    digestOnly(nodeCrypto.createHmac(checkAlg(alg), key)),
};
function checkAlg(alg: string): string {
  if (!['md5', 'sha1', 'sha256'].includes(alg)) throw new Error(`crypto: ${alg} is not md5, sha1 or sha256`);
  return alg;
}
function digestOnly(h: nodeCrypto.Hash | nodeCrypto.Hmac) {
  const wrapped = {
    update(data: string | Uint8Array) {
      h.update(data);
      return wrapped;
    },
    digest(enc?: string) {
      if (enc === undefined) return h.digest();
      if (!['hex', 'base64', 'base64url'].includes(enc))
        throw new Error(`digest: ${enc} is not hex, base64 or base64url`);
      return h.digest(enc as 'hex');
    },
  };
  return wrapped;
}

type Factory = (cf: unknown, crypto: unknown) => (event: unknown) => Promise<CffReturned>;

/** A built CloudFront Functions file, ready to run requests. */
export class CffHarness {
  private readonly context: vm.Context;
  private readonly factory: Factory;
  private readonly freeze: (t: number) => void;
  private readonly logs: string[] = [];

  constructor(
    file: string,
    private readonly opts: HarnessOptions = {},
  ) {
    const code = readFileSync(file, 'utf8');
    const ast = parse(code, { ecmaVersion: 2022, sourceType: 'module' }) as unknown as {
      body: {
        type: string;
        start: number;
        end: number;
        source: { value: string };
        specifiers: { local: { name: string } }[];
      }[];
    };
    const names: Record<string, string> = {};
    let body = code;
    for (const node of [...ast.body].reverse()) {
      if (node.type !== 'ImportDeclaration') continue;
      names[node.source.value] = node.specifiers[0].local.name;
      body = body.slice(0, node.start) + body.slice(node.end);
    }
    const logs = this.logs;
    this.context = vm.createContext(
      {
        console: {
          log: (...args: unknown[]) => {
            if (args.length !== 1)
              throw new TypeError('console.log takes one argument in CloudFront Functions');
            logs.push(String(args[0]));
          },
        },
        Buffer,
      },
      { codeGeneration: { strings: false, wasm: false } },
    );
    const prepare = new vm.Script(`(function (absent, statics) {
      for (const name of absent) delete globalThis[name];
      for (const [obj, keys] of Object.entries(statics)) for (const k of keys) delete globalThis[obj][k];
      const RealDate = Date;
      let frozen = 0;
      function FrozenDate(...args) {
        if (!new.target) return new RealDate(frozen).toString();
        return args.length ? new RealDate(...args) : new RealDate(frozen);
      }
      FrozenDate.now = () => frozen;
      FrozenDate.parse = RealDate.parse;
      FrozenDate.UTC = RealDate.UTC;
      FrozenDate.prototype = RealDate.prototype;
      globalThis.Date = FrozenDate;
      return (t) => { frozen = t; };
    })`).runInContext(this.context) as (a: string[], s: Record<string, string[]>) => (t: number) => void;
    this.freeze = prepare(GLOBALS_ABSENT, STATICS_ABSENT);
    const params = [names.cloudfront ?? '__cf', names.crypto ?? '__crypto'];
    this.factory = new vm.Script(`(function (${params.join(', ')}) {\n${body}\nreturn handler;\n})`, {
      filename: file,
    }).runInContext(this.context) as Factory;
  }

  /**
   * Runs one request at `now` (ms since the epoch), with the store of the options or `kvs`. The handler gets a clone
   * of the event (it may change it), made just before the timed part; with `given`, the event itself: the caller's
   * own copy, cloned earlier, that the run may change. The bench times both: cloning a 5,000-cookie event (600 KB)
   * just before a run slows the run that follows, whatever event it is given (viewer-request.bench.ts).
   */
  async run(
    event: unknown,
    now: number = Date.now(),
    kvs?: Record<string, string>,
    given = false,
  ): Promise<CffResult> {
    const calls: OriginCall[] = [];
    this.logs.length = 0;
    this.freeze(now);
    const input = given ? event : structuredClone(event);
    const cf = cloudfrontShim(kvs ? { ...this.opts, kvs } : this.opts, calls);
    const start = process.hrtime.bigint();
    const handler = this.factory(cf, cryptoShim);
    const returned = await handler(input);
    const micros = Number(process.hrtime.bigint() - start) / 1000;
    return { returned, calls, logs: [...this.logs], micros };
  }
}
