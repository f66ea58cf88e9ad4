// The CDK app's template (infra/): targeted assertions for both runtime modes, and cdk-nag's AwsSolutions pack with
// no finding left unacknowledged. Synthesized in-process into a temporary folder that is removed afterwards; and
// once through `npm run synth` itself (the CDK CLI, offline) with a cloudfront-functions config, built into a
// temporary dist.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { AssetManifest } from 'aws-cdk-lib/cloud-assembly-schema';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  CFF_MAX_BYTES,
  CLOUDFRONT_ORIGINS_QUOTA,
  EdgeRouterStack,
  initialDoc,
} from '../infra/lib/edge-router-stack';
import { ProberStack } from '../infra/lib/prober-stack';
import { ReplicaStack } from '../infra/lib/replica-stack';
import { asStore, importFile, planEntries } from '../lib/kvs';
import { compileRouter, parseRouterConfig, type RouterConfig, route } from '../shared';
import { originId, PER_TRY } from '../shared/ids';
import type { KvsEntry } from '../shared/kvs-layout';
import { distributionOrigins } from '../shared/router';
import { buildBundles } from './helpers/bundle';
import { CffHarness } from './helpers/cff';
import { viewerRequest } from './helpers/fixtures';
import { NOW } from './helpers/keys';
import { EXAMPLE_CONFIG, exampleConfig, ROOT, readJson, TWELVE_CONFIG } from './helpers/load';

const DIST_VIEWER_REQUEST = join(ROOT, 'dist', 'viewer-request', 'index.js');

const outdirs: string[] = [];
afterAll(() => {
  for (const d of outdirs) rmSync(d, { recursive: true, force: true });
});

/** An app that synthesizes into a temporary folder (removed after the tests), with cdk-nag's AwsSolutions pack. */
function nagApp() {
  const outdir = mkdtempSync(join(tmpdir(), 'edge-router-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, outdir };
}

interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
}

/**
 * cdk-nag's verdict, from the assembly's validation report: in-process, a finding that is not acknowledged need not
 * throw (CDK may only print the report and set the exit code), so the report is the evidence.
 */
function expectNagClean(app: App | string) {
  const directory = typeof app === 'string' ? app : app.synth().directory;
  const report = readJson<ValidationReport>(join(directory, 'validation-report.json'));
  expect(report.pluginReports.map((p) => [p.pluginName, p.conclusion, p.violations])).toEqual([
    ['AwsSolutions', 'success', []],
  ]);
}

/** The stack for a config, synthesized with cdk-nag; the app is returned for the validation report. */
function synth(config: RouterConfig, viewerRequestCode?: string) {
  const { app, outdir } = nagApp();
  const stack = new EdgeRouterStack(app, 'EdgeRouter', {
    env: { region: 'us-east-1', account: '123456789012' },
    config,
    dist: join(ROOT, 'dist'),
    viewerRequestCode,
  });
  return { app, stack, outdir };
}

const withDoc = (change?: (c: RouterConfig) => void) =>
  exampleConfig((c) => {
    c.healthDoc = {
      bucket: 'example-edge-router-health',
      key: 'health.json',
      region: 'us-east-1',
    } as RouterConfig['healthDoc'];
    change?.(c);
  });

describe('runtime lambda-edge (the default)', () => {
  const { app, stack } = synth(withDoc());
  const t = Template.fromStack(stack);
  const edgeFunctions = () =>
    t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^edge-router') },
    });

  test('cdk-nag (AwsSolutions): no finding left unacknowledged', () => {
    expectNagClean(app);
  });

  test('one function for origin-request and origin-response: nodejs22.x, no environment, memory and timeout set', () => {
    const fns = Object.values(edgeFunctions()).map((r) => r.Properties);
    expect(fns).toHaveLength(1);
    expect(fns[0]).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 5,
    });
    expect(fns[0].Environment).toBeUndefined();
  });

  test('the same version associated on origin-request and origin-response (passive health sees both); no CloudFront Function', () => {
    const [dist] = Object.values(t.findResources('AWS::CloudFront::Distribution'));
    const assoc = dist.Properties.DistributionConfig.DefaultCacheBehavior.LambdaFunctionAssociations;
    expect(assoc.map((a: { EventType: string }) => a.EventType)).toEqual([
      'origin-request',
      'origin-response',
    ]);
    expect(assoc[0].LambdaFunctionARN).toEqual(assoc[1].LambdaFunctionARN);
    expect(dist.Properties.DistributionConfig.DefaultCacheBehavior.FunctionAssociations).toBeUndefined();
    t.resourceCountIs('AWS::CloudFront::Function', 0);
  });

  test('the role: trusted by Lambda and Lambda@Edge, reads exactly the document and the keys objects', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } }),
          Match.objectLike({ Principal: { Service: 'edgelambda.amazonaws.com' } }),
        ],
      },
    });
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('EdgeFunctionRole'),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0].Properties.PolicyDocument.Statement as {
      Action: string | string[];
      Resource: unknown;
    }[];
    const s3 = statements.filter((st) => JSON.stringify(st.Action).includes('s3:'));
    expect(s3).toHaveLength(1);
    expect(s3[0].Action).toBe('s3:GetObject');
    const objects = JSON.stringify(s3[0].Resource);
    expect(objects).toContain('/health.json');
    expect(objects).toContain('/keys.json');
    expect((s3[0].Resource as unknown[]).length).toBe(2);
  });
});

