// The catalogue of bad input (issue 13): every class of mistake a user can
// make with a file or an option, each tried on a corrupted copy of a small
// generated data set, through the CLI as a user runs it. The contract is the
// same for all: exit status 2, one line on stderr that names the file (and
// the line, column, sample or variant where it applies) with what was
// expected and what was found, and nothing left in the output folder: no
// output, no temporary file.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { before, describe, test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, lmmkit, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-bad-');
const clean = join(dir, 'clean');
mkdirSync(clean);
const sim = simulateGwas({ samples: 40, variants: 120, seed: 13 });

/** The clean inputs, by name, in the folder of a case. */
const F = {
  bed: 'g.bed',
  bim: 'g.bim',
  fam: 'g.fam',
  pheno: 'pheno.tsv',
  covar: 'covar.tsv',
  kin: 'kin.tsv',
  geno: 'geno.txt',
  anno: 'anno.txt',
  data: 'data.tsv',
  results: 'res.tsv',
  bpheno: 'bpheno.txt',
} as const;

before(async () => {
  await writeGenotypeFixture(sim, join(clean, 'g'), join(clean, F.kin));
  writeSampleTable(join(clean, F.pheno), sim.samples, ['t1', 't2'], (i, c) => (c === 0 ? sim.phenotype[i]! : (sim.phenotype[i]! * 0.5 + (i % 7)).toFixed(4)));
  writeSampleTable(join(clean, F.covar), sim.samples, ['age', 'pc1'], (i, c) => (c === 0 ? 20 + (i % 30) : ((i * 37) % 17) / 17 - 0.5));
  const geno = sim.variants.id.map((id, j) => [id, sim.variants.a1[j], sim.variants.a2[j], ...Array.from(sim.dosages.col(j))].join(', '));
  writeFileSync(join(clean, F.geno), `${geno.join('\n')}\n`);
  writeFileSync(join(clean, F.bpheno), `${Array.from(sim.phenotype).join('\n')}\n`);
  writeFileSync(join(clean, F.anno), `${sim.variants.id.map((id, j) => `${id}\t${sim.variants.pos[j]}\t${sim.variants.chrom[j]}`).join('\n')}\n`);
  writeFileSync(
    join(clean, F.data),
    `${['id\ty\ttrial', ...sim.samples.iid.map((id, i) => `${id}\t${sim.phenotype[i]}\t${i % 2 === 0 ? 'A' : 'B'}`)].join('\n')}\n`,
  );
  const ok = lmmkit('gwas', '--bfile', join(clean, 'g'), '--pheno', join(clean, F.pheno), '--pheno-col', 't1', '--out', join(clean, 'res'));
  if (ok.status !== 0) throw new Error(`the clean data set must run: ${ok.stderr}`);
  copyFileSync(join(clean, 'res.t1.tsv'), join(clean, F.results));
});

/** A case's inputs: a fresh copy of the clean data set in its own folder. */
interface Inputs {
  /** The path of a clean input in this copy. */
  p(name: string): string;
  /** Replaces an input's text (`edit` receives the clean text). */
  edit(name: string, edit: (text: string) => string): void;
  /** Writes a new file in this copy and returns its path. */
  write(name: string, content: string | Uint8Array): string;
}

function copyInputs(): Inputs {
  const data = mkdtempSync(join(dir, 'in-'));
  for (const f of readdirSync(clean)) copyFileSync(join(clean, f), join(data, f));
  const p = (name: string): string => join(data, name);
  return {
    p,
    edit: (name, edit) => writeFileSync(p(name), edit(readFileSync(p(name), 'utf8'))),
    write: (name, content) => {
      writeFileSync(p(name), content);
      return p(name);
    },
  };
}

/** Replaces line `i` (0-based, header included) of a text. */
function line(i: number, f: (l: string) => string): (t: string) => string {
  return (t) =>
    t
      .split('\n')
      .map((l, j) => (j === i ? f(l) : l))
      .join('\n');
}

/** Replaces field `c` (0-based) of line `i` of a whitespace/tab table. */
function field(i: number, c: number, value: string): (t: string) => string {
  return line(i, (l) => {
    const sep = l.includes('\t') ? '\t' : ' ';
    const fs = l.split(sep);
    fs[c] = value;
    return fs.join(sep);
  });
}

