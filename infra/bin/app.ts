// The CDK app: `npm run synth` / `npm run deploy` (scripts/cdk.mjs) run it with `--context config=FILE` (default:
// the root router.config.json) and `--context dist=DIR` (default: the root dist/), after building the bundles from
// the same file into that folder. Offline: the account is only named when CDK needs one (context `account`, else
// the CLI's default), never looked up.
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { checkConfig } from '../../cli/load';
import { EdgeRouterStack } from '../lib/edge-router-stack';
import { ProberStack } from '../lib/prober-stack';
import { ReplicaStack } from '../lib/replica-stack';

const ROOT = join(__dirname, '..', '..');
const app = new App();
const file = resolve(ROOT, app.node.tryGetContext('config') ?? 'router.config.json');
const checked = checkConfig(file);
if (!checked.success) {
  for (const e of checked.errors) console.error(`${file}: ${e.path}: ${e.message}`);
  process.exit(1);
}
const dist = resolve(ROOT, app.node.tryGetContext('dist') ?? 'dist');
const account = app.node.tryGetContext('account') ?? process.env.CDK_DEFAULT_ACCOUNT;
new EdgeRouterStack(app, 'EdgeRouter', {
  // Lambda@Edge and the KeyValueStore are us-east-1 resources; EdgeFunction wants the region spelt out
  env: { region: 'us-east-1', account },
  config: checked.data,
  dist,
  description: 'edge-router: per-request routing of a multi-region API at the CloudFront edge',
});
// the replicas of the health document: one stack per replica, in its region (the other stacks name its bucket)
for (const replica of checked.data.healthDoc?.replicas ?? []) {
  new ReplicaStack(app, `EdgeRouterReplica-${replica.region}`, {
    env: { region: replica.region, account },
    replica,
    description: `edge-router: the replica of the health document at ${replica.region}`,
  });
}
// the health checker: one stack per vantage region
for (const vantage of checked.data.health?.vantages ?? []) {
  new ProberStack(app, `EdgeRouterProber-${vantage}`, {
    env: { region: vantage, account },
    config: checked.data,
    dist,
    vantage,
    description: `edge-router: the health checker at ${vantage}`,
  });
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
