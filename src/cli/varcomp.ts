import { Command, Option } from 'commander';
import { LmmkitError } from '../errors.js';
import { writeAtomically } from '../data/atomic.js';
import type { DataFrame } from '../data/frame.js';
import { readText } from '../data/node/files.js';
import { readFrame, readKinship } from '../data/node/tables.js';
import { parseTable } from '../data/table.js';
import { formatNumber } from '../data/write-tsv.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import type { CofactorTable } from '../varcomp/design.js';
import type { MarkerInput, MmEstModel, MmEstResult } from '../varcomp/mmest.js';
import { mmEstParallel } from '../varcomp/mmest-parallel.js';
import { mmBlup } from '../varcomp/blup.js';
import { mmVcov } from '../varcomp/vcov.js';
import { anovaTest, type AnovaData, type AnovaResult, type AnovaTable } from '../varcomp/anova.js';
import { basename } from 'node:path';
import { openBed } from '../data/node/bed.js';
import { progressLine } from '../data/geno-queue.js';
import { mmEstStream } from '../varcomp/mmest-stream.js';

interface VarcompFitOptions {
  data: string;
  y: string;
  cofactor?: string;
  formula?: string;
  kinship: string[];
  incidence: string[];
  z: string[];
  error: boolean;
  markers?: string;
  bfile?: string;
  ids?: string;
  maf: number;
  maxMissing: number;
  markersAs: 'auto' | 'numeric' | 'factor';
  method: 'reml' | 'ml';
  henderson: 'auto' | 'true' | 'false';
  init?: string;
  critVar: number;
  critLoglik: number;
  maxIter: number;
  accelerate: boolean;
  threads: number;
  blup: boolean;
  anova?: 'I' | 'III' | 'KR';
  contrast: string[];
  vcov?: 'expected' | 'ai';
  out: string;
}

const HELP = `
Components: each --kinship NAME=FILE is a named covariance R_k (a kinship
table with sample ids: lmmkit kinship output, or MM4LMM's CSV layout). Its
incidence Z_k is --incidence NAME=COLUMN (Z[i, j] = 1 when the --data row i
has code j in COLUMN, codes matched to the kinship's ids, as the MM4LMM
example builds Zf and Zd), or --z NAME=FILE (an N x q matrix, no header), or
none (R_k must then be N x N in --data's row order). The error component
'Error' (identity) is added last unless --no-error.

Fixed effects: --cofactor lists --data columns (text columns are factors with
the first level, in sorted order, as reference); --formula is an R formula
over them, with Xeffect standing for the marker in GWAS mode (default: every
cofactor, plus the marker). An intercept is included unless the formula
removes it. Aliased columns are dropped as R's pivoted QR drops them and
reported.

GWAS mode from genotypes: --bfile PREFIX --ids COLUMN streams the variants
of a PLINK fileset (each --data row takes the genotype of its sample; rows
may share a sample), filters them (--maf, --max-missing), mean-imputes, and
fits one model per variant with its dosage as Xeffect: a TSV row per variant
(chrom pos id a1 a2 af n, then the columns below).

Output: with one model, a JSON file with beta (named as R's model.matrix
names them), sigma2, varBeta, logLik (MM4LMM's convention: REML without the
-(N-p)/2 log(2 pi) constant; logLikLme4 adds it), nbIt, attr, factors. With
--markers (GWAS mode: one model per marker column, started from the
cofactor-only fit), a TSV with one row per marker:
  marker nbit converged loglik sigma2_<NAME>... beta_names beta se
(beta_names, beta and se semicolon-separated in beta order), and the JSON
(--out with .json in place of .tsv) holds the null model and the settings.
--anova I|III|KR adds AnovaTest's tests of every term (Wald chi-square, or
Kenward-Roger's F with its denominator df; KR needs REML), --contrast FILE a
joint test of each contrast matrix (rows x coefficients in beta order): in
the JSON and printed for one model, in PREFIX.anova.tsv (marker test term
statistic df ddf pvalue log10p) in GWAS mode. p-values are upper tails with
their log10, which stays finite where the p-value underflows.
--blup adds each component's BLUP sigma2_k R_k Z_k' V^-1 (y - X beta), named
by the kinship's ids (MMBlup); --vcov adds the covariance of the variance
estimators from the expected (Fisher) or average information (MMVcov; the
expected information is the correct one: MM4LMM's MMVcov uses
tr(P K_k K_k P) on its diagonal where tr(P K_k P K_k) is due).

Exit status: 0 on success, 2 on bad input (one line naming the file or option).

Example (MM4LMM's example 1):
  lmmkit varcomp fit --data vc_data.csv --y Trait --cofactor Trial \\
    --kinship Flint=vc_kinship_flint.csv --incidence Flint=CodeFlint \\
    --kinship Dent=vc_kinship_dent.csv --incidence Dent=CodeDent --out fit.json`;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `lmmkit varcomp`: MM4LMM's MMEst on files. */
