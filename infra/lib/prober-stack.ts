// The health checker at one vantage: a regional Lambda (dist/prober) run by EventBridge once a minute, probing every
// intervalSeconds within the invocation. One stack per vantage region; it reaches the document's bucket (us-east-1)
// and every replica's (healthDoc.replicas) by name, and may read the document and every vantage's observations,
// write the document and its own observations, list only the observations, read and write the document in each
// replica (the copy after a write is conditional on what the replica holds: lib/doc-store.ts writeReplicas), and
// nothing else.
import { join } from 'node:path';
import {
  type CfnElement,
  aws_cloudwatch as cloudwatch,
  Duration,
  aws_events as events,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  type StackProps,
  aws_events_targets as targets,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { observationsPrefix } from '../../lib/prober';
import type { RouterConfig } from '../../shared';
import { docSources } from '../../shared/doc-sources';
import { bucketArn, objectArn } from './doc-bucket';

export interface ProberStackProps extends StackProps {
  readonly config: RouterConfig;
  readonly dist: string;
  readonly vantage: string;
}

export class ProberStack extends Stack {
  readonly fn: lambda.Function;

  constructor(scope: Construct, id: string, props: ProberStackProps) {
    super(scope, id, props);
    const { config, vantage } = props;
    const src = config.healthDoc;
    if (!src || !config.health) throw new Error('the router config has no healthDoc or health section');
    const bucket = bucketArn(this, src.bucket);
    const observations = observationsPrefix(src.key);
    // the document in each replica; not its keys (the CLI copies those), not its observations (kept in the primary)
    const replicaDocs = docSources(src)
      .filter((copy) => !copy.primary)
      .map((copy) => objectArn(this, copy.bucket, src.key));

    const role = new iam.Role(this, 'ProberRole', {
      description: `edge-router health checker (${vantage}): probe, record, and write the health document`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`${bucket}/${src.key}`, `${bucket}/${observations}*`, ...replicaDocs],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [`${bucket}/${src.key}`, `${bucket}/${observations}${vantage}.json`, ...replicaDocs],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket],
        conditions: { StringLike: { 's3:prefix': [`${observations}*`] } },
      }),
    );
    if (src.kvsArn) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'cloudfront-keyvaluestore:DescribeKeyValueStore',
            'cloudfront-keyvaluestore:ListKeys',
            'cloudfront-keyvaluestore:UpdateKeys',
          ],
          resources: [src.kvsArn],
        }),
      );
    }
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:*`],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${src.bucket}/${observations}*]`,
      reason: "Every vantage's observations: the quorum reads them all, and only they match",
    });
    const logsId = Stack.of(this).getLogicalId(logGroup.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${logsId}.Arn>:*]`,
      reason: 'The log streams of its own log group, whose names Lambda chooses',
    });

    // The invocation runs for about a minute (probing every interval); 256 MB for the AWS SDK's start.
    this.fn = new lambda.Function(this, 'Prober', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(join(props.dist, 'prober')),
      memorySize: 256,
      timeout: Duration.seconds(70),
      role,
      logGroup,
      description: `edge-router: the health checker at ${vantage}`,
      reservedConcurrentExecutions: 1,
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x on purpose: the runtime the project targets and tests (Node 20 syntax, Node 22 runtime)',
    });
    // The alert for a flip the checker would make but may not (a guard rail, a pin, the dwell): someone should look.
    new cloudwatch.Alarm(this, 'FlipsSuppressed', {
      alarmDescription: `edge-router: the health checker at ${vantage} held back a flip (guard rail, pin or dwell)`,
      metric: new cloudwatch.Metric({
        namespace: 'EdgeRouter',
        metricName: 'HealthFlipsSuppressed',
        dimensionsMap: { Vantage: vantage },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new events.Rule(this, 'EveryMinute', {
      description: `edge-router: run the health checker at ${vantage}`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.fn, { retryAttempts: 0 })],
    });
  }
}
