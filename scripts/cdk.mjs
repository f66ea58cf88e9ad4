// npm run synth / npm run deploy: builds the bundles from a router config, then runs the CDK CLI on infra/ with
// the same config as context. `node scripts/cdk.mjs synth|deploy|destroy [--config FILE] [--dist DIR] [-- cdk options]`.
// --dist (default dist/) is where the bundles are built and where the app reads them (context `dist`): another
// folder leaves the repository's dist/ as it is (tests; the CDK CLI's own --output does the same for cdk.out).
// Synthesis is offline: no credentials are needed, and the EC2 metadata service is not asked for any.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    config: { type: 'string', default: 'router.config.json' },
    dist: { type: 'string', default: 'dist' },
  },
});
const ours = ['--config', '--dist'];
// what is not ours (--quiet, --require-approval ...) goes to the CDK CLI
const passOn = process.argv
  .slice(3)
  .filter(
    (a, i, all) =>
      !ours.includes(a) && !ours.includes(all[i - 1]) && !ours.some((o) => a.startsWith(`${o}=`)),
  );
const command = positionals[0] ?? 'synth';
// deploy: every stack the config makes (EdgeRouter, and EdgeRouterReplica-<region> and EdgeRouterProber-<region>
// when it names replicas and vantages), unless stacks are named; the CDK CLI refuses an app of several stacks
// without --all or names. destroy is left to name its stacks.
if (command === 'deploy' && !passOn.includes('--all') && !passOn.some((a) => /^EdgeRouter/.test(a)))
  passOn.push('--all');
const config = resolve(String(values.config));
const dist = resolve(String(values.dist));
const env = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', CDK_DISABLE_VERSION_CHECK: '1' };
const run = (cmd, args, cwd) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd, env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, ['esbuild.config.mjs', '--config', config, '--outdir', dist], process.cwd());
const cdk = resolve('node_modules', 'aws-cdk', 'bin', 'cdk');
const cdkArgs = [
  command,
  '--context',
  `config=${config}`,
  '--context',
  `dist=${dist}`,
  '--no-notices',
  ...passOn,
];
// for the tests: the CDK command line, not run (a deploy needs an AWS account)
if (process.env.EDGE_ROUTER_CDK_PRINT === '1') {
  console.log(JSON.stringify(cdkArgs));
  process.exit(0);
}
run(process.execPath, [cdk, ...cdkArgs], resolve('infra'));
