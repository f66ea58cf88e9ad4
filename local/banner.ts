// What npm start prints once the stack is up: where everything is, and commands to try, each true for the running
// stack (test/local/commands.test.ts runs them).
import { dirname, join, relative } from 'node:path';
import type { RouterConfig } from '../shared';
import type { LocalStack } from './stack';

export function banner(o: {
  stack: LocalStack;
  config: RouterConfig;
  runtime: string;
  dist: string;
  log: string;
  /** the config file as the commands name it */
  cfg: string;
}): string {
  const { stack, config, runtime, dist, log, cfg } = o;
  const src = config.healthDoc;
  const at = `http://localhost:${stack.edge.port}`;
  return `
edge-router, local edge (runtime ${runtime}, the bundles in ${relative(process.cwd(), dist)}${
    runtime === 'cloudfront-functions'
      ? '; viewer-request in the CloudFront Functions harness, its store fed from S3'
      : ''
  })
  edge         ${at}   viewer = the socket's address, or X-Forwarded-For from loopback
  status page  ${at}/_router
  edge log     ${relative(process.cwd(), log)}   (every decision and the functions' events, a line each)
  metrics      ${relative(process.cwd(), join(dirname(log), 'metrics.log'))}   (the function's CloudWatch EMF lines)${
    stack.keysFile
      ? `\n  signing keys ${relative(process.cwd(), stack.keysFile)}   (a fresh local key: edge-router token / affinity mint --key-file)`
      : ''
  }
  document     s3://${src?.bucket}/${src?.key}${src?.endpoint ? ` at ${src.endpoint}` : ''}, TTL ${src?.ttlSeconds} s
${stack.backends.map((b) => `  ${b.id.padEnd(12)} http://localhost:${b.port}`).join('\n')}

Try:
  curl -s -H 'X-Forwarded-For: 1.208.0.1' ${at}/hello                          # a Korean viewer: ap-northeast-2
  curl -s -H 'X-Forwarded-For: 85.214.0.1' ${at}/hello                         # a German viewer: eu-central-1
  curl -si -H 'X-Forwarded-For: 10.8.0.5' -H 'x-route-to: staging' ${at}/hello   # QA from the VPN picks staging
${
  config.affinity && stack.keysFile
    ? `  curl -s -X POST -c .local/jar -H 'X-Forwarded-For: 1.208.0.1' ${at}/orders     # a write from Korea sets ${config.affinity.cookie}
  curl -s -b .local/jar -H 'X-Forwarded-For: 81.2.69.160' ${at}/orders            # the same user in the UK reads from Seoul (${config.affinity.ttlSeconds} s)
`
    : ''
}
Operate the live document (traffic moves within ${src?.ttlSeconds} s), in another terminal:
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER   # the local S3's credentials
  npx edge-router doc status ap-northeast-2 down --config ${cfg} --yes            # held: the health checker leaves it
  npx edge-router doc status ap-northeast-2 auto --config ${cfg} --yes            # handed back to the health checker
  npx edge-router doc dial eu-central-1 30 --for 30m --config ${cfg} --yes        # a hold that ends by itself
  npx edge-router doc canary 10 --config ${cfg} --yes                             # 10 % of eu-central-1's viewers to its canary
  npx edge-router doc canary 0 --config ${cfg} --yes                              # the canary off again
  npx edge-router doc get --config ${cfg}                                         # who holds what, and what the probes see

Ctrl-C stops everything.`;
}
