// Real CloudFront events from ../shared/fixtures/events (see its README): load, clone, change one field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFrontRequestEvent } from 'aws-lambda';

export const FIXTURES = join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'events');

export function loadEvent<T = CloudFrontRequestEvent>(path: string): T {
  return structuredClone(JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as T);
}

/** The AWS docs' Lambda@Edge origin-request example, with headers set (lower-case names, as CloudFront sends). */
export function originRequest(headers: Record<string, string> = {}): CloudFrontRequestEvent {
  const event = loadEvent('lambda-edge/lambda-edge-origin-request.json');
  const h = event.Records[0].cf.request.headers;
  for (const [name, value] of Object.entries(headers)) h[name.toLowerCase()] = [{ key: name, value }];
  return event;
}

/** clientIp is read-only in @types/aws-lambda (CloudFront sets it); tests set it on their own copy. */
export function setClientIp(event: CloudFrontRequestEvent, ip: string): void {
  (event.Records[0].cf.request as { clientIp: string }).clientIp = ip;
}

/** A CloudFront Functions viewer-request event (field names and shapes as CloudFront sends them). */
export interface CffTestEvent {
  version: string;
  context: Record<string, string>;
  viewer: { ip: string };
  request: {
    method: string;
    uri: string;
    querystring: Record<string, { value: string }>;
    headers: Record<string, { value: string; multiValue?: { value: string }[] }>;
    cookies: Record<string, { value: string; multiValue?: { value: string }[] }>;
  };
}

/**
 * The AWS docs' CloudFront Functions test event, with headers (lower-case names, as CloudFront sends them),
 * cookies and the viewer IP set.
 */
export function viewerRequest(
  headers: Record<string, string> = {},
  cookies: Record<string, string> = {},
  ip?: string,
): CffTestEvent {
  const event = loadEvent<CffTestEvent>('cloudfront-functions/cff-viewer-request-test-function.json');
  event.request.querystring ??= {};
  event.request.cookies ??= {};
  for (const [name, value] of Object.entries(headers)) event.request.headers[name.toLowerCase()] = { value };
  for (const [name, value] of Object.entries(cookies)) event.request.cookies[name] = { value };
  if (ip !== undefined) event.viewer.ip = ip;
  return event;
}
