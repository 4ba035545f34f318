// `lmmkit plot regional` as a call: the rows of one region read from an
// association file, the r^2 of each with the lead variant computed from the
// genotype file when one is given, the plot written as .svg/.png.
import { withStagedOutputs } from '../data/atomic.js';
import type { GenotypeSource } from '../data/genotypes.js';
import { parseRegion } from '../data/region.js';
import { resolveSelection } from '../data/variants.js';
import type { AssocTable } from '../plot/data.js';
import { formatMinusLog10p } from '../plot/manhattan.js';
import { plotBytes, plotFormat, readAssocFile } from '../plot/node.js';
import { dosageR2, R2_BINS, regionalPlot, type RegionalResult } from '../plot/regional.js';
import { type GenotypeInput, genotypeFiles, openGenotypes } from './inputs.js';
import { bad, checkGenotypeOptions, refuseOverwritingInputs } from './options.js';
import { describePlotInput, missingFontWarning, plotInputReport, type PlotInputReport, type PlotRunOptions } from './plot.js';

/** Options of `runRegionalPlot` (`lmmkit plot regional`). */
export interface RegionalRunOptions extends PlotRunOptions, GenotypeInput {
  /** CHR:START-END, START inclusive, END exclusive (as --region elsewhere). */
  region: string;
  /** The lead variant's id (default: the smallest p-value in the region). */
  lead?: string;
  /** Significance line (default 5e-8), null for none. */
  threshold?: number | null;
}

/** The report of `runRegionalPlot`: what was read, the lead, the r^2 found. */
export interface RegionalRunReport {
  input: PlotInputReport;
  region: { chrom: string; start: number; end: number };
  lead: { id: string; chrom: string; pos: number; pvalue: string };
  /** Tested variants of the region drawn. */
  variants: number;
  /** r^2 with the lead: the genotype file, samples used, variants matched (by id, else chrom:pos) and not. */
  r2?: { genotypes: string; samples: number; matched: number; unmatched: number; leadFound: boolean };
  /** Points per r^2 bin ('0.8-1' ...) and without r^2 ('none'). */
  bins: Record<string, number>;
  outputs: string[];
}

/** Whether any genotype file option is given. */
function hasGenotypes(o: GenotypeInput): boolean {
  return [o.bfile, o.bimbam, o.pfile, o.vcf, o.bgen].some((f) => f !== undefined);
}

/**
 * For each table row, the genotype file's variant (index into the file)
 * it is: the variant of the region with the same id, else the only one at
 * the same position; -1 when none.
 */
function matchVariants(table: AssocTable, source: GenotypeSource, region: { chrom: string; start: number; end: number }): Int32Array {
  const inRegion = resolveSelection(source.variants, { region }, source.path);
  const byId = new Map<string, number>();
  const byPos = new Map<number, number>();
  for (const j of inRegion) {
    byId.set(source.variants.id[j]!, j);
    const p = source.variants.pos[j]!;
    byPos.set(p, byPos.has(p) ? -1 : j);
  }
  const out = new Int32Array(table.rows).fill(-1);
  for (let i = 0; i < table.rows; i++) {
    const id = table.id.get(i);
    out[i] = (id === undefined ? undefined : byId.get(id)) ?? byPos.get(table.pos[i]!) ?? -1;
  }
  return out;
}

/**
 * r^2 of each row with the lead row from the genotype file, in two passes
 * (the lead's dosages, then the others streamed in batches), so that memory
 * stays O(samples x batch) however many variants the region holds.
 */
async function r2WithLead(source: GenotypeSource, match: Int32Array, leadRow: number): Promise<Float64Array> {
  const r2 = new Float64Array(match.length).fill(Number.NaN);
  const leadIndex = match[leadRow]!;
  if (leadIndex < 0) return r2;
  let lead: Float64Array | undefined;
  for await (const b of source.batches({ select: { indices: [leadIndex] } })) lead = Float64Array.from(b.dosages.col(0));
  const rowsOf = new Map<number, number[]>();
  for (let i = 0; i < match.length; i++) {
    const j = match[i]!;
    if (j < 0) continue;
    const list = rowsOf.get(j);
    if (list === undefined) rowsOf.set(j, [i]);
    else list.push(i);
  }
  const indices = Int32Array.from([...rowsOf.keys()].sort((a, b) => a - b));
  for await (const b of source.batches({ select: { indices }, size: 256 })) {
    for (let k = 0; k < b.indices.length; k++) {
      const v = dosageR2(lead!, b.dosages.col(k));
      for (const i of rowsOf.get(b.indices[k]!) ?? []) r2[i] = v;
    }
  }
  return r2;
}

/**
 * Draws the regional plot of one association file over --region, points
 * coloured by r^2 with the lead computed from the genotype file when one is
 * given (grey without), and writes it to every --out file (.svg or .png),
 * all or none; logs what was read and one summary line.
 */
