import { Command, Option } from 'commander';
import { kinship, type KinshipMethod } from '../data/kinship.js';
import { openBed } from '../data/plink/bed.js';
import { writeMatrixTsv } from '../data/write-tsv.js';
import { getBackend } from '../linalg/select.js';

/** `lmmkit kinship`: a kinship matrix streamed from a PLINK fileset. */
export function kinshipCommand(): Command {
  return new Command('kinship')
    .description('compute a kinship (genetic relatedness) matrix from genotypes, streamed in blocks')
    .requiredOption('--bfile <prefix>', 'PLINK 1 binary fileset PREFIX.bed/.bim/.fam')
    .addOption(new Option('--method <method>', 'variant scaling').choices(['standardized', 'gcta', 'centered']).default('standardized'))
    .addOption(new Option('--format <format>', 'table: ids in a header line and a first column; gemma: bare numbers in .fam order (like GEMMA .cXX.txt)').choices(['table', 'gemma']).default('table'))
    .option('--block <n>', 'variants per block', (v) => Number.parseInt(v, 10), 2048)
    .requiredOption('--out <file>', 'output file (written atomically)')
    .action(async (opts: { bfile: string; method: KinshipMethod; format: 'table' | 'gemma'; block: number; out: string }) => {
      const t0 = performance.now();
      const bed = await openBed(opts.bfile);
      try {
        const total = bed.nVariants;
        const res = await kinship(bed, {
          method: opts.method,
          blockSize: opts.block,
          onProgress: (read) => process.stderr.write(`\rread ${read} / ${total} variants (${((100 * read) / total).toFixed(2)}%)`),
        });
        process.stderr.write('\n');
        await writeMatrixTsv(opts.out, res.k, opts.format === 'table' ? bed.samples.iid : undefined);
        const secs = ((performance.now() - t0) / 1000).toFixed(2);
        console.log(`kinship (${res.method}) of ${bed.nSamples} samples from ${res.variantsUsed} variants` +
          `${res.variantsSkipped > 0 ? ` (${res.variantsSkipped} monomorphic or all-missing left out)` : ''}` +
          ` on the ${getBackend().name} backend in ${secs} s -> ${opts.out}`);
      } finally {
        await bed.close();
      }
    });
}