describe('runtime lambda-edge with originGroups', () => {
  const config = withDoc((c) => {
    c.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
  });
  const { app, stack } = synth(config);
  const t = Template.fromStack(stack);

  test('the behaviour uses an origin group: the fallback region first, then the second-attempt origin with its marker', () => {
    const dist = Object.values(t.findResources('AWS::CloudFront::Distribution'))[0].Properties
      .DistributionConfig;
    const groups = dist.OriginGroups.Items;
    expect(groups).toHaveLength(1);
    expect(groups[0].FailoverCriteria.StatusCodes.Items).toEqual([500, 502, 503, 504]);
    const members = groups[0].Members.Items.map((m: { OriginId: string }) => m.OriginId);
    const byId = new Map(dist.Origins.map((o: { Id: string }) => [o.Id, o]));
    const [primary, second] = members.map((id: string) => byId.get(id) as Record<string, any>);
    expect(primary.DomainName).toBe(config.regions[config.fallbackRegion].origin.domainName);
    expect(second.OriginCustomHeaders).toEqual([{ HeaderName: 'X-Route-Attempt', HeaderValue: '2' }]);
    expect(dist.DefaultCacheBehavior.TargetOriginId).toBe(groups[0].Id);
    // every other origin of the config is there too, once; no per-try copy (the function sets its read timeouts)
    const ids = dist.Origins.map((o: { Id: string }) => o.Id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [id, o] of distributionOrigins(config)) expect(ids.includes(id)).toBe(!o.perTry);
    expect(distributionOrigins(config).has(`${PER_TRY}ap-northeast-2`)).toBe(true);
  });

  test("every origin waits failover's defaults: 1 connection attempt of 2 s, a 10 s read timeout", () => {
    const dist = Object.values(t.findResources('AWS::CloudFront::Distribution'))[0].Properties
      .DistributionConfig;
    expect(dist.Origins.length).toBeGreaterThan(4);
    for (const o of dist.Origins) {
      expect(o).toMatchObject({ ConnectionAttempts: 1, ConnectionTimeout: 2 });
      expect(o.CustomOriginConfig).toMatchObject({ OriginReadTimeout: 10, OriginKeepaliveTimeout: 5 });
    }
  });

  test("the config's originTimeouts win over the defaults, for every origin", () => {
    const own = withDoc((c) => {
      c.originGroups = { failoverStatusCodes: [502] };
      c.originTimeouts = { connectionAttempts: 2, connectionTimeoutSeconds: 3, readTimeoutSeconds: 7 };
    });
    const d = Object.values(
      Template.fromStack(synth(own).stack).findResources('AWS::CloudFront::Distribution'),
    )[0].Properties.DistributionConfig;
    for (const o of d.Origins) {
      expect(o).toMatchObject({ ConnectionAttempts: 2, ConnectionTimeout: 3 });
      expect(o.CustomOriginConfig).toMatchObject({ OriginReadTimeout: 7, OriginKeepaliveTimeout: 5 });
    }
  });

  test('cdk-nag clean', () => {
    expectNagClean(app);
  });
});

