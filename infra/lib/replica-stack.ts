// One replica of the health document (healthDoc.replicas[i]): its bucket, in its own region, built as the primary's
// is (doc-bucket.ts). Nothing else: the function role (edge-router-stack.ts) and the health checker's roles
// (prober-stack.ts) reach it by the name the config gives it, so no stack references another region's.
// The stack writes no document, unlike the primary's: a seeded first document (serial 0, every region up) would be
// read by the edges near the replica in place of the live one, while an empty replica only sends them to the
// primary. `edge-router doc sync` fills it (the document and the keys); every writer then keeps it in step (the CLI
// and the health checker write the primary, then each replica).
import { CfnOutput, Stack, type StackProps, type aws_s3 as s3 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { RouterConfig } from '../../shared';
import { docBucket } from './doc-bucket';

type Replica = NonNullable<NonNullable<RouterConfig['healthDoc']>['replicas']>[number];

export interface ReplicaStackProps extends StackProps {
  /** the replica, as the config names it: the stack lives in its region */
  readonly replica: Replica;
}

export class ReplicaStack extends Stack {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ReplicaStackProps) {
    const { replica } = props;
    // the replica's region is the stack's: a bucket in any other would be read as this replica by every edge near it
    if (props.env?.region !== undefined && props.env.region !== replica.region)
      throw new Error(`the replica of ${replica.region} must be deployed in ${replica.region}`);
    super(scope, id, { ...props, env: { ...props.env, region: replica.region } });
    this.bucket = docBucket(this, 'HealthDocs', replica.bucket);
    new CfnOutput(this, 'ReplicaBucket', { value: this.bucket.bucketName });
  }
}
