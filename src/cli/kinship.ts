import { Command, Option } from 'commander';
import { LmmkitError } from '../errors.js';
import { openBimbam } from '../data/bimbam.js';
import type { GenotypeSource } from '../data/genotypes.js';
import { kinship, type KinshipMethod } from '../data/kinship.js';
import { openBed } from '../data/node/bed.js';
import { writeMatrixTsv } from '../data/write-tsv.js';
import { getBackend } from '../linalg/select.js';

interface KinshipCliOptions {
  bfile?: string;
  bimbam?: string;
  annotation?: string;
  method: KinshipMethod;
  format: 'table' | 'gemma';
  block: number;
  out: string;
}

/** `lmmkit kinship`: a kinship matrix streamed from a PLINK fileset or a BIMBAM file. */
export function kinshipCommand(): Command {
  return new Command('kinship')
    .description('compute a kinship (genetic relatedness) matrix from genotypes, streamed in blocks')
    .option('--bfile <prefix>', 'PLINK 1 binary fileset PREFIX.bed/.bim/.fam')
    .option('--bimbam <file>', 'BIMBAM mean genotype file (plain or gzip)')
    .option('--annotation <file>', 'BIMBAM SNP annotation file (rsid pos chrom)')
    .addOption(new Option('--method <method>', 'variant scaling: standardized (limix), gcta (plink2 --make-rel), centered (gemma -gk 1)').choices(['standardized', 'gcta', 'centered']).default('standardized'))
    .addOption(new Option('--format <format>', 'table: ids in a header line and a first column; gemma: bare numbers in sample order (like GEMMA .cXX.txt)').choices(['table', 'gemma']).default('table'))
    .option('--block <n>', 'variants per block', (v) => Number.parseInt(v, 10), 2048)
    .requiredOption('--out <file>', 'output file (written atomically)')
    .action(async (opts: KinshipCliOptions) => {
      if ((opts.bfile === undefined) === (opts.bimbam === undefined)) {
        throw new LmmkitError('BAD_ARGUMENT', 'kinship: give exactly one of --bfile PREFIX and --bimbam FILE');
      }
      const t0 = performance.now();
      const source: GenotypeSource = opts.bfile !== undefined
        ? await openBed(opts.bfile)
        : await openBimbam(opts.bimbam!, { annotation: opts.annotation });
      try {
        const total = source.variants.id.length;
        const tty = process.stderr.isTTY === true;
        const res = await kinship(source, {
          method: opts.method,
          blockSize: opts.block,
          onProgress: (read) => {
            const line = `read ${read} / ${total} variants (${((100 * read) / total).toFixed(2)}%)`;
            process.stderr.write(tty ? `\r${line}` : `${line}\n`);
          },
        });
        if (tty) process.stderr.write('\n');
        await writeMatrixTsv(opts.out, res.k, opts.format === 'table' ? source.samples.iid : undefined);
        const secs = ((performance.now() - t0) / 1000).toFixed(2);
        console.log(`kinship (${res.method}) of ${source.samples.iid.length} samples from ${res.variantsUsed} variants` +
          `${res.variantsSkipped > 0 ? ` (${res.variantsSkipped} monomorphic or all-missing left out)` : ''}` +
          ` on the ${getBackend().name} backend in ${secs} s -> ${opts.out}`);
      } finally {
        await source.close();
      }
    });
}
