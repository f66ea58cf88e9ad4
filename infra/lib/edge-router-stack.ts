// The whole edge router in one stack, in us-east-1: the bucket for the health document and the signing keys, the
// routing functions (Lambda@Edge or CloudFront Functions, by the router config's `runtime`), the distribution with
// one origin per region and environment, and what an operator watches (log retention, a dashboard, alarms).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Annotations,
  Arn,
  ArnFormat,
  CfnOutput,
  aws_cloudfront as cloudfront,
  aws_cloudwatch as cloudwatch,
  custom_resources as cr,
  Duration,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_cloudfront_origins as origins,
  RemovalPolicy,
  Stack,
  type StackProps,
  type aws_s3 as s3,
  Token,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { importFile, planEntries } from '../../lib/kvs';
import type { AffinityCause, HealthDoc, RouterConfig } from '../../shared';
import { docSources } from '../../shared/doc-sources';
import { everyTargetUp } from '../../shared/health-check';
import { resolveOriginTimeouts } from '../../shared/origin-timeouts';
import {
  compileRouter,
  distributionOrigins,
  keysKeyOf,
  SECOND_ATTEMPT_ORIGIN_ID,
  secondAttemptOrigin,
} from '../../shared/router';
import { docBucket, objectArn } from './doc-bucket';

/** CloudFront's limit for a function's code (bytes). */
export const CFF_MAX_BYTES = 10 * 1024;

/** The regions Lambda@Edge replicas run in (the regional edge caches): where their logs and metrics land. */
export const EDGE_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
] as const;

export interface EdgeRouterStackProps extends StackProps {
  /** the validated router config (the same file the build baked into the bundles) */
  readonly config: RouterConfig;
  /** where `npm run build` wrote the bundles */
  readonly dist: string;
  /**
   * The CloudFront Functions code, instead of dist/viewer-request/index.js: for tests of the template's wiring.
   * The stack refuses code over CloudFront's 10 KB either way.
   */
  readonly viewerRequestCode?: string;
}

/** The first document: every region and environment up (serial 0), written only when the key is empty. */
export function initialDoc(config: RouterConfig): HealthDoc {
  // a fixed time, so that the template does not change with every synth
  return everyTargetUp(config, 0, '2026-01-01T00:00:00Z');
}

/** CloudFront's default quota of origins per distribution (adjustable): the stack warns at synth above it. */
export const CLOUDFRONT_ORIGINS_QUOTA = 25;

