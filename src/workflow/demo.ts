// `lmmkit demo` as one call: a seeded structured data set simulated with
// lmmkit's own simulator, scanned as `lmmkit gwas` scans it, and the scan
// compared with the truth, with its plots.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { writeBed } from '../data/plink/write-bed.js';
import { writeTsv } from '../data/write-tsv.js';
import type { ManhattanChromosome } from '../plot/manhattan.js';
import { readAssocFile } from '../plot/node.js';
import { type SimulatedGwas, type SimulateGwasOptions, simulateGwas } from '../sim/gwas.js';
import { CAUSAL, GENOME_WIDE, H2_CAUSAL, H2_POPULATION } from './demo-model.js';
import { runGwas } from './gwas.js';
import type { GwasReport, NullModelReport } from './gwas-report.js';
import type { ProgressFactory, WorkflowOutput } from './options.js';
import { writeResultPlots } from './plot.js';

/** Options of `runDemo`. */
export interface DemoOptions {
  /** Output folder (created when absent). */
  out: string;
  samples: number;
  variants: number;
  seed: number;
  /** Progress of each pass over the genotypes (default none). */
  progress?: ProgressFactory;
  /** Warnings that do not stop the run, such as a missing font for the PNG text (default silent). */
  warn?: (line: string) => void;
  /** The run's metadata for results.json's `run` block (see `WorkflowOutput.run`). */
  run?: WorkflowOutput['run'];
}

/** The truth about one causal variant and how the scan ranked it. */
export interface CausalOutcome {
  id: string;
  chrom: string;
  pos: number;
  /** Simulated effect per standardised dosage. */
  effect: number;
  /** -log10 p of its test, NaN when the filters removed it. */
  minusLog10p: number;
  /** 1 = the best test of the scan; 0 when not tested. */
  rank: number;
}

/** What `runDemo` did. */
export interface DemoResult {
  dir: string;
  files: string[];
  report: GwasReport;
  causal: CausalOutcome[];
  /** The 5 best tests. */
  top: { id: string; chrom: string; pos: number; beta: number; minusLog10p: number; causal: boolean }[];
  /** The command line that reruns the scan (writing results.trait.tsv). */
  command: string;
  /** The plots: DIR/manhattan.png/.svg (causal variants ringed) and DIR/qq.png/.svg, and lambda_GC. */
  plots: { files: string[]; lambdaGc: number; commands: string[] };
  seconds: number;
}

export { CAUSAL, GENOME_WIDE, H2_CAUSAL, H2_POPULATION } from './demo-model.js';

