// Reading the viewer from CloudFront's headers, the same way in every runtime (Lambda@Edge, CloudFront Functions).
// Written for cloudfront-js-2.0 as well as Node.js.

/**
 * The viewer's IP: CloudFront-Viewer-Address is `ip:port`, and IPv6 addresses are not bracketed, so the last
 * `:port` is dropped; without that header, the address the runtime reports.
 */
export function viewerIp(address: string | undefined, clientIp: unknown): string | undefined {
  if (address) {
    const i = address.lastIndexOf(':');
    if (i > 0) return address.slice(0, i);
  }
  return typeof clientIp === 'string' ? clientIp : undefined;
}

/** CloudFront-Viewer-Latitude / -Longitude as a number, or undefined. */
export function coordinate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : undefined;
}
