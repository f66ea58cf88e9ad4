'use strict';
// The static check of a CloudFront Functions file (cloudfront-js-2.0), run by the build on
// dist/viewer-request/index.js and by test/viewer-request/check.test.ts on known-bad samples. CommonJS, so that
// both the build (an ES module) and jest can load it.
//
// CloudFront rejects or breaks on code outside the runtime, and only at publish or request time, so this fails the
// build instead (a stray `exports` line once broke every request of a published construct library: construct-hub
// PR #1906). What is allowed, from the AWS developer guide:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html
//   ES 5.1, plus const/let, arrow functions, rest parameters, template literals, `**`, async/await (async only on
//   top-level function declarations: "async arguments and closures are not supported"), RegExp named groups;
//   imports only `import cf from 'cloudfront'` and `import crypto from 'crypto'`; a top-level `function handler`.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html: at most 10 KB.
const { parse } = require('acorn');
const { ancestor } = require('acorn-walk');

const CFF_MAX_BYTES = 10 * 1024;

const MODULES = new Set(['cloudfront', 'crypto']);
// Globals the runtime does not have (not in the 2.0 feature list) or forbids (eval, Function, timers).
const FORBIDDEN_GLOBALS = new Set([
  'require',
  'module',
  'exports',
  'process',
  'eval',
  'Function',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'queueMicrotask',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'Proxy',
  'Reflect',
  'Intl',
  'structuredClone',
  'URL',
  'URLSearchParams',
  'fetch',
]);
// Syntax beyond ES 5.1 that the runtime does not list.
const FORBIDDEN_NODES = {
  ClassDeclaration: 'class',
  ClassExpression: 'class',
  ForOfStatement: 'for-of',
  ObjectPattern: 'destructuring',
  ArrayPattern: 'destructuring',
  AssignmentPattern: 'a default parameter',
  SpreadElement: 'spread',
  ChainExpression: 'optional chaining',
  YieldExpression: 'a generator',
  TaggedTemplateExpression: 'a tagged template',
  ImportExpression: 'dynamic import',
  MetaProperty: 'import.meta / new.target',
  ExportNamedDeclaration: 'export',
  ExportDefaultDeclaration: 'export',
  ExportAllDeclaration: 'export',
  PropertyDefinition: 'a class field',
  StaticBlock: 'a class static block',
};
// Methods the runtime does not list on these objects.
const FORBIDDEN_STATICS = {
  Object: ['hasOwn', 'fromEntries', 'getOwnPropertySymbols', 'groupBy'],
  Array: ['from'],
  String: ['raw'],
};

/** Why `code` would not fit CloudFront Functions' size limit, or null. */
function sizeProblem(code) {
  const bytes = Buffer.byteLength(code, 'utf8');
  return bytes > CFF_MAX_BYTES ? `${bytes} bytes; CloudFront Functions allow ${CFF_MAX_BYTES}` : null;
}

/**
 * Problems with `code` as a cloudfront-js-2.0 viewer function, other than its size (sizeProblem), as
 * "line:column: what" strings; [] if none.
 */
function checkCloudFrontFunction(code) {
  const problems = [];
  let ast;
  try {
    ast = parse(code, { ecmaVersion: 2022, sourceType: 'module', locations: true });
  } catch (e) {
    return [...problems, `does not parse: ${e.message}`];
  }
  const at = (node, what) => problems.push(`${node.loc.start.line}:${node.loc.start.column}: ${what}`);

  // Top level: the imports, and a function declaration named handler.
  let handler = false;
  for (const node of ast.body) {
    if (node.type === 'ImportDeclaration') {
      const source = node.source.value;
      const def = node.specifiers.length === 1 && node.specifiers[0].type === 'ImportDefaultSpecifier';
      if (!MODULES.has(source) || !def)
        at(node, `import from ${JSON.stringify(source)}: only a default import of cloudfront or crypto`);
    }
    if (node.type === 'FunctionDeclaration' && node.id.name === 'handler') handler = true;
  }
  if (!handler) problems.push('no top-level `function handler(event)`');
  const cf = ast.body.findIndex((n) => n.type === 'ImportDeclaration' && n.source.value === 'cloudfront');
  if (cf > 0) at(ast.body[cf], "import cf from 'cloudfront' must come first");

  const declared = new Set();
  ancestor(ast, {
    VariableDeclarator(node) {
      if (node.id.type === 'Identifier') declared.add(node.id.name);
    },
    FunctionDeclaration(node) {
      declared.add(node.id.name);
    },
  });

  ancestor(ast, {
    ...Object.fromEntries(Object.entries(FORBIDDEN_NODES).map(([type, what]) => [type, (n) => at(n, what)])),
    LogicalExpression(n) {
      if (n.operator === '??') at(n, 'nullish coalescing (??)');
    },
    AssignmentExpression(n) {
      if (['??=', '||=', '&&='].includes(n.operator)) at(n, `logical assignment (${n.operator})`);
    },
    Property(n) {
      if (n.shorthand) at(n, 'a shorthand property');
      else if (n.method) at(n, 'a shorthand method');
      else if (n.computed) at(n, 'a computed property name');
    },
    Function(n, _state, ancestors) {
      if (n.generator) at(n, 'a generator');
      if (n.async && !(n.type === 'FunctionDeclaration' && ancestors.length === 2)) {
        at(n, 'an async closure (only top-level async function declarations)');
      }
    },
    Literal(n) {
      if (typeof n.bigint === 'string') at(n, 'a BigInt');
      if (n.regex && /[^gimy]/.test(n.regex.flags)) at(n, `RegExp flag(s) ${n.regex.flags}`);
      if (n.regex && /\(\?<[=!]/.test(n.regex.pattern)) at(n, 'a RegExp lookbehind');
    },
    Identifier(n, _state, ancestors) {
      if (!FORBIDDEN_GLOBALS.has(n.name) || declared.has(n.name)) return;
      const parent = ancestors[ancestors.length - 2];
      // a property name (x.Map, {Map: 1}) is not the global
      if (parent?.type === 'MemberExpression' && parent.property === n && !parent.computed) return;
      if (parent?.type === 'Property' && parent.key === n && !parent.computed) return;
      at(n, `${n.name}: not in the runtime`);
    },
    MemberExpression(n) {
      const names = n.object.type === 'Identifier' && FORBIDDEN_STATICS[n.object.name];
      if (names && !n.computed && names.includes(n.property.name)) {
        at(n, `${n.object.name}.${n.property.name}: not in the runtime`);
      }
    },
    CallExpression(n) {
      if (n.callee.type === 'MemberExpression' && n.callee.object.name === 'console') {
        if (n.callee.property.name !== 'log') at(n, `console.${n.callee.property.name}: only console.log`);
        else if (n.arguments.length !== 1) at(n, 'console.log takes exactly one argument');
      }
    },
  });
  return problems;
}

module.exports = { CFF_MAX_BYTES, checkCloudFrontFunction, sizeProblem };
