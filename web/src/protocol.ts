// The messages between the page and its worker, and between that worker
// and the scan workers it starts (the same script).
import type { OutFormat } from '../../src/data/gwas-dialects.js';
import type { GwasHit } from '../../src/workflow/gwas-report.js';
import type { GenotypeFileset } from '../../src/workflow/web-filesets.js';
import type { JobEvent, JobFiles, JobRequest, WebReport } from '../../src/workflow/web-job.js';
import type { ScanPart, WireBatch } from '../../src/workflow/web-scan.js';

/** Page -> worker: run a job with its scan over `workers` scan workers (1: in the job's worker), write a table or the report. */
export type ToWorker = { type: 'run'; req: JobRequest; workers: number } | { type: 'table'; format: OutFormat; gz: boolean } | { type: 'report' };

/** Job worker -> scan worker: open the genotype files (ahead of the part), then scan a part. */
export type ToScanWorker = { type: 'open'; files: JobFiles; genotypes: GenotypeFileset } | { type: 'scan'; part: ScanPart };

/** Scan worker -> job worker: each batch of the part in order (null: emptied by the filters), then the end or an error. */
export type FromScanWorker = { type: 'batch'; batch: WireBatch | null } | { type: 'end' } | { type: 'error'; message: string };

/** What the page shows of a finished run (the rows stay in the worker, which writes the downloads). */
export interface RunSummary {
  trait: string;
  report: WebReport;
  /**
   * The interactive Manhattan page (iframe srcdoc; each point's data-more
   * holds its alleles and beta), and the Manhattan and QQ plots as
   * standalone SVG documents: UTF-8 bytes, transferred rather than copied,
   * so that their arrival costs the page no long task.
   */
  manhattanHtml: Uint8Array<ArrayBuffer>;
  manhattanSvg: Uint8Array<ArrayBuffer>;
  qqSvg: Uint8Array<ArrayBuffer>;
  /** The QQ plot drawn small for the page. */
  qqShown: string;
  lambdaGc: number;
  /** The best tests for the table (by -log10 p), with their alleles. */
  hits: (GwasHit & { a1: string; a2: string; se: number; af: number })[];
  /** The formats the run's layout can be written in. */
  formats: OutFormat[];
}

/** Worker -> page. */
export type FromWorker =
  | { type: 'event'; event: JobEvent }
  | { type: 'done'; summary: RunSummary }
  | { type: 'error'; message: string }
  | { type: 'file'; name: string; blob: Blob };