describe('the distribution and the bucket (either runtime)', () => {
  const { stack } = synth(withDoc());
  const t = Template.fromStack(stack);
  const config = withDoc();

  test('one origin per region, environment and canary, the origin id being its id; the fallback is the default', () => {
    const dist = Object.values(t.findResources('AWS::CloudFront::Distribution'))[0].Properties
      .DistributionConfig;
    const ids = (dist.Origins as { Id: string; DomainName: string }[])
      .map((o) => [o.Id, o.DomainName])
      .sort();
    const expected = [
      ...Object.entries(config.regions).flatMap(([id, r]) => [
        [id, r.origin.domainName],
        ...(r.canaryOrigin ? [[`canary.${id}`, r.canaryOrigin.domainName]] : []),
      ]),
      ...Object.entries(config.environments ?? {}).map(([id, e]) => [id, e.origin.domainName]),
    ].sort();
    expect(ids).toEqual(expected);
    expect(ids.map(([id]) => id)).toContain('canary.eu-central-1');
    expect(dist.DefaultCacheBehavior.TargetOriginId).toBe(config.fallbackRegion);
    for (const o of dist.Origins) {
      expect(o.CustomOriginConfig).toMatchObject({
        OriginProtocolPolicy: 'https-only',
        OriginSSLProtocols: ['TLSv1.2'],
        // without originGroups, CloudFront's own defaults
        OriginReadTimeout: 30,
      });
      expect(o).toMatchObject({ ConnectionAttempts: 3, ConnectionTimeout: 10 });
    }
  });

  test('all methods, HTTPS only, caching disabled', () => {
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        DefaultCacheBehavior: {
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          ViewerProtocolPolicy: 'https-only',
          // the managed CachingDisabled policy
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
        },
      },
    });
  });

  test('the origin request policy forwards the viewer geography and every viewer header, cookie and query', () => {
    t.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: {
        HeadersConfig: {
          HeaderBehavior: 'allViewerAndWhitelistCloudFront',
          Headers: [
            'CloudFront-Viewer-Country',
            'CloudFront-Viewer-Latitude',
            'CloudFront-Viewer-Longitude',
            'CloudFront-Viewer-Address',
          ],
        },
        CookiesConfig: { CookieBehavior: 'all' },
        QueryStringsConfig: { QueryStringBehavior: 'all' },
      },
    });
  });

  test('the bucket: named by the config, versioned, encrypted, public access blocked, TLS only, old versions expire', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'example-edge-router-health',
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }),
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            NoncurrentVersionExpiration: { NoncurrentDays: 90, NewerNoncurrentVersions: 30 },
          }),
        ],
      },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('the first document is written only where there is none (a redeploy never resets it)', () => {
    const seed = Object.values(t.findResources('Custom::AWS'))[0];
    const create = JSON.parse(JSON.stringify(seed.Properties.Create));
    const text = typeof create === 'string' ? create : JSON.stringify(create);
    expect(text).toContain('IfNoneMatch');
    expect(text).toContain('putObject');
    expect(text).toContain('PreconditionFailed');
    expect(initialDoc(config).regions).toEqual({
      'us-east-1': { status: 'up' },
      'eu-central-1': { status: 'up' },
      'ap-northeast-2': { status: 'up' },
      'sa-east-1': { status: 'up' },
      staging: { status: 'up' },
    });
  });

  test('operations: a dashboard, alarms on routing errors, document load failures and age; logs kept 30 days', () => {
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(
      Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody,
    );
    for (const m of [
      'Reason.error',
      'Reason.failover',
      'Target.ap-northeast-2',
      'DocAgeSeconds',
      'DocLoadFailures',
      'Reason.affinity',
      'AffinityHonoured',
      'AffinityIssued',
      'AffinityIgnored.expired',
      'AffinityIgnored.bad-signature',
      'AffinityIgnored.region-down',
      'Retries',
      'StallDiversions',
      'Ejections',
      'EjectionsRefused',
    ]) {
      expect(body).toContain(m);
    }
    // alarms name their metrics in `Metrics` (a metric with an explicit region)
    const alarmOn = (name: string, stat: string) =>
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: [
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: name, Namespace: 'EdgeRouter' }),
              Stat: stat,
            }),
          }),
        ],
      });
    alarmOn('Reason.error', 'Sum');
    alarmOn('DocLoadFailures', 'Sum');
    alarmOn('DocRegressions', 'Sum'); // a document older than the one in use, refused
    alarmOn('DocAgeSeconds', 'Maximum');
    t.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('outputs: what the edge-router doc commands need', () => {
    t.hasOutput('DistributionDomainName', {});
    t.hasOutput('HealthDocBucket', {});
  });
});

