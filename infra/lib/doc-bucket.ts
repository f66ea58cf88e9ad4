// The bucket that holds a copy of the health document and the signing keys: the primary's (edge-router-stack.ts) and
// every replica's (replica-stack.ts) are built here, so that a replica is the same bucket in another region.
import { Duration, RemovalPolicy, Stack, aws_s3 as s3, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** Private, versioned (doc history, rollback), encrypted, TLS only, named by the config, kept on stack deletion. */
export function docBucket(scope: Construct, id: string, bucketName: string): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    bucketName,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    // rollback reaches the last 30 versions, and any from the last 90 days
    lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90), noncurrentVersionsToRetain: 30 }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'Two small objects, written only by the edge-router CLI and the health checker: object versions and CloudTrail data events are the audit trail; server access logs would add a bucket for nothing',
  });
  return bucket;
}

/**
 * The ARN of a bucket named by the config, as a plain string: the buckets of other regions (and other stacks) are
 * reached by name, never by a cross-stack (cross-region) reference. S3 ARNs name no region and no account.
 */
export function bucketArn(scope: Construct, bucket: string): string {
  return `arn:${Stack.of(scope).partition}:s3:::${bucket}`;
}

/** The ARN of one object (or, with a trailing `*`, of a prefix) in a bucket named by the config. */
export function objectArn(scope: Construct, bucket: string, key: string): string {
  return `${bucketArn(scope, bucket)}/${key}`;
}