export class EdgeRouterStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly keyValueStore?: cloudfront.KeyValueStore;

  constructor(scope: Construct, id: string, props: EdgeRouterStackProps) {
    super(scope, id, props);
    const { config, dist } = props;
    const src = config.healthDoc;
    if (!src) throw new Error('the router config has no healthDoc: the stack needs its bucket and key');
    if (src.region !== 'us-east-1')
      throw new Error('healthDoc.region must be us-east-1: the stack lives there');
    const keysKey = keysKeyOf(config) ?? 'keys.json';
    const retention = logs.RetentionDays.ONE_MONTH;

    // ---- The document bucket: private, versioned (doc history, rollback), encrypted, TLS only (doc-bucket.ts) ----
    this.bucket = docBucket(this, 'HealthDocs', src.bucket);

    // Seeded once: PutObject with If-None-Match, so a redeploy never resets a live document.
    const doc = initialDoc(config);
    const seed = new cr.AwsCustomResource(this, 'SeedHealthDoc', {
      onCreate: {
        service: 'S3',
        action: 'putObject',
        parameters: {
          Bucket: this.bucket.bucketName,
          Key: src.key,
          Body: `${JSON.stringify(doc, null, 2)}\n`,
          ContentType: 'application/json',
          IfNoneMatch: '*',
        },
        physicalResourceId: cr.PhysicalResourceId.of(`${src.bucket}/${src.key}`),
        ignoreErrorCodesMatching: 'PreconditionFailed',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects(src.key)],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    seed.node.addDependency(this.bucket);

    // ---- The routing functions ----
    const lambdaEdge = config.runtime !== 'cloudfront-functions';
    let edgeLambdas: cloudfront.EdgeLambda[] | undefined;
    let functionAssociations: cloudfront.FunctionAssociation[] | undefined;
    let fnName: string | undefined;

    if (lambdaEdge) {
      const role = new iam.Role(this, 'EdgeFunctionRole', {
        description: 'edge-router Lambda@Edge: read the health document and the signing keys, write logs',
        assumedBy: new iam.CompositePrincipal(
          new iam.ServicePrincipal('lambda.amazonaws.com'),
          new iam.ServicePrincipal('edgelambda.amazonaws.com'),
        ),
      });
      // exactly the two objects in every copy (the primary, then each replica in healthDoc.replicas, reached by the
      // name the config gives it: replica-stack.ts): no listing, no other key
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: docSources(src).flatMap((copy) =>
            [src.key, keysKey].map((key) =>
              copy.primary ? this.bucket.arnForObjects(key) : objectArn(this, copy.bucket, key),
            ),
          ),
        }),
      );
      // Lambda@Edge replicas log to /aws/lambda/us-east-1.<function> in the region where they run
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [
            Arn.format(
              {
                service: 'logs',
                region: '*',
                resource: 'log-group',
                resourceName: '/aws/lambda/*',
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              },
              this,
            ),
          ],
        }),
      );
      const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:*:${account}:log-group:/aws/lambda/*]`,
        reason:
          'Lambda@Edge replicas write logs in every region that serves viewers, to log groups named after the replica: the region and group cannot be listed in advance',
      });
      // Memory is CPU on Lambda: 512 MB loads the 0.6 MB bundle (AWS SDK inside) in about half the time of 128 MB,
      // and every cold start is on a viewer's request. Timeout: the document fetch has its own (healthDoc.timeoutMs)
      // and falls back to the last known good; 5 s bounds the rest (origin-request allows 30 s).
      const originRequest = new cloudfront.experimental.EdgeFunction(this, 'OriginRequest', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromAsset(join(dist, 'origin-request')),
        memorySize: 512,
        timeout: Duration.seconds(5),
        role,
        description: 'edge-router: routes each request to the best regional origin',
      });
      // One function for origin-request and origin-response: the response side sets the trace for authorised viewers
      // and the affinity cookie, and feeds passive health (config outlier), which needs the same containers.
      new logs.LogGroup(this, 'OriginRequestLogs', {
        // the us-east-1 copy; replicas in other regions make their own groups (see the README)
        logGroupName: `/aws/lambda/${originRequest.functionName}`,
        retention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      edgeLambdas = [
        {
          eventType: cloudfront.LambdaEdgeEventType.ORIGIN_REQUEST,
          functionVersion: originRequest.currentVersion,
        },
        {
          eventType: cloudfront.LambdaEdgeEventType.ORIGIN_RESPONSE,
          functionVersion: originRequest.currentVersion,
        },
      ];
      fnName = originRequest.functionName;
    } else {
      const code = props.viewerRequestCode ?? readFileSync(join(dist, 'viewer-request', 'index.js'), 'utf8');
      const bytes = Buffer.byteLength(code);
      if (bytes > CFF_MAX_BYTES) {
        throw new Error(`viewer-request code is ${bytes} bytes; CloudFront Functions allow ${CFF_MAX_BYTES}`);
      }
      // The plan of the first document in the store; `edge-router doc` writes keep it in step with S3 afterwards.
      this.keyValueStore = new cloudfront.KeyValueStore(this, 'Store', {
        comment: 'edge-router: the plan of the health document, read by the viewer-request function',
        source: cloudfront.ImportSource.fromInline(
          JSON.stringify(importFile(planEntries(compileRouter(config), doc))),
        ),
      });
      const fn = new cloudfront.Function(this, 'ViewerRequest', {
        code: cloudfront.FunctionCode.fromInline(code),
        runtime: cloudfront.FunctionRuntime.JS_2_0,
        keyValueStore: this.keyValueStore,
        comment: 'edge-router: routes each request to the best regional origin',
      });
      new logs.LogGroup(this, 'ViewerRequestLogs', {
        // CloudFront Functions log to us-east-1 under this name
        logGroupName: `/aws/cloudfront/function/${fn.functionName}`,
        retention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      functionAssociations = [{ eventType: cloudfront.FunctionEventType.VIEWER_REQUEST, function: fn }];
      if (config.affinity) {
        // Region affinity: the viewer-response function sets the cookie the viewer-request function signed.
        const response = new cloudfront.Function(this, 'ViewerResponse', {
          code: cloudfront.FunctionCode.fromInline(
            readFileSync(join(dist, 'viewer-response', 'index.js'), 'utf8'),
          ),
          runtime: cloudfront.FunctionRuntime.JS_2_0,
          comment: 'edge-router: sets the region affinity cookie',
        });
        new logs.LogGroup(this, 'ViewerResponseLogs', {
          logGroupName: `/aws/cloudfront/function/${response.functionName}`,
          retention,
          removalPolicy: RemovalPolicy.DESTROY,
        });
        functionAssociations.push({
          eventType: cloudfront.FunctionEventType.VIEWER_RESPONSE,
          function: response,
        });
      }
      fnName = fn.functionName;
    }

    // ---- The distribution ----
    // Every origin waits as the config says (originTimeouts; with originGroups, failover's defaults: 1 attempt, 2 s)
    const waits = resolveOriginTimeouts(config);
    const originOf = (
      id: string,
      o: { domainName: string; port?: number; protocol?: 'https' | 'http'; path?: string },
      customHeaders?: Record<string, string>,
    ) =>
      new origins.HttpOrigin(o.domainName, {
        originId: id,
        customHeaders,
        protocolPolicy:
          (o.protocol ?? 'https') === 'https'
            ? cloudfront.OriginProtocolPolicy.HTTPS_ONLY
            : cloudfront.OriginProtocolPolicy.HTTP_ONLY,
        httpsPort: o.protocol === 'http' ? undefined : o.port,
        httpPort: o.protocol === 'http' ? o.port : undefined,
        originPath: o.path,
        originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        connectionAttempts: waits.connectionAttempts,
        connectionTimeout: Duration.seconds(waits.connectionTimeoutSeconds),
        readTimeout: Duration.seconds(waits.readTimeoutSeconds),
        keepaliveTimeout: Duration.seconds(waits.keepaliveTimeoutSeconds),
      });

    // All viewer headers, cookies and query strings go to the API (it is an API, not a cache), plus the
    // CloudFront headers routing reads. A policy may name at most 10 CloudFront headers: these are 4.
    const originRequestPolicy = new cloudfront.OriginRequestPolicy(this, 'RoutingHeaders', {
      comment: 'edge-router: every viewer header, cookie and query string, and the viewer geography',
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.all(
        'CloudFront-Viewer-Country',
        'CloudFront-Viewer-Latitude',
        'CloudFront-Viewer-Longitude',
        'CloudFront-Viewer-Address',
      ),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.all(),
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.all(),
    });

    // Lambda@Edge with originGroups: the behaviour's origin is a group. When its first origin fails a GET, HEAD or
    // OPTIONS (a connection error, a timeout, or a failover status), CloudFront sends the request to the second and
    // invokes the origin-request function again; the second's custom header tells the function so, and the function
    // points it at the decision's retry target (functions/origin-request/handler.ts secondAttempt).
    const fallback = originOf(config.fallbackRegion, config.regions[config.fallbackRegion].origin);
    const second = secondAttemptOrigin(config);
    const grouped = lambdaEdge && config.originGroups !== undefined;
    const behaviourOrigin = grouped
      ? new origins.OriginGroup({
          primaryOrigin: fallback,
          fallbackOrigin: originOf(
            SECOND_ATTEMPT_ORIGIN_ID,
            config.regions[config.fallbackRegion].origin,
            Object.fromEntries(
              Object.values(second.customHeaders).map((list) => [list[0].key, list[0].value]),
            ),
          ),
          fallbackStatusCodes: [...(config.originGroups?.failoverStatusCodes ?? [])],
        })
      : fallback;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'edge-router',
      defaultBehavior: {
        origin: behaviourOrigin,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        // Caching is off: changing the origin does not change the cache key, so a cached response of one region
        // would be served for another. Whoever turns it on must add the routed region to the cache key.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy,
        edgeLambdas,
        functionAssociations,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    // Every origin the config names (shared/router.ts distributionOrigins): one per region and environment, with the
    // target id as origin id, and one per canary deployment (canary.<region>), for selectRequestOriginById and origin
    // groups. A distribution lists only the origins its behaviours use, so the others are added here.
    const cfn = this.distribution.node.defaultChild as cloudfront.CfnDistribution;
    // The per-try copies (originGroups) only for CloudFront Functions: a Lambda@Edge function sets its read timeouts.
    const others = [...distributionOrigins(config)].filter(
      ([id, o]) => id !== config.fallbackRegion && !(lambdaEdge && o.perTry),
    );
    // after the behaviour's own: the fallback region's, and the group's second origin
    const first = grouped ? 2 : 1;
    others.forEach(([id, o], i) => {
      const https = (o.protocol ?? 'https') === 'https';
      cfn.addPropertyOverride(`DistributionConfig.Origins.${i + first}`, {
        Id: id,
        DomainName: o.domainName,
        OriginPath: o.path ?? '',
        ConnectionAttempts: waits.connectionAttempts,
        ConnectionTimeout: waits.connectionTimeoutSeconds,
        CustomOriginConfig: {
          OriginReadTimeout: o.perTry ? waits.perTryTimeoutSeconds : waits.readTimeoutSeconds,
          OriginKeepaliveTimeout: waits.keepaliveTimeoutSeconds,
          OriginProtocolPolicy: https ? 'https-only' : 'http-only',
          HTTPSPort: https ? (o.port ?? 443) : 443,
          HTTPPort: https ? 80 : (o.port ?? 80),
          OriginSSLProtocols: ['TLSv1.2'],
        },
      });
    });
    // CloudFront's default quota: 25 origins per distribution (adjustable in Service Quotas). The per-try copies
    // double the origins in CloudFront Functions mode.
    const originCount = first + others.length;
    if (originCount > CLOUDFRONT_ORIGINS_QUOTA)
      Annotations.of(this.distribution).addWarningV2(
        'edge-router:origins-quota',
        `the distribution has ${originCount} origins, over CloudFront's default quota of ${CLOUDFRONT_ORIGINS_QUOTA} per distribution${!lambdaEdge && grouped ? ' (originGroups gives each origin a per-try copy, try.<id>, in CloudFront Functions mode)' : ''}: raise "Origins per distribution" in Service Quotas before deploying, or CloudFormation refuses the distribution`,
      );
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'Geography is routed, not restricted: every country is served',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason: 'WAF is a separate decision (rules, cost): attach a web ACL to this distribution',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR3',
      reason:
        'Access logs carry viewer IPs (personal data) and cost: the functions log every routing failure; turn logging on per deployment',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR4',
      reason:
        'The stack has no custom domain yet: the default *.cloudfront.net certificate fixes the viewer TLS policy (TLSv1); origins are HTTPS-only with TLSv1.2',
    });

    // ---- What an operator watches ----
    this.addOperations(config, lambdaEdge, fnName);

    new CfnOutput(this, 'DistributionDomainName', { value: this.distribution.distributionDomainName });
    new CfnOutput(this, 'HealthDocBucket', { value: this.bucket.bucketName });
    if (this.keyValueStore)
      new CfnOutput(this, 'KeyValueStoreArn', { value: this.keyValueStore.keyValueStoreArn });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'Only the CDK custom resource provider (seeding the document) uses AWSLambdaBasicExecutionRole',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The CDK custom resource provider picks its own runtime; the edge functions run nodejs22.x',
    });
  }

  private addOperations(config: RouterConfig, lambdaEdge: boolean, fnName: string | undefined): void {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: 'edge-router' });
    const period = Duration.minutes(1);
    if (lambdaEdge) {
      // The functions' EMF metrics (functions/origin-request/telemetry.ts), per replica region.
      const m = (name: string, region: string, statistic = 'Sum') =>
        new cloudwatch.Metric({
          namespace: 'EdgeRouter',
          metricName: name,
          dimensionsMap: { Runtime: 'lambda-edge' },
          region,
          statistic,
          period,
          label: `${name} ${region}`,
        });
      const reasons = [
        'nearest',
        'failover',
        'dial-spill',
        'standby',
        'fail-open',
        'no-geo',
        'network',
        'override',
        'affinity',
        'canary',
        'error',
      ];
      const affinityCauses: AffinityCause[] = [
        'expired',
        'bad-signature',
        'unknown-key',
        'no-keys',
        'malformed',
        'too-long-lived',
        'region-down',
        'region-pilot',
        'residency',
        'unknown-region',
      ];
      const targets = [...Object.keys(config.regions), ...Object.keys(config.environments ?? {})];
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Decisions by reason (us-east-1)',
          left: reasons.map((r) => m(`Reason.${r}`, 'us-east-1')),
          stacked: true,
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Decisions by target (us-east-1)',
          left: targets.map((t) => m(`Target.${t}`, 'us-east-1')),
          stacked: true,
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Decisions per replica region',
          left: EDGE_REGIONS.map((r) => m('Decisions', r)),
          stacked: true,
          width: 12,
        }),
        ...(config.affinity
          ? [
              new cloudwatch.GraphWidget({
                title: 'Region affinity (us-east-1): cookies followed and issued; ignored by cause',
                left: [m('AffinityHonoured', 'us-east-1'), m('AffinityIssued', 'us-east-1')],
                right: affinityCauses.map((c) => m(`AffinityIgnored.${c}`, 'us-east-1')),
                width: 12,
              }),
            ]
          : []),
        new cloudwatch.GraphWidget({
          title: 'Failover (us-east-1): retries and stall diversions; passive health ejections',
          left: [m('Retries', 'us-east-1'), m('StallDiversions', 'us-east-1')],
          right: [
            m('Ejections', 'us-east-1'),
            m('EjectionsRefused', 'us-east-1'),
            m('EjectionsEnded', 'us-east-1'),
          ],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Health document age (s, max) and load failures',
          left: EDGE_REGIONS.map((r) => m('DocAgeSeconds', r, 'Maximum')),
          right: [...EDGE_REGIONS.map((r) => m('DocLoadFailures', r)), m('DocRegressions', 'us-east-1')],
          width: 12,
        }),
      );
      const maxStale = config.healthDoc?.maxStaleSeconds ?? 300;
      const alarms = [
        new cloudwatch.Alarm(this, 'RoutingErrors', {
          alarmDescription:
            'edge-router: requests routed to the fallback because routing failed (reason error)',
          metric: m('Reason.error', 'us-east-1'),
          threshold: 1,
          evaluationPeriods: 5,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        new cloudwatch.Alarm(this, 'DocLoadFailures', {
          alarmDescription: 'edge-router: the health document could not be read from S3',
          metric: m('DocLoadFailures', 'us-east-1'),
          threshold: 1,
          evaluationPeriods: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        new cloudwatch.Alarm(this, 'DocRegressed', {
          alarmDescription:
            'edge-router: a health document with a lower serial than the one in use was refused (restored or replayed? check who wrote the bucket)',
          metric: m('DocRegressions', 'us-east-1'),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        new cloudwatch.Alarm(this, 'DocStale', {
          alarmDescription: `edge-router: the document in use is older than ${maxStale} s`,
          metric: m('DocAgeSeconds', 'us-east-1', 'Maximum'),
          threshold: maxStale,
          evaluationPeriods: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      ];
      dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));
    } else if (fnName) {
      // CloudFront's own metrics for the function (us-east-1, Region=Global).
      const f = (name: string, statistic = 'Sum') =>
        new cloudwatch.Metric({
          namespace: 'AWS/CloudFront',
          metricName: name,
          dimensionsMap: { FunctionName: fnName, Region: 'Global' },
          region: 'us-east-1',
          statistic,
          period,
        });
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'viewer-request invocations and errors',
          left: [f('FunctionInvocations')],
          right: [f('FunctionExecutionErrors'), f('FunctionValidationErrors'), f('FunctionThrottles')],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'viewer-request compute utilization (max)',
          left: [f('FunctionComputeUtilization', 'Maximum')],
          width: 12,
        }),
      );
      const alarms = [
        new cloudwatch.Alarm(this, 'FunctionErrors', {
          alarmDescription:
            'edge-router: the viewer-request function failed (execution or validation errors)',
          metric: new cloudwatch.MathExpression({
            expression: 'e + v',
            usingMetrics: { e: f('FunctionExecutionErrors'), v: f('FunctionValidationErrors') },
            period,
          }),
          threshold: 1,
          evaluationPeriods: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        new cloudwatch.Alarm(this, 'ComputeUtilization', {
          alarmDescription: 'edge-router: the viewer-request function is near its time limit',
          metric: f('FunctionComputeUtilization', 'Maximum'),
          threshold: 80,
          evaluationPeriods: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      ];
      dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));
    }
  }
}