export function varcompCommand(): Command {
  const varcomp = new Command('varcomp').description('variance-component mixed models (MM4LMM): fit by REML or ML with the MM algorithm');
  varcomp
    .command('fit')
    .description('fit Y = X b + sum_k Z_k u_k, u_k ~ N(0, sigma2_k R_k), one model or one per marker')
    .requiredOption('--data <file>', 'observation table with a header (TSV/CSV): the response, cofactors and incidence codes')
    .requiredOption('--y <column>', 'response column of --data')
    .option('--cofactor <columns>', 'comma-separated cofactor columns of --data')
    .option('--formula <formula>', "fixed-effect formula, e.g. '~ Trial + Xeffect + Xeffect:Trial'")
    .option('--kinship <name=file>', 'a named covariance matrix (repeatable, in component order)', collect, [])
    .option('--incidence <name=column>', 'incidence of a component from a --data column of codes (repeatable)', collect, [])
    .option('--z <name=file>', 'incidence of a component as a matrix file (repeatable)', collect, [])
    .option('--no-error', 'do not add the identity error component last')
    .option('--markers <file>', 'GWAS mode: a table with a header, one row per --data row, one column per marker (numbers or text)')
    .option('--bfile <prefix>', 'GWAS mode streamed from a PLINK fileset: one model per variant (its a1 dosage, mean-imputed), needs --ids')
    .option('--ids <column>', 'with --bfile: the --data column holding each row\'s genotype sample (IID in the .fam)')
    .option('--maf <f>', 'with --bfile: drop variants with a minor allele frequency below f', parseNumber('--maf'), 0.01)
    .option('--max-missing <f>', 'with --bfile: drop variants with a larger fraction of missing genotypes', parseNumber('--max-missing'), 0.05)
    .addOption(new Option('--markers-as <kind>', 'read markers as numbers (dosages), as factors (codes such as 10/11, each a level) or auto (numbers when every value is one)').choices(['auto', 'numeric', 'factor']).default('auto'))
    .addOption(new Option('--method <method>', 'REML or ML').choices(['reml', 'ml']).default('reml'))
    .addOption(new Option('--henderson <when>', "Henderson's mixed-model equations (auto: MM4LMM's rule)").choices(['auto', 'true', 'false']).default('auto'))
    .option('--init <values>', 'comma-separated starting variances, one per component (error included)')
    .option('--crit-var <x>', "stop when the variances change by less (MM4LMM's CritVar)", parseNumber('--crit-var'), 1e-3)
    .option('--crit-loglik <x>', "... and the log-likelihood by less (MM4LMM's CritLogLik)", parseNumber('--crit-loglik'), 1e-3)
    .option('--max-iter <n>', 'iteration cap', parseNumber('--max-iter'), 100)
    .option('--accelerate', 'SQUAREM acceleration with a monotone safeguard (fewer iterations; not MM4LMM\'s path)', false)
    .addOption(new Option('--anova <type>', 'fixed-effect tests (AnovaTest): Wald Type I, Type III, or Kenward-Roger (KR, REML fits) per term').choices(['I', 'III', 'KR']))
    .option('--contrast <file>', 'a contrast matrix (rows x coefficients, no header) tested jointly at 0: Wald, or Kenward-Roger with --anova KR (repeatable)', collect, [])
    .option('--blup', 'add the BLUP of every component (MMBlup) to the JSON result', false)
    .addOption(new Option('--vcov <information>', 'add the covariance of the variance estimators and their SEs (MMVcov): expected or average information (ai)').choices(['expected', 'ai']))
    .option('--threads <n>', "worker threads for the marker models of GWAS mode (MM4LMM's NbCores)", parseNumber('--threads'), 1)
    .requiredOption('--out <file>', 'output: a .json file (one model) or a .tsv file (GWAS mode)')
    .addHelpText('after', HELP)
    .action(async (opts: VarcompFitOptions) => {
      await runVarcompFit(opts);
    });
  return varcomp;
}