describe('runtime cloudfront-functions with originGroups: per-try copies of the origins', () => {
  const cff = withDoc((c) => {
    c.runtime = 'cloudfront-functions';
    c.originGroups = { failoverStatusCodes: [500, 502, 503, 504] };
  });
  // a file built for this config (its own build: the groups are baked in)
  const code = readFileSync(join(buildBundles(cff), 'viewer-request', 'index.js'), 'utf8');
  const { app, stack } = synth(cff, code);
  const dist = Object.values(Template.fromStack(stack).findResources('AWS::CloudFront::Distribution'))[0]
    .Properties.DistributionConfig;

  test("each origin and its try.<id> copy: the same origin, the copy's read timeout the per-try timeout (1 s)", () => {
    const byId = new Map<string, Record<string, any>>(dist.Origins.map((o: { Id: string }) => [o.Id, o]));
    const ids = [...distributionOrigins(cff).keys()];
    expect(ids.filter((id) => id.startsWith(PER_TRY))).toHaveLength(ids.length / 2);
    for (const id of ids) {
      const o = byId.get(id);
      if (id === cff.fallbackRegion) continue; // the behaviour's own origin, made by the CDK
      expect(o?.CustomOriginConfig.OriginReadTimeout).toBe(id.startsWith(PER_TRY) ? 1 : 10);
      if (id.startsWith(PER_TRY)) expect(o?.DomainName).toBe(byId.get(id.slice(PER_TRY.length))?.DomainName);
    }
    expect(byId.get(`${PER_TRY}${cff.fallbackRegion}`)?.CustomOriginConfig.OriginReadTimeout).toBe(1);
  });

  test('cdk-nag clean', () => {
    expectNagClean(app);
  });
});

describe("CloudFront's quota of 25 origins per distribution: a warning at synth", () => {
  const twelve = (runtime: string) => {
    const parsed = parseRouterConfig({
      ...readJson<Record<string, unknown>>(TWELVE_CONFIG),
      runtime,
      originGroups: { failoverStatusCodes: [500, 502, 503, 504] },
    });
    if (!parsed.success) throw new Error(JSON.stringify(parsed.errors));
    return parsed.data;
  };
  const originsOf = (stack: EdgeRouterStack) =>
    Object.values(Template.fromStack(stack).findResources('AWS::CloudFront::Distribution'))[0].Properties
      .DistributionConfig.Origins.length;
  const quota = Match.stringLikeRegexp(`over CloudFront's default quota of ${CLOUDFRONT_ORIGINS_QUOTA}`);

  test('twelve regions in CloudFront Functions mode with originGroups: 36 origins (each with its try. copy), warned', () => {
    // the twelve-region file is over 10,240 bytes (#15): a stand-in function, as the origins are what is checked here
    const { stack } = synth(
      twelve('cloudfront-functions'),
      'function handler(event) { return event.request; }',
    );
    expect(originsOf(stack)).toBe(36);
    Annotations.fromStack(stack).hasWarning('/EdgeRouter/Distribution', quota);
  });

  test('the same config in Lambda@Edge mode: 19 origins, no warning; nor for the example config', () => {
    const { stack } = synth(twelve('lambda-edge'));
    expect(originsOf(stack)).toBe(19);
    Annotations.fromStack(stack).hasNoWarning('*', quota);
    Annotations.fromStack(synth(withDoc()).stack).hasNoWarning('*', quota);
  });
});

