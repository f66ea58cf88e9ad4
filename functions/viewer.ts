// Reading the viewer from the event, the same way in every runtime (Lambda@Edge, CloudFront Functions). Written for
// cloudfront-js-2.0 as well as Node.js.

/**
 * The viewer's IP: the address the runtime reports (Lambda@Edge `clientIp`, CloudFront Functions `event.viewer.ip`),
 * never a header, which a viewer can send (CloudFront-Viewer-Address among them: it would let anyone claim a VPN
 * address and be authorised).
 */
export function viewerIp(runtimeIp: unknown): string | undefined {
  return typeof runtimeIp === 'string' ? runtimeIp : undefined;
}

/** CloudFront-Viewer-Latitude / -Longitude as a number, or undefined. */
export function coordinate(v: string | undefined): number | undefined {
  const n = Number.parseFloat(v as string);
  return Number.isFinite(n) ? n : undefined;
}