export async function runRegionalPlot(opts: RegionalRunOptions): Promise<RegionalRunReport> {
  if (opts.in === undefined || opts.in.length !== 1) throw bad('plot regional: expected one --in file (association results)');
  const outs = opts.out ?? [];
  if (outs.length === 0) throw bad('plot: --out FILE is required (.svg or .png; several allowed)');
  for (const o of outs) plotFormat(o);
  const dup = outs.find((o, i) => outs.indexOf(o) !== i);
  if (dup !== undefined) throw bad(`--out: ${dup} is given twice`);
  if (opts.region === undefined) throw bad('plot regional: --region CHR:START-END is required');
  const region = parseRegion(opts.region);
  const withGenotypes = hasGenotypes(opts);
  if (withGenotypes) checkGenotypeOptions('plot regional', opts);
  const t0 = performance.now();
  const file = opts.in[0]!;
  const table = await readAssocFile(file, { column: opts.column, keepIdsBelow: Infinity, region });
  const input = plotInputReport(table);
  opts.log?.(`read ${describePlotInput(input)} in ${region.chrom}:${region.start}-${region.end}`);
  if (table.rows === 0) throw bad(`--region ${opts.region}: no variant of ${file} lies in ${region.chrom}:${region.start}-${region.end} (END is exclusive)`);
  let leadRow: number | undefined;
  if (opts.lead !== undefined) {
    for (const [i, id] of table.id) if (id === opts.lead) leadRow = i;
    if (leadRow === undefined) throw bad(`--lead ${opts.lead}: no variant of ${file} in --region ${opts.region} has this id`);
    if (Number.isNaN(table.log10p[leadRow]!)) throw bad(`--lead ${opts.lead}: ${file} has no p-value for it`);
  }
  const draw = (r2?: Float64Array): RegionalResult =>
    regionalPlot(table, {
      region,
      lead: leadRow,
      r2,
      title: opts.title ?? `${file.replace(/^.*\//, '')}: ${region.chrom}:${region.start}-${region.end}`,
      width: opts.width,
      height: opts.height,
      pvThr: opts.threshold === undefined ? 5e-8 : opts.threshold,
      pointRadius: opts.pointRadius,
    });
  // The lead first (it picks the variant whose r^2 are computed).
  let plot = draw();
  let r2Report: RegionalRunReport['r2'];
  if (withGenotypes) {
    const source = await openGenotypes(opts);
    try {
      const match = matchVariants(table, source, region);
      const r2 = await r2WithLead(source, match, plot.lead.row);
      let matched = 0;
      let unmatched = 0;
      for (let i = 0; i < table.rows; i++) {
        if (Number.isNaN(table.log10p[i]!)) continue;
        if (match[i]! >= 0) matched++;
        else unmatched++;
      }
      const leadFound = match[plot.lead.row]! >= 0;
      r2Report = { genotypes: source.path, samples: source.samples.iid.length, matched, unmatched, leadFound };
      if (!leadFound) opts.warn?.(`plot regional: the lead ${plot.lead.id} is not in ${source.path} (by id or position): no r^2, points grey`);
      else if (unmatched > 0) opts.warn?.(`plot regional: ${unmatched} variants of the region are not in ${source.path} (by id or position): drawn grey`);
      plot = draw(r2);
    } finally {
      await source.close();
    }
  }
  await refuseOverwritingInputs(outs, [file, ...(withGenotypes ? genotypeFiles(opts) : [])]);
  const png = { scale: opts.scale ?? 2, fontFiles: opts.font === undefined ? undefined : [...opts.font] };
  const w = missingFontWarning(outs, png.fontFiles);
  if (w !== undefined) opts.warn?.(w);
  await withStagedOutputs(async (outputs) => {
    for (const o of outs) await outputs.whole(o, await plotBytes(o, plot.svg, png));
  });
  const bins: Record<string, number> = Object.create(null);
  R2_BINS.forEach(([lo], k) => {
    bins[`${lo}-${k + 1 < R2_BINS.length ? R2_BINS[k + 1]![0] : 1}`] = plot.bins[k]!;
  });
  bins.none = plot.bins[R2_BINS.length]!;
  const lead = { id: plot.lead.id, chrom: plot.lead.chrom, pos: plot.lead.pos, pvalue: formatMinusLog10p(plot.lead.minusLog10p) };
  opts.log?.(
    `regional: ${plot.points.drawn} variants, lead ${lead.id} (${lead.chrom}:${lead.pos}, p=${lead.pvalue}), ` +
      `${r2Report === undefined ? 'no genotypes: no r^2' : `r^2 from ${r2Report.samples} samples of ${r2Report.genotypes} for ${plot.points.withR2}`}` +
      ` in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${outs.join(', ')}`,
  );
  return { input, region, lead, variants: plot.points.drawn, ...(r2Report === undefined ? {} : { r2: r2Report }), bins: { ...bins }, outputs: [...outs] };
}