describe('runtime cloudfront-functions', () => {
  const cff = withDoc((c) => {
    c.runtime = 'cloudfront-functions';
  });
  // the real built function (npm run build), as the stack reads it from dist/
  const built = readFileSync(DIST_VIEWER_REQUEST, 'utf8');
  const { app, stack } = synth(cff);
  const t = Template.fromStack(stack);

  test('cdk-nag (AwsSolutions): no finding left unacknowledged', () => {
    expectNagClean(app);
  });

  test('a cloudfront-js-2.0 function on viewer-request, with the key value store, and the built viewer-response one (affinity); no Lambda@Edge', () => {
    t.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionConfig: {
        Runtime: 'cloudfront-js-2.0',
        KeyValueStoreAssociations: [Match.objectLike({ KeyValueStoreARN: Match.anyValue() })],
      },
      FunctionCode: built,
    });
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        DefaultCacheBehavior: {
          FunctionAssociations: [
            Match.objectLike({ EventType: 'viewer-request' }),
            Match.objectLike({ EventType: 'viewer-response' }),
          ],
          LambdaFunctionAssociations: Match.absent(),
        },
      },
    });
    t.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionConfig: {
        Runtime: 'cloudfront-js-2.0',
        Comment: 'edge-router: sets the region affinity cookie',
      },
      FunctionCode: readFileSync(join(ROOT, 'dist', 'viewer-response', 'index.js'), 'utf8'),
    });
    expect(
      Object.keys(
        t.findResources('AWS::Lambda::Function', {
          Properties: { Description: Match.stringLikeRegexp('^edge-router') },
        }),
      ),
    ).toEqual([]);
  });

  test('without affinity in the config, no viewer-response function', () => {
    const off = synth(
      withDoc((c) => {
        c.runtime = 'cloudfront-functions';
        delete c.affinity;
      }),
    );
    const ot = Template.fromStack(off.stack);
    ot.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        DefaultCacheBehavior: { FunctionAssociations: [Match.objectLike({ EventType: 'viewer-request' })] },
      },
    });
    ot.resourceCountIs('AWS::CloudFront::Function', 1);
    ot.hasResourceProperties('AWS::CloudFront::Function', { FunctionCode: built });
  });

  test('the store starts with the first document, in the layout the function reads', async () => {
    const stores = Object.values(t.findResources('AWS::CloudFront::KeyValueStore'));
    expect(stores).toHaveLength(1);
    const source = stores[0].Properties.ImportSource;
    expect(source.SourceType).toBe('S3');
    // the object the store imports: the file asset the template names, as staged in the cloud assembly
    const sourceArn = JSON.stringify(source.SourceArn);
    const assembly = app.synth();
    const manifest = readJson<AssetManifest>(join(assembly.directory, `${stack.artifactId}.assets.json`));
    const assets = Object.values(manifest.files ?? {}).filter((f) =>
      Object.values(f.destinations).some((d) => sourceArn.includes(`:s3:::${d.bucketName}/${d.objectKey}"`)),
    );
    expect(assets).toHaveLength(1);
    expect(assets[0].source.packaging).toBe('file');
    const imported = readJson<{ data: KvsEntry[] }>(join(assembly.directory, String(assets[0].source.path)));

    const router = compileRouter(cff);
    const doc = initialDoc(cff);
    expect(imported).toEqual(importFile(planEntries(router, doc)));
    const keys = imported.data.map((e) => e.key);
    expect(router.orders.length).toBeGreaterThan(0);
    for (let n = 0; n < router.orders.length; n++) expect(keys).toContain(`edge-router/plan/${n}`);
    for (const e of imported.data) expect(Buffer.byteLength(e.value)).toBeLessThanOrEqual(1024);

    // the built function, in the harness, reads that store: each viewer is routed as route() decides under the
    // first document (doc=0: read from the store; the baked-in defaults would say doc=none)
    const harness = new CffHarness(DIST_VIEWER_REQUEST, {
      kvs: asStore(imported.data),
      origins: [...distributionOrigins(cff).keys()],
    });
    for (const country of ['KR', 'DE', 'BR', 'US']) {
      const d = route({ country, now: NOW }, doc, router);
      expect(d.serial).toBe(0);
      const r = await harness.run(viewerRequest({ 'CloudFront-Viewer-Country': country }), NOW);
      expect(r.returned.headers['x-route-decision'].value).toBe(
        `target=${d.target.id}; reason=${d.reason}; doc=0; stale=0`,
      );
      expect(r.calls).toEqual([
        { helper: 'selectRequestOriginById', args: [originId(d.target.id, d.reason === 'canary')] },
      ]);
    }
    t.hasOutput('KeyValueStoreArn', {});
  });

  test('the CloudFront Functions alarms watch errors and compute utilization', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FunctionComputeUtilization',
      Threshold: 80,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'e + v' })]),
    });
  });

  test('the built file fits in 10,240 bytes and the stack synthesizes with it', () => {
    expect(Buffer.byteLength(built)).toBeLessThanOrEqual(CFF_MAX_BYTES);
    expectNagClean(synth(cff).app);
  });

  test('code of 10,241 bytes is refused; 10,240 bytes are taken', () => {
    const pad = (bytes: number) => `${built}\n${'/'.repeat(bytes - Buffer.byteLength(built) - 1)}`;
    expect(Buffer.byteLength(pad(10241))).toBe(10241);
    expect(() => synth(cff, pad(10241))).toThrow(
      'viewer-request code is 10241 bytes; CloudFront Functions allow 10240',
    );
    expect(() => synth(cff, pad(10240))).not.toThrow();
  });
});