const gwas = (d: Inputs): string[] => ['gwas', '--bfile', d.p('g'), '--pheno', d.p(F.pheno), '--pheno-col', 't1'];
const gwasK = (d: Inputs): string[] => [...gwas(d), '--kinship', d.p(F.kin)];
const bimbam = (d: Inputs): string[] => ['gwas', '--bimbam', d.p(F.geno), '--annotation', d.p(F.anno), '--pheno', d.p(F.bpheno)];
const varcomp = (d: Inputs): string[] => ['varcomp', 'fit', '--data', d.p(F.data), '--y', 'y', '--kinship', `A=${d.p(F.kin)}`, '--incidence', 'A=id'];

interface BadCase {
  /** What is wrong, as a user would say it. */
  name: string;
  /** Corrupts the copy (nothing: the options are what is wrong). */
  corrupt?: (d: Inputs) => void;
  /** The command line, without --out. */
  args: (d: Inputs) => string[];
  /** The --out argument relative to the output folder (default 'res'). */
  out?: string;
  /** The one line on stderr. */
  message: RegExp;
}

const cases: BadCase[] = [
  // PLINK .bed
  {
    name: '.bed without the magic bytes',
    corrupt: (d) => d.write(F.bed, new Uint8Array(3 + 10 * 120)),
    args: gwas,
    message: /g\.bed: not a PLINK \.bed file: expected magic bytes 6c 1b, found 00 00 00/,
  },
  {
    name: '.bed truncated',
    corrupt: (d) => d.write(F.bed, readFileSync(d.p(F.bed)).subarray(0, 500)),
    args: gwas,
    message: /g\.bed: truncated \.bed: .*need 3 \+ 10 x 120 = 1203 bytes, found 500/,
  },
  {
    name: '.bed in variant-major order flag 0 (sample-major)',
    corrupt: (d) => {
      const b = readFileSync(d.p(F.bed));
      b[2] = 0;
      d.write(F.bed, b);
    },
    args: gwas,
    message: /g\.bed: sample-major \.bed .*expected variant-major/,
  },
  // PLINK .bim
  {
    name: '.bim with a line of 5 fields',
    corrupt: (d) =>
      d.edit(
        F.bim,
        line(3, (l) => l.split('\t').slice(0, 5).join('\t')),
      ),
    args: gwas,
    message: /g\.bim:4: expected 6 whitespace-separated fields .*found 5/,
  },
  { name: '.bim with a position that is not a number', corrupt: (d) => d.edit(F.bim, field(7, 3, '12x')), args: gwas, message: /g\.bim:8.*'12x'/ },
  {
    name: '.bim with one variant more than the .bed',
    corrupt: (d) => d.edit(F.bim, (t) => `${t}1\trsX\t0\t999999\tA\tG\n`),
    args: gwas,
    message: /g\.(bed|bim).*121/,
  },
  {
    name: '.bim with one variant fewer than the .bed',
    corrupt: (d) => d.edit(F.bim, (t) => t.split('\n').slice(1).join('\n')),
    args: gwas,
    message: /g\.(bed|bim).*119/,
  },
  { name: 'empty .bim', corrupt: (d) => d.write(F.bim, ''), args: gwas, message: /g\.bim: expected .*variant.*found an empty file|0 variants \(\.bim\)/ },
  // PLINK .fam
  {
    name: '.fam with a line of 4 fields',
    corrupt: (d) =>
      d.edit(
        F.fam,
        line(5, (l) => l.split(/\s+/).slice(0, 4).join(' ')),
      ),
    args: gwas,
    message: /g\.fam:6: expected 6 whitespace-separated fields .*found 4/,
  },
  {
    name: '.fam with a duplicate sample',
    corrupt: (d) =>
      d.edit(
        F.fam,
        line(2, () => readFileSync(d.p(F.fam), 'utf8').split('\n')[1]!),
      ),
    args: gwas,
    message: /g\.fam:3: duplicate sample 'pop1 ind2' \(first on line 2\)/,
  },
  { name: '.fam with one sample more than the .bed', corrupt: (d) => d.edit(F.fam, (t) => `${t}FX IX 0 0 1 -9\n`), args: gwas, message: /g\.(bed|fam)/ },
  { name: 'empty .fam', corrupt: (d) => d.write(F.fam, ''), args: gwas, message: /g\.fam: expected .*sample.*found an empty file|0 samples \(\.fam\)/ },
  // phenotype table
  {
    name: 'phenotype value that is not a number',
    corrupt: (d) => d.edit(F.pheno, field(4, 2, 'abc')),
    args: gwas,
    message: /pheno\.tsv:5.*column 3.*expected a number.*'abc'/,
  },
  { name: 'phenotype written with a decimal comma', corrupt: (d) => d.edit(F.pheno, field(4, 2, '1,5')), args: gwas, message: /pheno\.tsv:5.*'1,5'/ },
  {
    name: 'phenotype row with a field missing',
    corrupt: (d) =>
      d.edit(
        F.pheno,
        line(6, (l) => l.split('\t').slice(0, 3).join('\t')),
      ),
    args: gwas,
    message: /pheno\.tsv:7.*expected 4 fields.*found 3/,
  },
  {
    name: 'phenotype with a sample twice',
    corrupt: (d) =>
      d.edit(
        F.pheno,
        line(3, () => readFileSync(d.p(F.pheno), 'utf8').split('\n')[2]!),
      ),
    args: gwas,
    message: /pheno\.tsv.*unique sample ids/,
  },
  {
    name: 'phenotype with two columns of one name',
    corrupt: (d) =>
      d.edit(
        F.pheno,
        line(0, () => 'FID\tIID\tt1\tt1'),
      ),
    args: gwas,
    message: /pheno\.tsv:1.*'t1' twice/,
  },
  { name: 'empty phenotype file', corrupt: (d) => d.write(F.pheno, ''), args: gwas, message: /pheno\.tsv: expected a table, found an empty file/ },
  {
    name: 'phenotype with a header only',
    corrupt: (d) => d.edit(F.pheno, (t) => `${t.split('\n')[0]}\n`),
    args: gwas,
    message: /pheno\.tsv: expected at least one data row/,
  },
  {
    name: 'phenotype with an unclosed quote',
    corrupt: (d) => d.write(F.pheno, 'FID,IID,t1\n"a,b,1\n'),
    args: gwas,
    message: /pheno\.tsv:2.*closing double quote/,
  },
  {
    name: 'phenotype trait missing in every sample',
    corrupt: (d) => d.edit(F.pheno, (t) => t.replace(/\t[^\t\n]+\t([^\t\n]+)$/gm, '\tNA\t$1').replace(/^FID\tIID\tNA/, 'FID\tIID\tt1')),
    args: gwas,
    message: /pheno\.tsv|t1/,
  },
  {
    name: 'phenotype whose ids match no genotype sample',
    corrupt: (d) => d.edit(F.pheno, (t) => t.replace(/^(\S+)\t(\S+)/gm, (m, a, b) => (a === 'FID' ? m : `x${a}\tx${b}`))),
    args: gwas,
    message: /no samples left|pheno\.tsv/,
  },
  {
    name: 'phenotype that is a binary file',
    corrupt: (d) => d.write(F.pheno, new Uint8Array([0, 1, 2, 255, 254, 10, 3, 0])),
    args: gwas,
    message: /pheno\.tsv/,
  },
  {
    name: 'phenotype path that is a folder',
    corrupt: (d) => mkdirSync(d.p('folder.tsv')),
    args: (d) => ['gwas', '--bfile', d.p('g'), '--pheno', d.p('folder.tsv')],
    message: /folder\.tsv/,
  },
  // covariates
  {
    name: 'covariate value that is not a number',
    corrupt: (d) => d.edit(F.covar, field(9, 3, 'NaN%')),
    args: (d) => [...gwas(d), '--covar', d.p(F.covar)],
    message: /covar\.tsv:10.*column 4.*'NaN%'/,
  },
  {
    name: 'covariate table with the phenotype header',
    corrupt: (d) =>
      d.edit(
        F.covar,
        line(1, (l) => `${l}\t1`),
      ),
    args: (d) => [...gwas(d), '--covar', d.p(F.covar)],
    message: /covar\.tsv:2.*expected 4 fields.*found 5/,
  },
  // kinship
  {
    name: 'kinship with a row missing',
    corrupt: (d) =>
      d.edit(F.kin, (t) =>
        t
          .split('\n')
          .filter((_, i) => i !== 5)
          .join('\n'),
      ),
    args: gwasK,
    message: /kin\.tsv/,
  },
  { name: 'kinship value that is not a number', corrupt: (d) => d.edit(F.kin, field(3, 4, 'x')), args: gwasK, message: /kin\.tsv:4.*'x'/ },
  { name: 'kinship with NA', corrupt: (d) => d.edit(F.kin, field(3, 4, 'NA')), args: gwasK, message: /kin\.tsv:4/ },
  { name: 'kinship that is not symmetric', corrupt: (d) => d.edit(F.kin, field(3, 6, '0.9')), args: gwasK, message: /kin\.tsv.*symmetric/ },
  { name: 'kinship whose ids are not the samples', corrupt: (d) => d.edit(F.kin, (t) => t.replace(/\bind(\d+)\b/g, 'zz$1')), args: gwasK, message: /kin\.tsv/ },
  {
    name: 'kinship that is not square',
    corrupt: (d) =>
      d.edit(F.kin, (t) =>
        t
          .split('\n')
          .map((l, i) => (l === '' || i === 0 ? l : `${l}\t0`))
          .join('\n'),
      ),
    args: gwasK,
    message: /kin\.tsv: expected a square matrix, found 40 rows x 41 columns/,
  },
  // BIMBAM
  { name: 'BIMBAM dosage that is not a number', corrupt: (d) => d.edit(F.geno, field(2, 5, 'AA')), args: bimbam, message: /geno\.txt:3.*'AA'/ },
  {
    name: 'BIMBAM line with a dosage missing',
    corrupt: (d) =>
      d.edit(
        F.geno,
        line(4, (l) => l.replace(/[, \t][^, \t]+$/, '')),
      ),
    args: bimbam,
    message: /geno\.txt:5.*expected/,
  },
  {
    name: 'BIMBAM annotation with a position that is not a number',
    corrupt: (d) => d.edit(F.anno, field(2, 1, 'pos')),
    args: bimbam,
    message: /anno\.txt:3.*'pos'/,
  },
  { name: 'BIMBAM annotation missing a variant', corrupt: (d) => d.edit(F.anno, (t) => t.split('\n').slice(1).join('\n')), args: bimbam, message: /anno\.txt/ },
  // varcomp
  { name: 'varcomp --y not in --data', args: (d) => [...varcomp(d).map((a) => (a === 'y' ? 'Y' : a))], message: /data\.tsv.*'Y'/ },
  {
    name: 'varcomp response that is not a number',
    corrupt: (d) => d.edit(F.data, field(3, 1, 'tall')),
    args: varcomp,
    message: /data\.tsv:4 \(column 2 'y'\): --y: expected a number or a missing value .*found 'tall'/,
  },
  { name: 'varcomp --incidence codes absent from the kinship', corrupt: (d) => d.edit(F.data, field(3, 0, 'nobody')), args: varcomp, message: /nobody/ },
  {
    name: 'varcomp --formula naming a column that is not a cofactor',
    args: (d) => [...varcomp(d), '--formula', '~ trial'],
    message: /--formula '~ trial': 'trial' is a column of .*data\.tsv but not a cofactor; list it in --cofactor \(now: none\)/,
  },
  {
    name: 'varcomp --formula naming an unknown column',
    args: (d) => [...varcomp(d), '--cofactor', 'trial', '--formula', '~ height'],
    message: /names 'height', which is not a column of the model data; available: 'trial'/,
  },
  {
    name: 'varcomp response that is constant',
    corrupt: (d) => d.edit(F.data, (t) => t.replace(/^([^\t\n]+)\t[^\t\n]+\t/gm, (m, id) => (id === 'id' ? m : `${id}\t2.5\t`))),
    args: varcomp,
    message: /data\.tsv: --y: expected a response that varies, found 'y' equal to 2\.5 on all 40 rows/,
  },
  {
    name: 'varcomp whose only covariance is zero (--no-error)',
    corrupt: (d) => d.edit(F.kin, (t) => t.replace(/\t-?\d[^\t\n]*/g, '\t0')),
    args: (d) => [...varcomp(d), '--no-error'],
    message: /^lmmkit: --data .*data\.tsv, response 'y': cannot fit the model: (?![A-Za-z]+: )/,
  },
  { name: 'varcomp --init with a negative variance', args: (d) => [...varcomp(d), '--init', '-1,1'], message: /--init/ },
  // null-model files
  {
    name: 'null model file that is a text file',
    corrupt: (d) => d.write('null.lmm', 'hello\n'),
    args: (d) => [...gwas(d), '--null', d.p('null.lmm')],
    message: /null\.lmm/,
  },
  // association results given to plot
  {
    name: 'plot of a results file without a p-value column',
    corrupt: (d) => d.edit(F.results, (t) => t.replace(/\tpvalue\tneg_log10_p/, '\tp_x\tl_x')),
    args: (d) => ['plot', 'manhattan', '--in', d.p(F.results)],
    out: 'm.svg',
    message: /res\.tsv/,
  },
  {
    name: 'plot of a results file with a p-value that is not a number',
    corrupt: (d) => d.edit(F.results, (t) => field(3, 11, 'zero')(field(3, 10, 'zero')(t))),
    args: (d) => ['plot', 'qq', '--in', d.p(F.results)],
    out: 'q.svg',
    message: /res\.tsv:4.*'zero'/,
  },
  // options
  { name: '--maf not a number', args: (d) => [...gwas(d), '--maf', 'x'], message: /--maf.*'x'/ },
  { name: '--max-missing above 1', args: (d) => [...gwas(d), '--max-missing', '2'], message: /--max-missing/ },
  { name: '--batch-size 0', args: (d) => [...gwas(d), '--batch-size', '0'], message: /--batch-size/ },
  { name: '--digits 18', args: (d) => [...gwas(d), '--digits', '18'], message: /--digits: expected an integer from 1 to 17, found 18/ },
  { name: '--ids unknown', args: (d) => [...gwas(d), '--ids', 'sample'], message: /--ids/ },
  { name: 'an unknown option', args: (d) => [...gwas(d), '--phenotype', 'x'], message: /^lmmkit: unknown option '--phenotype' \(see 'lmmkit gwas --help'\)$/m },
  {
    name: 'kinship --method unknown',
    args: (d) => ['kinship', '--bfile', d.p('g'), '--method', 'ibs'],
    out: 'k.tsv',
    message: /argument 'ibs' is invalid. Allowed choices are standardized, gcta, centered\. \(see 'lmmkit kinship --help'\)/,
  },
  {
    name: 'mtgwas with one trait',
    args: (d) => ['mtgwas', '--bfile', d.p('g'), '--pheno', d.p(F.pheno), '--pheno-col', 't1'],
    message: /mtgwas|--pheno-col|two/,
  },
  // outputs
  {
    name: 'gzipped phenotype file is read, not parsed as text',
    corrupt: (d) => d.write('pheno.tsv.gz', gzipSync(readFileSync(d.p(F.pheno)))),
    args: (d) => ['gwas', '--bfile', d.p('g'), '--pheno', d.p('pheno.tsv.gz'), '--pheno-col', 'nope'],
    message: /pheno\.tsv\.gz: expected a column named 'nope'/,
  },
];

describe('bad input: exit 2, one line naming the file, nothing written', () => {
  for (const c of cases) {
    test(c.name, () => {
      const d = copyInputs();
      c.corrupt?.(d);
      const out = mkdtempSync(join(dir, 'out-'));
      const r = lmmkit(...c.args(d), '--out', join(out, c.out ?? 'res'));
      if (process.env.DISCOVER) console.log(`## ${c.name}\n   exit ${r.status}: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
      assertRejected(r, c.message, out);
    });
  }
});