/**
 * `lmmkit demo`: simulates a seeded structured data set with lmmkit's own
 * simulator (Balding-Nichols populations, causal variants), writes it as
 * DIR/demo.bed/.bim/.fam, DIR/pheno.tsv and DIR/causal.tsv (the truth), and
 * runs `runGwas` on it (the code of `lmmkit gwas`, with
 * --kinship-from-bfile and the fixed test), writing DIR/results.tsv and
 * DIR/results.json.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const { out: dir, samples, variants, seed } = opts;
  if (!Number.isInteger(samples) || samples < 20) throw new ArgumentError(`--samples: expected an integer >= 20, found ${samples}`);
  if (!Number.isInteger(variants) || variants < CAUSAL) throw new ArgumentError(`--variants: expected an integer >= ${CAUSAL}, found ${variants}`);
  if (!Number.isInteger(seed)) throw new ArgumentError(`--seed: expected an integer, found ${seed}`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new ArgumentError(`--out ${dir}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const prefix = join(dir, 'demo');
  const pheno = join(dir, 'pheno.tsv');
  const sim = await writeSimulation(prefix, pheno, { samples, variants, seed, causal: CAUSAL, h2Causal: H2_CAUSAL, h2Population: H2_POPULATION });
  const truth = join(dir, 'causal.tsv');
  await writeTsv(truth, [
    { name: 'id', values: sim.causal.map((c) => sim.variants.id[c.index]!) },
    { name: 'chrom', values: sim.causal.map((c) => sim.variants.chrom[c.index]!) },
    { name: 'pos', values: sim.causal.map((c) => sim.variants.pos[c.index]!) },
    { name: 'effect', values: sim.causal.map((c) => c.effect) },
  ]);

  const results = join(dir, 'results');
  const tsv = `${results}.tsv`;
  const json = `${results}.json`;
  const report = await runGwas({
    bfile: prefix,
    pheno,
    kinshipFromGenotypes: true,
    test: 'fixed',
    out: results,
    tsvPath: () => tsv,
    jsonPath: json,
    progress: opts.progress,
    run: opts.run,
    log: () => {},
  });

  // The truth against the scan: read back the results the user sees.
  const rows = (await readFile(tsv, 'utf8')).trimEnd().split('\n');
  const header = rows[0]!.split('\t');
  const col = (name: string): number => header.indexOf(name);
  const [iId, iChrom, iPos, iBeta, iLog] = ['id', 'chrom', 'pos', 'beta', 'log10p'].map(col) as [number, number, number, number, number];
  const tests = rows
    .slice(1)
    .map((l) => l.split('\t'))
    .map((f) => ({
      id: f[iId]!,
      chrom: f[iChrom]!,
      pos: Number(f[iPos]),
      beta: Number(f[iBeta]),
      minusLog10p: -Number(f[iLog]),
    }));
  const ranked = tests.filter((t) => !Number.isNaN(t.minusLog10p)).sort((a, b) => b.minusLog10p - a.minusLog10p);
  const rankOf = new Map(ranked.map((t, i) => [t.id, i + 1]));
  const causalIds = new Set(sim.causal.map((c) => sim.variants.id[c.index]!));
  const causal = sim.causal.map((c) => {
    const id = sim.variants.id[c.index]!;
    const rank = rankOf.get(id) ?? 0;
    return {
      id,
      chrom: sim.variants.chrom[c.index]!,
      pos: sim.variants.pos[c.index]!,
      effect: c.effect,
      minusLog10p: rank > 0 ? ranked[rank - 1]!.minusLog10p : Number.NaN,
      rank,
    };
  });
  const top = ranked.slice(0, 5).map((t) => ({ ...t, causal: causalIds.has(t.id) }));

  // Plots of the results the user sees, the causal variants ringed.
  const plotFiles = { manhattan: [join(dir, 'manhattan.png'), join(dir, 'manhattan.svg')], qq: [join(dir, 'qq.png'), join(dir, 'qq.svg')] };
  const table = await readAssocFile(tsv, { keepIdsBelow: Infinity });
  const { qq } = await writeResultPlots({
    table,
    manhattan: plotFiles.manhattan,
    qq: plotFiles.qq,
    manhattanOptions: {
      title: `lmmkit demo: ${samples} samples, ${variants} variants, ${CAUSAL} causal (ringed)`,
      callback: ringCausal(causalIds),
    },
    qqOptions: { title: `lmmkit demo: QQ plot of ${ranked.length} tests` },
    warn: opts.warn,
  });
  return {
    dir,
    files: [`${prefix}.bed`, `${prefix}.bim`, `${prefix}.fam`, pheno, truth, tsv, json, ...plotFiles.manhattan, ...plotFiles.qq],
    plots: {
      files: [...plotFiles.manhattan, ...plotFiles.qq],
      lambdaGc: qq.lambdas[0]!,
      commands: [
        `lmmkit plot manhattan --in ${tsv} --out ${join(dir, 'manhattan.png')} ${join(dir, 'manhattan.svg')}`,
        `lmmkit plot qq --in ${tsv} --out ${join(dir, 'qq.png')} ${join(dir, 'qq.svg')}`,
      ],
    },
    report,
    causal,
    top,
    command: `lmmkit gwas --bfile ${prefix} --pheno ${pheno} --kinship-from-bfile --out ${results}`,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A Manhattan callback drawing a ring around each causal variant, and its legend. */
function ringCausal(ids: ReadonlySet<string>): (ch: ManhattanChromosome) => string {
  return (ch) => {
    const out: string[] = [];
    for (const i of ch.rows()) {
      const id = ch.data.id(i);
      const v = ch.data.minusLog10p[i]!;
      if (id !== undefined && ids.has(id) && !Number.isNaN(v)) {
        out.push(`<circle cx="${ch.x(ch.data.pos[i]!).toFixed(1)}" cy="${ch.y(v).toFixed(1)}" r="6" fill="none" stroke="#e6550d" stroke-width="1.6"/>`);
      }
    }
    if (ch.index === 0) {
      // The legend, at the right end of the x-axis title's line.
      const x = ch.area.right - 180;
      const y = ch.height - 12;
      out.push(
        `<circle cx="${x}" cy="${y - 4}" r="6" fill="none" stroke="#e6550d" stroke-width="1.6"/>`,
        `<text x="${x + 12}" y="${y}" font-size="12" fill="#222">causal variant (simulated)</text>`,
      );
    }
    return out.join('\n');
  };
}

