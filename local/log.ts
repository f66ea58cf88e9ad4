// The local edge's log files: .local/edge.log holds what happened, one readable line each (every decision, and the
// functions' and the health checker's events); .local/metrics.log holds the CloudWatch Embedded Metric Format lines
// the function flushes, as Lambda would send them.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { RoutedRequest } from './edge';

/** `2026-12-02T18:50:01.123Z  GET /hello  1.208.0.1 KR  → ap-northeast-2 (nearest)  doc 3  200` */
export function decisionLine(d: RoutedRequest): string {
  const doc = d.serial === undefined ? '' : `  doc ${d.serial ?? 'none'}${d.stale ? ' stale' : ''}`;
  return `${new Date(d.at).toISOString()}  ${d.method} ${d.uri}  ${d.viewerIp}${d.country ? ` ${d.country}` : ''}  → ${d.target || '?'} (${d.reason || '?'})${doc}  ${d.status}`;
}

const quoted = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
};

/**
 * A function's JSON log line, readable: `<time>  <level> <event>  key=value ...`. A line that is not one of ours
 * (not JSON, or without an event) is kept as it came.
 */
export function eventLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null || typeof o.event !== 'string') return line;
  const { time, level, event, ...rest } = o;
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${quoted(v)}`)
    .join(' ');
  return `${typeof time === 'string' ? time : new Date().toISOString()}  ${String(level ?? 'info').padEnd(5)} ${event}${fields ? `  ${fields}` : ''}`;
}

/** An Embedded Metric Format line (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html). */
export function isMetricLine(line: string): boolean {
  if (!line.startsWith('{"_aws"') && !line.includes('"_aws":')) return false;
  try {
    const o = JSON.parse(line);
    return typeof o === 'object' && o !== null && typeof o._aws === 'object';
  } catch {
    return false;
  }
}

export interface LocalLogs {
  /** a line a function or the health checker wrote */
  write(line: string): void;
  decision(d: RoutedRequest): void;
  close(): Promise<void>;
}

export function openLogs(events: string, metrics: string): LocalLogs {
  const log = createWriteStream(events, { flags: 'a' });
  const emf = createWriteStream(metrics, { flags: 'a' });
  const end = (s: WriteStream) => new Promise<void>((resolve) => s.end(resolve));
  return {
    write(line) {
      if (isMetricLine(line)) emf.write(`${line}\n`);
      else log.write(`${eventLine(line)}\n`);
    },
    decision(d) {
      log.write(`${decisionLine(d)}\n`);
    },
    close: async () => {
      await Promise.all([end(log), end(emf)]);
    },
  };
}
