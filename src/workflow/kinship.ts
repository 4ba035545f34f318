// `lmmkit kinship` as one call: a kinship matrix streamed from a genotype file
// in blocks and written as a table (ids framing it) or GEMMA's bare layout.
import type { KinshipMethod, KinshipResult } from '../data/kinship.js';
import { kinship } from '../data/kinship.js';
import { writeMatrixTsv } from '../data/write-tsv.js';
import { getBackend } from '../linalg/select.js';
import { analysedSelection } from '../data/genotypes.js';
import { resolveSelection } from '../data/variants.js';
import { genotypeFiles, genotypeSide, openGenotypes, quirkWarnings } from './inputs.js';
import { bad, checkGenotypeOptions, checkOutputs } from './options.js';
import { applySelection, checkSelectionOptions, selectionFiles, type SelectionOptions, type SelectionReport } from './selection.js';
import type { VcfDosage } from '../data/vcf.js';
import type { BgenRef } from '../data/bgen/bgen.js';

/** Options of `runKinship` (what the `lmmkit kinship` command runs). */
export interface KinshipRunOptions extends SelectionOptions {
  /** PLINK 1 fileset prefix (exactly one of `bfile` and `bimbam`). */
  bfile?: string;
  /** BIMBAM mean genotype file. */
  bimbam?: string;
  /** PLINK 2 fileset prefix (PREFIX.pgen/.pvar/.psam). */
  pfile?: string;
  /** BIMBAM SNP annotation (rsid pos chrom). */
  annotation?: string;
  /** VCF file, plain or BGZF (see `openVcf`). */
  vcf?: string;
  /** The VCF FORMAT field the dosages are read from (default DS when declared, else GT). */
  vcfDosage?: VcfDosage;
  /** The VCF's index for a region read (--vcf-index), false to read the whole file (--no-vcf-index); see `GenotypeInput`. */
  vcfIndex?: string | false;
  /** BGEN file, its Oxford .sample and which allele is REF (see `GenotypeInput`). */
  bgen?: string;
  sample?: string;
  bgenRef?: BgenRef;
  /** The BGEN file's bgenix index (see `GenotypeInput`). */
  bgenIndex?: string | false;
  /** Variant scaling (default 'standardized'). */
  method?: KinshipMethod;
  /** 'table' (default): ids in a header line and a first column; 'gemma': bare numbers in sample order. */
  format?: 'table' | 'gemma';
  /** Variants per block (default 2048). */
  block?: number;
  /** The output file, written atomically. */
  out: string;
  /** The summary line (default silent). */
  log?: (line: string) => void;
  /** Warnings about the genotype file (`quirkWarnings`; default silent). */
  warn?: (line: string) => void;
  /** Variants read so far, of `total`, after each block. */
  onProgress?: (read: number, total: number) => void;
}

/** What `runKinship` computed and wrote. */
export interface KinshipRunReport extends KinshipResult {
  samples: number;
  /** Variants of a `.bim` with a negative position, left out as PLINK 1.9 does (absent when none). */
  variantsExcluded?: number;
  /** What the selection options removed (absent without them). */
  selection?: SelectionReport;
  output: string;
  backend: string;
  seconds: number;
}

/**
 * Computes the kinship of every sample of the genotype file from all its
 * variants but those it excludes (a `.bim`'s negative positions, as PLINK
 * 1.9 excludes them; `kinship`, streamed in blocks) and writes it to `out`
 * atomically; logs one line and returns the result. The selection options
 * restrict the samples (rows and columns of the matrix) and the variants
 * it is computed from, as plink2 --make-rel does with the same options.
 */
export async function runKinship(opts: KinshipRunOptions): Promise<KinshipRunReport> {
  checkGenotypeOptions('kinship', opts);
  const block = opts.block ?? 2048;
  if (!Number.isInteger(block) || block < 1) throw bad(`--block: expected a positive integer, found ${block}`);
  checkSelectionOptions(opts);
  await checkOutputs([opts.out], [...genotypeFiles(opts), ...selectionFiles(opts)]);
  const t0 = performance.now();
  const opened = await openGenotypes(opts);
  try {
    const sel = await applySelection(opened, opts, genotypeSide(opened, opts).key, opts.log);
    const source = sel.source;
    const kept = Int32Array.from(source.samples.iid.keys()).filter((i) => !sel.excluded.has(i));
    const samples = sel.excluded.size === 0 ? undefined : kept;
    const select = analysedSelection(source, undefined);
    const total = select === undefined ? source.variants.id.length : resolveSelection(source.variants, select, source.path).length;
    const excluded = source.variants.id.length - total;
    const res = await kinship(source, {
      method: opts.method ?? 'standardized',
      blockSize: block,
      select,
      samples,
      onProgress: opts.onProgress === undefined ? undefined : (read) => opts.onProgress!(read, total),
    });
    await writeMatrixTsv(opts.out, res.k, (opts.format ?? 'table') === 'table' ? Array.from(kept, (i) => source.samples.iid[i]!) : undefined);
    const seconds = (performance.now() - t0) / 1000;
    const backend = getBackend().name;
    opts.log?.(
      `kinship (${res.method}) of ${kept.length} samples from ${res.variantsUsed} variants` +
        `${res.variantsSkipped > 0 ? ` (${res.variantsSkipped} monomorphic or all-missing left out)` : ''}` +
        `${excluded > 0 ? ` (${excluded} with a negative position excluded)` : ''}` +
        ` on the ${backend} backend in ${seconds.toFixed(2)} s -> ${opts.out}`,
    );
    for (const line of quirkWarnings(source)) opts.warn?.(line);
    return {
      ...res,
      samples: kept.length,
      ...(excluded > 0 ? { variantsExcluded: excluded } : {}),
      ...(sel.report === undefined ? {} : { selection: sel.report }),
      output: opts.out,
      backend,
      seconds,
    };
  } finally {
    await opened.close();
  }
}