/** The demo's summary, as printed. */
export function formatDemo(d: DemoResult, opts: { samples: number; variants: number; seed: number }): string {
  const trait = d.report.traits[0]!;
  const g = (x: number, digits = 3): string => (Number.isNaN(x) ? 'NA' : x.toFixed(digits));
  const threshold = -Math.log10(GENOME_WIDE);
  const found = d.causal.filter((c) => c.minusLog10p >= threshold);
  const inTop = d.causal.filter((c) => c.rank >= 1 && c.rank <= 10);
  const lines = [
    `lmmkit demo: ${opts.samples} samples in 3 populations, ${opts.variants} variants, ${d.causal.length} causal (seed ${opts.seed})`,
    `wrote ${d.files.map((f) => f.slice(d.dir.length).replace(/^\//, '')).join(', ')} in ${d.dir}`,
    `null model: ${nullLine(trait.nullModel)}`,
    `tested ${trait.variants.tested} of ${trait.variants.selected} variants (${trait.variants.filtered} below --maf ${d.report.options.maf} or above --max-missing ${d.report.options.maxMissing}) on ${trait.samples} samples`,
    'top 5:',
    table(
      ['rank', 'id', 'chrom', 'pos', 'beta/allele', '-log10p', 'causal'],
      d.top.map((t, i) => [String(i + 1), t.id, t.chrom, String(t.pos), t.beta.toPrecision(4), g(t.minusLog10p, 2), t.causal ? 'yes' : '']),
    ),
    `causal variants: ${found.length} of ${d.causal.length} reach p < ${GENOME_WIDE}, ${inTop.length} are in the top 10`,
    table(
      ['id', 'chrom', 'pos', 'effect/sd', '-log10p', 'rank'],
      d.causal.map((c) => [c.id, c.chrom, String(c.pos), c.effect.toPrecision(3), g(c.minusLog10p, 2), c.rank > 0 ? String(c.rank) : 'filtered']),
    ),
    `plots: manhattan.png/.svg (causal variants ringed), qq.png/.svg (lambda_GC ${d.plots.lambdaGc.toFixed(3)}); from the command line (without the rings):`,
    ...d.plots.commands.map((c) => `  ${c}`),
    `the same scan: ${d.command} (writes results.trait.tsv; add --plot for its plots)`,
    `done in ${d.seconds.toFixed(1)} s (backend ${d.report.backend})`,
  ];
  return lines.join('\n');
}

/** The null model in the demo's summary. */
function nullLine(m: NullModelReport): string {
  const p = (x: number): string => x.toPrecision(4);
  if (m.model === 'kinship') {
    return `kinship REML, sigmaG2 ${p(m.sigmaG2)}, sigmaE2 ${p(m.sigmaE2)} (lambda ${p(m.lambda)}, h2 ${p(m.h2)}), log-likelihood ${p(m.logLik)}`;
  }
  return JSON.stringify(m);
}

/** Rows as left-aligned columns, indented by two spaces. */
function table(header: string[], rows: string[][]): string {
  const width = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  return [header, ...rows]
    .map(
      (r) =>
        `  ${r
          .map((c, j) => c.padEnd(width[j]!))
          .join('  ')
          .trimEnd()}`,
    )
    .join('\n');
}

/**
 * Simulates the data set, writes its PLINK fileset PREFIX.bed/.bim/.fam and
 * its phenotype table, and returns the truth without the N x S dosages, so
 * that they are garbage before the scan (at N = 10 000, S = 30 000 they are
 * 2.4 GB, three N x N matrices).
 */
async function writeSimulation(prefix: string, pheno: string, opts: SimulateGwasOptions): Promise<Omit<SimulatedGwas, 'dosages'>> {
  const { dosages, ...sim } = simulateGwas(opts);
  await writeBed(prefix, dosages, sim.samples, sim.variants);
  await writeTsv(pheno, [
    { name: 'FID', values: sim.samples.fid },
    { name: 'IID', values: sim.samples.iid },
    { name: 'trait', values: sim.phenotype },
  ]);
  return sim;
}