function parseNumber(flag: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new LmmkitError('BAD_ARGUMENT', `${flag}: expected a number, found '${v}'`);
    return x;
  };
}

function pair(flag: string, v: string): [string, string] {
  const at = v.indexOf('=');
  if (at <= 0 || at === v.length - 1) throw new LmmkitError('BAD_ARGUMENT', `${flag}: expected NAME=VALUE, found '${v}'`);
  return [v.slice(0, at), v.slice(at + 1)];
}

function column(frame: DataFrame, name: string, flag: string): Float64Array | readonly string[] {
  const j = frame.names.indexOf(name);
  if (j < 0) throw new LmmkitError('BAD_ARGUMENT', `${flag}: ${frame.file} has no column '${name}' (columns: ${frame.names.join(', ')})`);
  return frame.columns[j]!;
}

/** Runs `lmmkit varcomp fit` (exported for tests and other commands). */
export async function runVarcompFit(opts: VarcompFitOptions): Promise<MmEstResult> {
  const t0 = performance.now();
  const frame = await readFrame(opts.data);
  const yCol = column(frame, opts.y, '--y');
  if (!(yCol instanceof Float64Array)) throw new LmmkitError('BAD_INPUT', `--y: column '${opts.y}' of ${opts.data} is not numeric`);
  const missingY = Array.from(yCol.keys()).filter((i) => Number.isNaN(yCol[i]!));
  if (missingY.length > 0) {
    const where = missingY.slice(0, 5).map((i) => frame.lines[i]).join(', ');
    throw new LmmkitError('BAD_INPUT', `${opts.data}: the response '${opts.y}' is missing on ${missingY.length} row${missingY.length > 1 ? 's' : ''} (line${missingY.length > 1 ? 's' : ''} ${where}${missingY.length > 5 ? ', ...' : ''}): remove them first`);
  }
  let cofactor: CofactorTable | undefined;
  if (opts.cofactor !== undefined) {
    const names = opts.cofactor.split(',').map((s) => s.trim()).filter((s) => s !== '');
    cofactor = { names, columns: names.map((nm) => column(frame, nm, '--cofactor')) };
  }

  // Components, in --kinship order, each with its incidence.
  const incidence = new Map(opts.incidence.map((v) => pair('--incidence', v)));
  const zFiles = new Map(opts.z.map((v) => pair('--z', v)));
  const kinships = opts.kinship.map((v) => pair('--kinship', v));
  const names = new Set(kinships.map(([nm]) => nm));
  for (const nm of [...incidence.keys(), ...zFiles.keys()]) {
    if (!names.has(nm)) throw new LmmkitError('BAD_ARGUMENT', `--incidence/--z: '${nm}' names no --kinship component (components: ${[...names].join(', ') || 'none'})`);
    if (incidence.has(nm) && zFiles.has(nm)) throw new LmmkitError('BAD_ARGUMENT', `component '${nm}' has both --incidence and --z: give one`);
  }
  const varList: { name: string; r: Matrix; ids?: readonly string[] }[] = [];
  const zList: (Matrix | undefined)[] = [];
  for (const [name, file] of kinships) {
    const kin = await readKinship(file);
    varList.push({ name, r: kin.k, ids: kin.ids.iid });
    const codeCol = incidence.get(name);
    const zFile = zFiles.get(name);
    if (codeCol !== undefined) {
      const codes = column(frame, codeCol, `--incidence ${name}`);
      const at = new Map(kin.ids.iid.map((id, j) => [id, j]));
      const z = new Matrix(frame.n, kin.k.rows);
      for (let i = 0; i < frame.n; i++) {
        const code = String(codes[i]);
        const j = at.get(code);
        if (j === undefined) throw new LmmkitError('BAD_INPUT', `${opts.data}:${frame.lines[i]}: code '${code}' of column '${codeCol}' is not an id of the kinship ${file}`);
        z.data[i + j * frame.n] = 1;
      }
      zList.push(z);
    } else if (zFile !== undefined) {
      const t = parseTable(await readText(zFile), zFile, { header: false, key: 'none' });
      zList.push(t.values);
    } else {
      if (kin.k.rows !== frame.n) {
        throw new LmmkitError('BAD_INPUT', `--kinship ${name}: ${file} is ${kin.k.rows} x ${kin.k.rows} but ${opts.data} has ${frame.n} rows: give --incidence ${name}=COLUMN or --z ${name}=FILE`);
      }
      zList.push(undefined);
    }
  }
  if (opts.error) {
    varList.push({ name: 'Error', r: Matrix.identity(frame.n) });
    zList.push(undefined);
  }
  if (varList.length === 0) throw new LmmkitError('BAD_ARGUMENT', 'no variance component: give --kinship NAME=FILE or keep the error component');

  let x: MarkerInput | undefined;
  let xNames: string[] | undefined;
  if (opts.markers !== undefined) {
    const m = await readFrame(opts.markers);
    if (m.n !== frame.n) throw new LmmkitError('BAD_INPUT', `--markers: ${opts.markers} has ${m.n} rows but ${opts.data} has ${frame.n}`);
    xNames = m.names.slice();
    const numeric = m.columns.every((c) => c instanceof Float64Array);
    if (opts.markersAs === 'numeric' && !numeric) {
      const j = m.columns.findIndex((c) => !(c instanceof Float64Array));
      throw new LmmkitError('BAD_INPUT', `--markers-as numeric: marker '${m.names[j]}' of ${opts.markers} has text values`);
    }
    if (numeric && opts.markersAs !== 'factor') {
      const mat = new Matrix(m.n, m.names.length);
      m.columns.forEach((c, j) => mat.data.set(c as Float64Array, j * m.n));
      const bad = mat.data.findIndex((v) => Number.isNaN(v));
      if (bad >= 0) throw new LmmkitError('BAD_INPUT', `${opts.markers}:${m.lines[bad % m.n]}: marker '${m.names[Math.floor(bad / m.n)]}' is missing: impute markers first`);
      x = mat;
    } else {
      // Factors keep the codes as written (R's character markers: '10', '11').
      const raw = await readFrame(opts.markers, { allText: true });
      x = raw.columns.map((c) => Array.from(c, String));
    }
  }
  const init = opts.init?.split(',').map((s, k) => parseNumber(`--init value ${k + 1}`)(s));
  const henderson = opts.henderson === 'auto' ? 'auto' : opts.henderson === 'true';
  const tty = process.stderr.isTTY === true;
  if (opts.bfile !== undefined) {
    if (x !== undefined) throw new LmmkitError('BAD_ARGUMENT', 'give --markers or --bfile, not both');
    if (opts.blup || opts.vcov !== undefined || opts.anova !== undefined || opts.contrast.length > 0) {
      throw new LmmkitError('BAD_ARGUMENT', '--bfile streams one model per variant: --blup, --vcov, --anova and --contrast apply to --markers or a single model');
    }
    if (opts.ids === undefined) throw new LmmkitError('BAD_ARGUMENT', `--bfile needs --ids COLUMN: the column of ${opts.data} naming each row's genotype sample`);
    const idCol = column(frame, opts.ids, '--ids');
    const source = await openBed(opts.bfile);
    try {
      const at = new Map(source.samples.iid.map((id, i) => [id, i]));
      const samples = Array.from({ length: frame.n }, (_, i) => {
        const id = String(idCol[i]);
        const k = at.get(id);
        if (k === undefined) throw new LmmkitError('BAD_INPUT', `${opts.data}:${frame.lines[i]}: sample '${id}' of column '${opts.ids}' is not in ${opts.bfile}.fam`);
        return k;
      });
      const models: MmEstModel[] = [];
      const names: string[] = [];
      let nullModel: MmEstModel | undefined;
      const comp = varList.map((v) => `sigma2_${v.name}`);
      await writeAtomically(opts.out, async (append) => {
        await append(['chrom', 'pos', 'id', 'a1', 'a2', 'af', 'n', 'nbit', 'converged', 'loglik', ...comp, 'beta_names', 'beta', 'se'].join('\t') + '\n');
        for await (const b of mmEstStream({
          source, samples, y: yCol, cofactor, formula: opts.formula, varList, zList, method: opts.method, henderson, init,
          critVar: opts.critVar, critLogLik: opts.critLoglik, maxIter: opts.maxIter, accelerate: opts.accelerate,
          minMaf: opts.maf, maxMissing: opts.maxMissing,
          onProgress: tty ? (pr) => process.stderr.write(`\r${progressLine(pr)}`) : undefined,
        })) {
          nullModel = b.nullModel;
          const lines = b.models.map((m, j) => [
            b.variants.chrom[j]!, String(b.variants.pos[j]), b.variants.id[j]!, b.variants.a1[j]!, b.variants.a2[j]!,
            formatNumber(b.af[j]!), String(b.n[j]), ...markerRow(m).slice(1),
          ].join('\t'));
          if (lines.length > 0) await append(lines.join('\n') + '\n');
          models.push(...b.models);
          names.push(...b.variants.id);
        }
      });
      if (tty) process.stderr.write('\n');
      const seconds = (performance.now() - t0) / 1000;
      const jsonPath = opts.out.endsWith('.tsv') ? `${opts.out.slice(0, -4)}.json` : `${opts.out}.json`;
      await writeAtomically(jsonPath, async (append) => append(JSON.stringify({
        data: opts.data, y: opts.y, bfile: opts.bfile, maf: opts.maf, maxMissing: opts.maxMissing, components: varList.map((v) => v.name),
        method: opts.method, models: models.length, backend: getBackend().name, seconds, nullModel: nullModel === undefined ? null : modelJson(nullModel),
      }, null, 2) + '\n'));
      console.log(`fitted ${models.length} variant models from ${opts.bfile} in ${seconds.toFixed(2)} s -> ${opts.out}, ${jsonPath}`);
      return { models, modelNames: names, path: 'eigen', nullModel, messages: [] };
    } finally {
      await source.close();
    }
  }
  const res = await mmEstParallel({
    y: yCol, cofactor, x, xNames, formula: opts.formula, varList, zList, method: opts.method, henderson,
    init, critVar: opts.critVar, critLogLik: opts.critLoglik, maxIter: opts.maxIter, accelerate: opts.accelerate, threads: opts.threads,
    onProgress: tty ? (done, total) => process.stderr.write(`\rfitted ${done} / ${total} marker models`) : undefined,
  });
  if (tty && x !== undefined) process.stderr.write('\n');
  const seconds = (performance.now() - t0) / 1000;
  const settings = {
    data: opts.data, y: opts.y, cofactor: opts.cofactor ?? null, formula: opts.formula ?? null, components: varList.map((v) => v.name),
    method: opts.method, henderson: opts.henderson, path: res.path, critVar: opts.critVar, critLogLik: opts.critLoglik, maxIter: opts.maxIter,
    accelerate: opts.accelerate, backend: getBackend().name, seconds,
  };
  for (const msg of res.messages) console.log(msg);
  if (x === undefined) {
    const model = res.models[0]!;
    const data = { y: yCol, cofactor, formula: opts.formula, varList, zList };
    const extra: Record<string, unknown> = {};
    if (opts.blup) {
      const blup = mmBlup(res, data);
      extra.blup = Object.fromEntries(Object.entries(blup).map(([k, v]) => [k, { names: v.names, values: Array.from(v.values) }]));
    }
    let vcovText = '';
    if (opts.vcov !== undefined) {
      const v = mmVcov(res, data, { information: opts.vcov });
      extra.vcov = { information: v.information, names: v.names, vcov: v.vcov.toArray(), se: Array.from(v.se) };
      vcovText = `\nstandard errors of the variances (${opts.vcov === 'ai' ? 'average' : 'expected'} information): ` + v.names.map((nm, k) => `${nm} ${v.se[k]!.toPrecision(4)}`).join(', ');
    }
    const anova = await runAnova(opts, res, data);
    if (anova !== undefined) extra.anova = anova.tables[0];
    await writeAtomically(opts.out, async (append) => append(JSON.stringify({ ...settings, model: modelJson(model), ...extra }, null, 2) + '\n'));
    console.log(formatModel(model, res.path, seconds) + vcovText + (anova === undefined ? '' : `\n${formatAnova(anova.tables[0]!)}`));
    for (const msg of anova?.messages ?? []) console.log(msg);
  } else {
    if (opts.blup || opts.vcov !== undefined) throw new LmmkitError('BAD_ARGUMENT', '--blup and --vcov apply to a single model: run without --markers');
    const anova = await runAnova(opts, res, { y: yCol, cofactor, formula: opts.formula, varList, zList, x });
    const anovaPath = opts.out.endsWith('.tsv') ? `${opts.out.slice(0, -4)}.anova.tsv` : `${opts.out}.anova.tsv`;
    const jsonPath = opts.out.endsWith('.tsv') ? `${opts.out.slice(0, -4)}.json` : `${opts.out}.json`;
    await writeAtomically(opts.out, async (append) => {
      const comp = varList.map((v) => `sigma2_${v.name}`);
      await append(['marker', 'nbit', 'converged', 'loglik', ...comp, 'beta_names', 'beta', 'se'].join('\t') + '\n');
      const lines = res.models.map((m, i) => [res.modelNames[i] ?? String(i + 1), ...markerRow(m).slice(1)].join('\t'));
      await append(lines.join('\n') + '\n');
    });
    await writeAtomically(jsonPath, async (append) => append(JSON.stringify({ ...settings, models: res.models.length, nullModel: res.nullModel === undefined ? null : modelJson(res.nullModel) }, null, 2) + '\n'));
    if (anova !== undefined) {
      await writeAtomically(anovaPath, async (append) => {
        await append(['marker', 'test', 'term', 'statistic', 'df', 'ddf', 'pvalue', 'log10p'].join('\t') + '\n');
        const lines = anova.tables.flatMap((t) => t.rows.map((r) => [
          res.modelNames[t.index] ?? String(t.index + 1), t.test, r.name, formatNumber(r.statistic), formatNumber(r.df),
          r.ddf === undefined ? 'NA' : formatNumber(r.ddf), formatNumber(r.pValue), formatNumber(r.log10PValue),
        ].join('\t')));
        await append(lines.join('\n') + '\n');
      });
      for (const msg of anova.messages) console.log(msg);
    }
    console.log(`fitted ${res.models.length} marker models (${res.path} path) in ${seconds.toFixed(2)} s -> ${opts.out}, ${jsonPath}${anova === undefined ? '' : `, ${anovaPath}`}`);
  }
  return res;
}