describe('npm run synth with a cloudfront-functions config (the CDK CLI, offline)', () => {
  test('builds the function from that config into --dist, synthesizes it with cdk-nag clean, no credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-router-synth-'));
    outdirs.push(dir);
    const raw = readJson<RouterConfig & Record<string, unknown>>(EXAMPLE_CONFIG);
    delete raw.$schema;
    raw.runtime = 'cloudfront-functions';
    raw.regions['us-east-1'].origin.domainName = 'synth.us-east-1.example.com';
    // baked into the functions (same length as the example's, so the size is the same): this config's build is told
    // apart from the repository's dist/
    (raw.affinity as { cookie: string }).cookie = 'synth_affinity';
    const file = join(dir, 'router.config.json');
    writeFileSync(file, JSON.stringify(raw));
    const dist = join(dir, 'dist');
    const out = join(dir, 'cdk.out');
    const repoDist = readFileSync(DIST_VIEWER_REQUEST, 'utf8');

    // no credentials of any kind, and a proxy that answers nothing: only offline work can succeed
    const env: Record<string, string | undefined> = { ...process.env };
    for (const k of Object.keys(env)) if (/^AWS_(ACCESS|SECRET|SESSION|PROFILE)/.test(k)) delete env[k];
    Object.assign(env, {
      AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '',
    });
    const r = spawnSync('npm', ['run', 'synth', '--', '--config', file, '--dist', dist, '--output', out], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.any(String) });

    expectNagClean(out);
    const t = Template.fromJSON(readJson(join(out, 'EdgeRouter.template.json')));
    const code = readFileSync(join(dist, 'viewer-request', 'index.js'), 'utf8');
    expect(Buffer.byteLength(code)).toBeLessThanOrEqual(CFF_MAX_BYTES);
    expect(code).toContain('synth_affinity');
    t.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
      FunctionCode: code,
    });
    t.resourceCountIs('AWS::CloudFront::KeyValueStore', 1);
    expect(
      Object.keys(
        t.findResources('AWS::Lambda::Function', {
          Properties: { Description: Match.stringLikeRegexp('^edge-router') },
        }),
      ),
    ).toEqual([]);
    // the app read this config, and the repository's own dist/ was left as it was
    expect(JSON.stringify(t.findResources('AWS::CloudFront::Distribution'))).toContain(
      'synth.us-east-1.example.com',
    );
    expect(readFileSync(DIST_VIEWER_REQUEST, 'utf8')).toBe(repoDist);
  }, 180_000);
});

describe('the health checker: one stack per vantage', () => {
  const config = withDoc((c) => {
    c.health = { vantages: ['us-east-1', 'eu-central-1', 'ap-northeast-2'] } as never;
  });
  const { app } = nagApp();
  const stack = new ProberStack(app, 'EdgeRouterProber-eu-central-1', {
    env: { region: 'eu-central-1', account: '123456789012' },
    config,
    dist: join(ROOT, 'dist'),
    vantage: 'eu-central-1',
  });
  const t = Template.fromStack(stack);

  test('cdk-nag (AwsSolutions): no finding left unacknowledged', () => {
    expectNagClean(app);
  });

  test('a nodejs22.x Lambda named for its vantage, run by EventBridge once a minute', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      // the vantage is the region, from the function's own ARN: no environment
      Environment: Match.absent(),
      Description: 'edge-router: the health checker at eu-central-1',
      ReservedConcurrentExecutions: 1,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'HealthFlipsSuppressed',
      Namespace: 'EdgeRouter',
      Dimensions: [{ Name: 'Vantage', Value: 'eu-central-1' }],
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
  });

  test('least privilege: read the document and the observations, write the document and its own, list only those', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as {
          Action: string | string[];
          Resource: unknown;
          Condition?: unknown;
        }[],
    );
    const of = (action: string) =>
      statements.filter((s) => ([] as string[]).concat(s.Action).includes(action));
    expect(JSON.stringify(of('s3:GetObject')[0].Resource)).toBe(
      JSON.stringify([
        {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':s3:::example-edge-router-health/health.json'],
          ],
        },
        {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':s3:::example-edge-router-health/observations/*'],
          ],
        },
      ]),
    );
    expect(JSON.stringify(of('s3:PutObject')[0].Resource)).toContain('observations/eu-central-1.json');
    expect(JSON.stringify(of('s3:PutObject')[0].Resource)).not.toContain('observations/*');
    expect(of('s3:ListBucket')[0].Condition).toEqual({ StringLike: { 's3:prefix': ['observations/*'] } });
    expect(
      statements.some((s) => ([] as string[]).concat(s.Action).some((a) => a === 's3:*' || a === '*')),
    ).toBe(false);
  });
});

