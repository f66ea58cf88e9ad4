// The CloudFront Functions runtime's own modules (cloudfront-js-2.0), typed from the AWS developer guide rather
// than DefinitelyTyped, which mistypes some of the origin helpers:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/helper-functions-origin-modification.html
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html

declare module 'cloudfront' {
  export interface KvsHandle {
    /** rejects when the key does not exist */
    get(key: string, options?: { format?: 'string' | 'json' | 'bytes' }): Promise<string>;
    exists(key: string): Promise<boolean>;
    meta(): Promise<{ creationDateTime: string; lastUpdatedDateTime: string; keyCount: number }>;
  }
  export interface OriginOverrides {
    hostHeader?: string;
    sni?: string;
    allowedCertificateNames?: string[];
  }
  export interface UpdateRequestOrigin extends OriginOverrides {
    domainName?: string;
    originPath?: string;
    customHeaders?: Record<string, string>;
    connectionAttempts?: number;
    originShield?: { enabled: boolean; region?: string };
    originAccessControlConfig?: {
      enabled: boolean;
      signingBehavior?: 'always' | 'never' | 'no-override';
      signingProtocol?: 'sigv4';
      originType?: 's3' | 'mediapackagev2' | 'mediastore' | 'lambda';
    };
    timeouts?: {
      readTimeout?: number;
      responseCompletionTimeout?: number;
      keepAliveTimeout?: number;
      connectionTimeout?: number;
    };
    customOriginConfig?: {
      port: number;
      protocol: 'http' | 'https';
      sslProtocols: ('SSLv3' | 'TLSv1' | 'TLSv1.1' | 'TLSv1.2')[];
      ipAddressType?: 'ipv4' | 'ipv6' | 'dualstack';
    };
  }
  /** As the guide's example has it: the text describes plain arrays, the example (which runs) objects. */
  export interface RequestOriginGroup {
    originIds: { originId: string; originOverrides?: OriginOverrides }[];
    failoverCriteria: { statusCodes: number[] };
    selectionCriteria?: 'default' | 'media-quality-score';
  }
  export interface CloudFront {
    /** throws when no key value store is associated with the function */
    kvs(): KvsHandle;
    updateRequestOrigin(origin: UpdateRequestOrigin): void;
    selectRequestOriginById(originId: string, overrides?: OriginOverrides): void;
    createRequestOriginGroup(group: RequestOriginGroup): void;
  }
  const cf: CloudFront;
  export default cf;
}

/** Made by esbuild.config.mjs from the router config: each function's build provides what that function imports. */
declare module 'edge-router:baked' {
  /** viewer-request */
  export const baked: import('../../shared/baked').Baked;
  /** the config's fingerprint (shared/plan.ts) */
  export const fingerprint: string;
  export const failoverStatusCodes: number[] | null;
  /** viewer-response: the affinity cookie's name and life, or null when affinity is off */
  export const affinity: { cookie: string; ttlSeconds: number } | null;
}
