// Runs under the Node 22 binary (test/helpers/node22.ts): loads a built Lambda@Edge bundle cold, as a new Lambda
// container does, sends it the job's CloudFront events, and prints one JSON line of what it saw. Plain CommonJS, so
// that it runs on the bare binary, without a TypeScript loader.
'use strict';
const { readFileSync } = require('node:fs');

async function main() {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const logs = [];
  // the bundle logs with console.log (Lambda sends stdout to CloudWatch Logs); stdout is kept for the report
  console.log = (line) => logs.push(String(line));
  const started = process.hrtime.bigint();
  const mod = require(job.bundle);
  const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
  let handler = mod.handler;
  if (job.parts) {
    const { config, compiled, keysKey } = job.parts;
    const { bucket, key, region, endpoint } = config.healthDoc;
    const telemetry = new mod.Telemetry({ runtime: 'node22-test', write: (line) => logs.push(line) });
    const docs = new mod.DocCache({
      config,
      fetch: mod.s3Fetcher({ bucket, key, region, endpoint }),
      telemetry,
    });
    const keys = new mod.KeysCache({
      config,
      fetch: mod.s3Fetcher({ bucket, key: keysKey, region, endpoint }),
      telemetry,
    });
    handler = mod.createEdge({
      config,
      docs,
      keys,
      telemetry,
      router: mod.reviveRouter(compiled, config),
    }).handler;
  }
  const exchanges = [];
  for (const { request, response } of job.exchanges) {
    const sent = await handler(request);
    response.Records[0].cf.request = structuredClone(sent);
    const answered = await handler(response);
    exchanges.push({ sent, answered });
  }
  const exports = Object.fromEntries(Object.keys(mod).map((name) => [name, typeof mod[name]]));
  const report = { version: process.version, execPath: process.execPath, exports, loadMs, exchanges, logs };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
