import { getBackend, nativeStatus } from '../linalg/select.js';

/** The facts `lmmkit info` prints: backend in use, BLAS, threads, Node version. */
export interface InfoReport {
  lmmkit: string;
  backend: string;
  blas: string;
  threads: number;
  config: string;
  native: { available: boolean; reason?: string };
  node: string;
  platform: string;
}

/** Collects the `lmmkit info` report for the backend currently selected. */
export function infoReport(version: string): InfoReport {
  const info = getBackend().info();
  return {
    lmmkit: version,
    backend: info.name,
    blas: info.blas,
    threads: info.threads,
    config: info.config,
    native: nativeStatus(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The report as aligned `key: value` lines. */
export function formatInfo(r: InfoReport): string {
  const rows: [string, string][] = [
    ['lmmkit', r.lmmkit],
    ['backend', r.backend],
    ['blas', r.blas],
    ['threads', String(r.threads)],
    ['config', r.config],
    ['native', r.native.available ? 'available' : `not available: ${r.native.reason}`],
    ['node', r.node],
    ['platform', r.platform],
  ];
  return rows.map(([k, v]) => `${k.padEnd(9)} ${v}`).join('\n');
}
