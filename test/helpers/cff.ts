// The CloudFront Functions harness lives with the local edge, which runs the built file with it too.
export * from '../../local/cff-runtime';