/** --anova / --contrast: AnovaTest on the fit, or undefined when neither was asked for. */
async function runAnova(opts: VarcompFitOptions, res: MmEstResult, data: AnovaData): Promise<AnovaResult | undefined> {
  if (opts.anova === undefined && opts.contrast.length === 0) return undefined;
  const contrasts: Record<string, Matrix> = {};
  for (const file of opts.contrast) {
    const t = parseTable(await readText(file), file, { header: false, key: 'none' });
    contrasts[basename(file).replace(/\.[^.]*$/, '')] = t.values;
  }
  return anovaTest(res, {
    type: opts.anova ?? 'III',
    contrasts: opts.contrast.length > 0 ? contrasts : undefined,
    data,
  });
}

/** A readable AnovaTest table. */
function formatAnova(t: AnovaTable): string {
  const w = Math.max(...t.rows.map((r) => r.name.length), 8);
  const kr = t.rows.some((r) => r.ddf !== undefined);
  const out = [`${t.test}:`, `  ${'term'.padEnd(w)}  ${'statistic'.padStart(12)}  ${'df'.padStart(4)}${kr ? `  ${'ddf'.padStart(9)}` : ''}  ${'p-value'.padStart(11)}`];
  for (const r of t.rows) {
    out.push(`  ${r.name.padEnd(w)}  ${r.statistic.toPrecision(6).padStart(12)}  ${String(r.df).padStart(4)}${kr ? `  ${(r.ddf ?? NaN).toFixed(2).padStart(9)}` : ''}  ${formatP(r.pValue, r.log10PValue).padStart(11)}${r.error === undefined ? '' : `  (${r.error})`}`);
  }
  return out.join('\n');
}