describe('replicas of the health document (healthDoc.replicas): a bucket per replica, read by the function, written by the checker', () => {
  const REPLICAS = [
    { region: 'eu-central-1', bucket: 'example-edge-router-health-eu-central-1' },
    { region: 'ap-northeast-2', bucket: 'example-edge-router-health-ap-northeast-2' },
  ];
  const config = withDoc((c) => {
    (c.healthDoc as { replicas?: unknown }).replicas = structuredClone(REPLICAS);
    c.health = { vantages: ['us-east-1', 'eu-central-1'] } as never;
  });
  /** a plain S3 ARN, as the template spells it: `arn:<partition>:s3:::<bucket>/<key>` */
  const arn = (bucket: string, key: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${bucket}/${key}`]],
  });
  type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
  const statementsOf = (t: Template, role: string) =>
    Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  const withAction = (statements: Statement[], action: string) =>
    statements.filter((s) => ([] as string[]).concat(s.Action).includes(action));

  // every stack of an app with replicas, as bin/app.ts makes them, with cdk-nag over all of them
  const { app } = nagApp();
  const env = { account: '123456789012' };
  const edge = new EdgeRouterStack(app, 'EdgeRouter', {
    env: { ...env, region: 'us-east-1' },
    config,
    dist: join(ROOT, 'dist'),
  });
  const replicas = REPLICAS.map(
    (r) =>
      new ReplicaStack(app, `EdgeRouterReplica-${r.region}`, {
        env: { ...env, region: r.region },
        replica: r,
      }),
  );
  const prober = new ProberStack(app, 'EdgeRouterProber-eu-central-1', {
    env: { ...env, region: 'eu-central-1' },
    config,
    dist: join(ROOT, 'dist'),
    vantage: 'eu-central-1',
  });

  test('cdk-nag (AwsSolutions) over the primary, replica and checker stacks: no finding left unacknowledged', () => {
    expectNagClean(app);
  });

  test.each(REPLICAS)('the replica at $region: one bucket, in its region, built as the primary is', (r) => {
    const stack = replicas.find((s) => s.region === r.region);
    expect(stack?.region).toBe(r.region);
    const t = Template.fromStack(stack as ReplicaStack);
    t.resourceCountIs('AWS::S3::Bucket', 1);
    // the same properties as the primary's bucket, with the replica's name
    const [primary] = Object.values(Template.fromStack(edge).findResources('AWS::S3::Bucket'));
    const [bucket] = Object.values(t.findResources('AWS::S3::Bucket'));
    expect(bucket.Properties).toEqual({ ...primary.Properties, BucketName: r.bucket });
    expect(bucket.DeletionPolicy).toBe('Retain');
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: r.bucket,
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }),
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            NoncurrentVersionExpiration: { NoncurrentDays: 90, NewerNoncurrentVersions: 30 },
          }),
        ],
      },
    });
    // the bucket policy: every request without TLS denied, for the bucket and its objects
    t.resourceCountIs('AWS::S3::BucketPolicy', 1);
    const [policy] = Object.values(t.findResources('AWS::S3::BucketPolicy'));
    const statements = policy.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({
      Effect: 'Deny',
      Action: 's3:*',
      Principal: { AWS: '*' },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(JSON.stringify(statements[0].Resource)).toContain('/*');
    t.hasOutput('ReplicaBucket', {});
    // the replica holds no seeded document and nothing else: doc sync fills it
    expect(Object.keys(t.toJSON().Resources).sort()).toEqual(
      [
        ...Object.keys(t.findResources('AWS::S3::Bucket')),
        ...Object.keys(t.findResources('AWS::S3::BucketPolicy')),
      ].sort(),
    );
  });

  test('a replica stack is never deployed in another region than the replica names', () => {
    const { app: other } = nagApp();
    expect(
      () => new ReplicaStack(other, 'Wrong', { env: { region: 'us-west-2' }, replica: REPLICAS[0] }),
    ).toThrow('the replica of eu-central-1 must be deployed in eu-central-1');
  });

  test("the function role reads exactly the document and the keys in every copy: the primary's objects, then each replica's, by name", () => {
    const t = Template.fromStack(edge);
    const s3 = statementsOf(t, 'EdgeFunctionRole').filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3).toHaveLength(1);
    expect(s3[0]).toMatchObject({ Effect: 'Allow', Action: 's3:GetObject' });
    const resources = s3[0].Resource as unknown[];
    // the primary through its bucket (same stack), the replicas as plain ARNs (no cross-region reference)
    const primary = resources.slice(0, 2).map((r) => JSON.stringify(r));
    expect(primary[0]).toContain('HealthDocs');
    expect(primary[0]).toContain('/health.json');
    expect(primary[1]).toContain('/keys.json');
    expect(resources.slice(2)).toEqual(
      REPLICAS.flatMap((r) => [arn(r.bucket, 'health.json'), arn(r.bucket, 'keys.json')]),
    );
    // nothing else on S3: no listing, no prefix, no other bucket
    expect(JSON.stringify(resources)).not.toContain('*');
    expect(t.toJSON().Outputs ?? {}).not.toHaveProperty('ExportsOutput');
  });

  test('without replicas, the function role reads the two primary objects only', () => {
    const t = Template.fromStack(synth(withDoc()).stack);
    const [s3] = statementsOf(t, 'EdgeFunctionRole').filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect((s3.Resource as unknown[]).length).toBe(2);
    expect(JSON.stringify(s3.Resource)).not.toContain('example-edge-router-health-');
  });

  test('the checker reads and writes the document in each replica, and nothing else of theirs (no keys, no listing, no observations)', () => {
    const statements = statementsOf(Template.fromStack(prober), 'ProberRole');
    const primary = 'example-edge-router-health';
    expect(withAction(statements, 's3:GetObject').map((s) => s.Resource)).toEqual([
      [
        arn(primary, 'health.json'),
        arn(primary, 'observations/*'),
        ...REPLICAS.map((r) => arn(r.bucket, 'health.json')),
      ],
    ]);
    expect(withAction(statements, 's3:PutObject').map((s) => s.Resource)).toEqual([
      [
        arn(primary, 'health.json'),
        arn(primary, 'observations/eu-central-1.json'),
        ...REPLICAS.map((r) => arn(r.bucket, 'health.json')),
      ],
    ]);
    const list = withAction(statements, 's3:ListBucket');
    expect(list).toHaveLength(1);
    expect(JSON.stringify(list[0].Resource)).not.toContain('example-edge-router-health-');
    for (const s of statements)
      expect(JSON.stringify(s.Resource)).not.toMatch(/health-[a-z0-9-]+\/(keys|observations)/);
  });
});

describe('bin/app.ts with replicas in the config (the app the CDK CLI runs, on the built dist/)', () => {
  test('a stack per replica, in its region, beside the primary and the checkers; cdk-nag clean over all of them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-router-app-'));
    outdirs.push(dir);
    const raw = readJson<RouterConfig & Record<string, unknown>>(EXAMPLE_CONFIG);
    delete raw.$schema;
    (raw.healthDoc as { replicas?: unknown }).replicas = [
      { region: 'eu-central-1', bucket: 'example-edge-router-health-eu-central-1' },
      { region: 'ap-northeast-2', bucket: 'example-edge-router-health-ap-northeast-2' },
    ];
    raw.health = { vantages: ['us-east-1'] } as never;
    const file = join(dir, 'router.config.json');
    writeFileSync(file, JSON.stringify(raw));
    const out = join(dir, 'cdk.out');
    // as the CDK CLI runs it (infra/cdk.json): the context and the output folder in the environment
    const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: join(ROOT, 'infra'),
      env: {
        ...process.env,
        CDK_OUTDIR: out,
        CDK_CONTEXT_JSON: JSON.stringify({ config: file, dist: join(ROOT, 'dist') }),
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    expectNagClean(out);
    const manifest = readJson<{ artifacts: Record<string, { type: string; environment?: string }> }>(
      join(out, 'manifest.json'),
    );
    const stacks = Object.fromEntries(
      Object.entries(manifest.artifacts)
        .filter(([, a]) => a.type === 'aws:cloudformation:stack')
        .map(([id, a]) => [id, a.environment?.replace(/^aws:\/\/[^/]+\//, '')]),
    );
    expect(stacks).toEqual({
      EdgeRouter: 'us-east-1',
      'EdgeRouterReplica-eu-central-1': 'eu-central-1',
      'EdgeRouterReplica-ap-northeast-2': 'ap-northeast-2',
      'EdgeRouterProber-us-east-1': 'us-east-1',
    });
    const replica = Template.fromJSON(readJson(join(out, 'EdgeRouterReplica-ap-northeast-2.template.json')));
    replica.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'example-edge-router-health-ap-northeast-2',
    });
    // no stack exports to or imports from another: the buckets are reached by name
    for (const id of Object.keys(stacks)) {
      const text = readFileSync(join(out, `${id}.template.json`), 'utf8');
      expect(text).not.toContain('Fn::ImportValue');
      expect(text).not.toContain('ExportsOutput');
    }
  }, 130_000);
});

describe('npm run deploy (scripts/cdk.mjs): the CDK command line, printed and not run (a deploy needs AWS)', () => {
  const dist = mkdtempSync(join(tmpdir(), 'edge-router-deploy-'));
  afterAll(() => rmSync(dist, { recursive: true, force: true }));
  const cdkArgs = (...args: string[]): string[] => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'cdk.mjs'), ...args, '--dist', dist], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, EDGE_ROUTER_CDK_PRINT: '1' },
    });
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
  };

  test('deploy: every stack (--all), since an app with replicas or vantages has several', () => {
    expect(cdkArgs('deploy')).toEqual(expect.arrayContaining(['deploy', '--all']));
  });

  test('deploy with stacks named, or --all already given: no second --all', () => {
    const named = cdkArgs('deploy', 'EdgeRouter');
    expect(named).toContain('EdgeRouter');
    expect(named).not.toContain('--all');
    expect(cdkArgs('deploy', '--all').filter((a) => a === '--all')).toHaveLength(1);
  });

  test('synth and destroy are passed on as given', () => {
    expect(cdkArgs('synth')).not.toContain('--all');
    expect(cdkArgs('destroy')).not.toContain('--all');
  });
});
