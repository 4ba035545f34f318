// The result tables of `lmmkit gwas`, whichever model computes the rows:
// the output options checked, and each trait's table paths per dialect.
// Shared by the kinship path (gwas.ts) and the infinitesimal model
// (inf-gwas.ts), which must not import each other.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { StagedOutputs } from '../data/atomic.js';
import { type Dialect, dialect, MAX_DIGITS, OUT_FORMATS, type OutFormat } from '../data/gwas-dialects.js';
import { gwasSsfMetaYaml, type TableOutput } from './gwas-outputs.js';
import type { TraitOutputReport } from './gwas-report.js';
import type { GwasLayout } from './gwas-rows.js';
import { bad } from './options.js';

/** The options that shape a run's result tables (a subset of `GwasRunOptions`). */
export interface GwasTableOptions {
  out: string;
  tsvPath?: (trait: string, index: number) => string;
  outFormat?: OutFormat[];
  gz?: boolean;
  build?: string;
  digits?: number;
  plot?: boolean;
  exactTests?: 'all' | 'wald';
}

/** --digits, --out-format, --plot and --build checked (one-line BAD_ARGUMENT each); returns the formats (default ['lmmkit']). */
export function checkTableOptions(opts: GwasTableOptions): OutFormat[] {
  if (opts.digits !== undefined && !(Number.isInteger(opts.digits) && opts.digits >= 1 && opts.digits <= MAX_DIGITS)) {
    throw bad(`--digits: expected an integer from 1 to ${MAX_DIGITS}, found ${opts.digits}`);
  }
  const formats = opts.outFormat ?? ['lmmkit'];
  if (formats.length === 0) throw bad('--out-format: expected at least one format');
  for (const f of formats)
    if (!(OUT_FORMATS as readonly string[]).includes(f)) throw bad(`--out-format: expected ${OUT_FORMATS.join(', ')}, found '${String(f)}'`);
  if (new Set(formats).size !== formats.length) throw bad(`--out-format: a format given twice in '${formats.join(',')}'`);
  // The plots read the first table as lmmkit writes it (plain or BGZF: the reader knows gzip by its magic).
  if (opts.plot === true && formats[0] !== 'lmmkit') {
    throw bad(`--plot: draws from the lmmkit table: give lmmkit first in --out-format (found ${formats.join(',')}), or draw later with 'lmmkit plot'`);
  }
  if (opts.build !== undefined && !/^[A-Za-z0-9._-]+$/.test(opts.build))
    throw bad(`--build: expected an assembly name such as GRCh38 or hg19, found '${opts.build}'`);
  return formats;
}

/** One result table of a trait: its dialect (undefined: lmmkit's joint-test layout), path and companions. */
export interface TableSpec {
  format: OutFormat;
  dialect: Dialect | undefined;
  path: string;
  index?: string;
  meta?: string;
}

/**
 * Each trait's tables: PREFIX.<trait> (the trait name made safe for a file
 * name, and unique) + the dialect's suffix (+ .gz), in --out-format's order.
 */
export function traitTables(traits: readonly string[], opts: GwasTableOptions, formats: readonly OutFormat[], layout: GwasLayout): TableSpec[][] {
  const seen = new Set<string>();
  const gz = opts.gz === true ? '.gz' : '';
  return traits.map((t, i) => {
    let safe = t.replace(/[^A-Za-z0-9._-]/g, '_');
    if (seen.has(safe)) safe = `${safe}_${i + 1}`;
    seen.add(safe);
    return formats.map((format) => {
      const d = layout === 'multi' ? undefined : dialect(format, { layout, exactTests: opts.exactTests, digits: opts.digits });
      const path = format === 'lmmkit' && opts.tsvPath !== undefined ? opts.tsvPath(t, i) + gz : `${opts.out}.${safe}${d?.suffix ?? '.tsv'}${gz}`;
      return {
        format,
        dialect: d,
        path,
        ...(opts.gz === true && format !== 'regenie' ? { index: `${path}.tbi` } : {}),
        ...(format === 'gwas-ssf' ? { meta: `${path}-meta.yaml` } : {}),
      };
    });
  });
}

/** lmmkit's version, from its package.json (three folders above dist/src/workflow/). */
export function lmmkitVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** What the GWAS-SSF metadata of a trait's tables says besides the table itself. */
export interface TraitTablesMeta {
  trait: string;
  samples: number;
  build: string | undefined;
  /** The software line: lmmkit's version and the model. */
  software: string;
  /** Covariate names, the intercept included (it is left out of the metadata). */
  covariates: readonly string[];
}

/**
 * Closes a trait's tables (and any `keys` companions), staging each GWAS-SSF
 * table's -meta.yaml with its md5; returns the tables' report entries.
 */
export async function closeTraitTables(
  outs: readonly { t: TableSpec; out: TableOutput; keys?: { close(): Promise<void> } | undefined }[],
  meta: TraitTablesMeta,
  outputs: StagedOutputs,
): Promise<TraitOutputReport[]> {
  const files: TraitOutputReport[] = [];
  for (const { t, out, keys } of outs) {
    await keys?.close();
    const md5 = await out.close();
    const file: TraitOutputReport = { format: t.format, file: t.path, rows: out.rows, sorted: out.sorted };
    if (t.index !== undefined) file.index = t.index;
    if (t.meta !== undefined) {
      file.meta = t.meta;
      const yaml = gwasSsfMetaYaml({
        dataFile: basename(t.path),
        md5,
        trait: meta.trait,
        samples: meta.samples,
        build: meta.build,
        software: meta.software,
        covariates: meta.covariates.filter((c) => c !== 'intercept'),
        sorted: out.sorted,
        date: new Date().toISOString().slice(0, 10),
      });
      await outputs.whole(t.meta, yaml);
    }
    files.push(file);
  }
  return files;
}
