// Environment of every test file (jest gives each file its own copy of process.env).
// The bundles read AWS credentials from the environment, as on Lambda: s3rver's fixed pair.
process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
// never let an SDK reach for the EC2 instance metadata service from a test
process.env.AWS_EC2_METADATA_DISABLED = 'true';
// this machine runs Node 20; Lambda runs nodejs22.x, where the SDK has nothing to warn about
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
