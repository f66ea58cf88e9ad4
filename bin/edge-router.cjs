#!/usr/bin/env node
// Launcher for the built CLI (dist/cli/index.js, made by `npm run build`, which `npm ci` runs as `prepare`).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const bundle = join(__dirname, '..', 'dist', 'cli', 'index.js');
if (!existsSync(bundle)) {
  const { execFileSync } = require('node:child_process');
  execFileSync(process.execPath, [join(__dirname, '..', 'esbuild.config.mjs')], { stdio: 'inherit' });
}
require(bundle)
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