/** A p-value as text, from its log10 where the double underflows. */
function formatP(p: number, log10p: number): string {
  if (p > 0) return p.toExponential(3);
  if (!Number.isFinite(log10p)) return String(p);
  const e = Math.floor(log10p);
  return `${(10 ** (log10p - e)).toFixed(3)}e${e}`;
}

/** One model's TSV fields: a placeholder name, nbit, converged, loglik, sigma2..., beta names, beta, se. */
function markerRow(m: MmEstModel): string[] {
  const se = Array.from(m.beta, (_, k) => Math.sqrt(m.varBeta.get(k, k)));
  return [
    '', String(m.nbIt), m.converged ? 'true' : 'false', formatNumber(m.logLik),
    ...Array.from(m.sigma2, formatNumber), m.columnNames.join(';'), Array.from(m.beta, formatNumber).join(';'), se.map(formatNumber).join(';'),
  ];
}

function modelJson(m: MmEstModel): Record<string, unknown> {
  return {
    betaNames: m.columnNames,
    beta: Array.from(m.beta),
    sigma2Names: m.sigma2Names,
    sigma2: Array.from(m.sigma2),
    varBeta: m.varBeta.toArray(),
    logLikName: m.logLikName,
    logLik: m.logLik,
    logLikLme4: m.logLikLme4,
    method: m.method,
    nbIt: m.nbIt,
    converged: m.converged,
    attr: Array.from(m.attr),
    factors: m.factors,
    dropped: m.dropped,
  };
}

/** A readable summary of one fit. */
function formatModel(m: MmEstModel, path: string, seconds: number): string {
  const w = Math.max(...m.columnNames.map((s) => s.length), ...m.sigma2Names.map((s) => s.length), 8);
  const out = [`${m.method === 'reml' ? 'REML' : 'ML'} fit (${path} path): ${m.nbIt} iterations${m.converged ? '' : ' (not converged)'}, ${m.logLikName} = ${m.logLik.toFixed(4)}, ${seconds.toFixed(2)} s`];
  out.push('variance components:');
  m.sigma2Names.forEach((nm, k) => out.push(`  ${nm.padEnd(w)}  ${m.sigma2[k]!.toPrecision(6)}`));
  out.push('fixed effects:                 estimate        s.e.');
  m.columnNames.forEach((nm, k) => out.push(`  ${nm.padEnd(w)}  ${m.beta[k]!.toPrecision(6).padStart(12)}  ${Math.sqrt(m.varBeta.get(k, k)).toPrecision(4).padStart(10)}`));
  if (m.dropped.length > 0) out.push(`aliased columns dropped: ${m.dropped.join(', ')}`);
  return out.join('\n');
}
