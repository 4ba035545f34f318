// `lmmkit merge`: joins the parts of a chunked scan (chunks.ts) into the
// outputs one unsplit run writes, after checking that the parts belong
// together (same command, inputs and options, every chunk once, no gap or
// overlap, checksums intact). Nothing is written when a check fails.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { withStagedOutputs } from '../data/atomic.js';
import { InputError } from '../errors.js';
import type { PartManifest, PartTable } from './chunks.js';
import { TableOutput, type OutLine } from './gwas-outputs.js';
import { plotFiles, stagePlots } from './gwas-plots.js';
import { bad, checkOutputs } from './options.js';
import { noteHit } from './report.js';
import { type RunMetadata, runEntry } from './run-info.js';

/** Options of `runMerge`. */
export interface MergeRunOptions {
  /** Part manifests (PREFIX.part-I-of-N.manifest.json), part prefixes, or folders holding them. */
  parts: readonly string[];
  /** Output prefix of the merged outputs (as the unsplit run's --out). */
  out: string;
  log?: (line: string) => void;
  warn?: (line: string) => void;
  run?: () => RunMetadata;
}

/** What `runMerge` returns: the merged report's path and what it joined. */
export interface MergeReport {
  command: string;
  chunks: number;
  report: string;
  tables: { file: string; rows: number }[];
}

interface LoadedPart {
  path: string;
  dir: string;
  m: PartManifest;
}

/**
 * Merges the parts of a chunked `gwas` or `mtgwas` scan: checks every
 * manifest (same command, chunk count, input fingerprints and options; each
 * chunk 1..N once; spans that abut; each file's sha256) and the parts'
 * reports (equal but for their counts, top hits and paths), then writes the
 * tables in chunk order (with --gz sorted, BGZF and .tbi, as one run does),
 * the plots, and PREFIX.json with the counts and top hits recomputed from
 * the parts (full precision). The merged report differs from an unsplit
 * run's in `run` (the merge's) and `seconds` (the sum of the parts') only.
 */
export async function runMerge(opts: MergeRunOptions): Promise<MergeReport> {
  const log = opts.log ?? (() => {});
  if (opts.parts.length === 0) throw bad('merge: expected parts (manifests, part prefixes or folders), found none');
  const parts = await loadParts(opts.parts);
  const first = parts[0]!;
  const n = first.m.chunk.count;
  // Same run: command, chunk count, inputs, options.
  const same = (p: LoadedPart, what: string, a: unknown, b: unknown, of: LoadedPart = first): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      throw new InputError({ file: p.path }, `foreign part: expected the ${what} of ${of.path}, found ${describeDiff(a, b)}`);
    }
  };
  for (const p of parts.slice(1)) {
    same(p, 'command', p.m.command, first.m.command);
    same(p, 'chunk count', p.m.chunk.count, n);
    same(p, 'input files (fingerprints)', p.m.inputs, first.m.inputs);
    same(p, 'options', p.m.options, first.m.options);
    same(p, 'tables', tablesShape(p.m.tables), tablesShape(first.m.tables));
  }
  // Every chunk once.
  const byIndex = new Map<number, LoadedPart>();
  for (const p of parts) {
    const dup = byIndex.get(p.m.chunk.index);
    if (dup !== undefined) throw bad(`merge: chunk ${p.m.chunk.index}/${n} given twice: ${dup.path} and ${p.path}`);
    byIndex.set(p.m.chunk.index, p);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw bad(
      `merge: expected chunks 1..${n} of ${first.path}'s run, found ${missing.length} missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''}`,
    );
  }
  const ordered = Array.from({ length: n }, (_, i) => byIndex.get(i + 1)!);
  // Spans that tile the selection: no gap, no overlap.
  for (const s0 of first.m.spans) {
    let at = 0;
    for (const p of ordered) {
      const s = p.m.spans.find((x) => x.key === s0.key);
      if (s === undefined || s.total !== s0.total)
        throw new InputError(
          { file: p.path },
          `foreign part: expected a span of ${s0.total} variants for '${s0.key}', found ${s === undefined ? 'none' : s.total}`,
        );
      if (s.span[0] !== at) {
        throw new InputError(
          { file: p.path },
          `chunk ${p.m.chunk.index}/${n} of '${s0.key}': expected variants from ordinal ${at}, found [${s.span[0]}, ${s.span[1]}) (${s.span[0] < at ? 'an overlap with' : 'a gap after'} the chunk before)`,
        );
      }
      at = s.span[1];
    }
    if (at !== s0.total) throw new InputError({ file: ordered[n - 1]!.path }, `the chunks of '${s0.key}': expected to cover ${s0.total} variants, found ${at}`);
  }
  // Checksums: a part changed after it was written is refused.
  for (const p of ordered) {
    for (const f of p.m.files) {
      const path = join(p.dir, f.name);
      let buf: Buffer;
      try {
        buf = await readFile(path);
      } catch (e) {
        throw new InputError({ file: p.path }, `expected the part file ${path}, found none (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      const sha = createHash('sha256').update(buf).digest('hex');
      if (sha !== f.sha256 || buf.length !== f.bytes) {
        throw new InputError(
          { file: path },
          `corrupted part: expected sha256 ${f.sha256} (${f.bytes} bytes) as ${p.path} records, found ${sha} (${buf.length} bytes)`,
        );
      }
    }
  }
  // The parts' reports: the same but for what each chunk counted.
  const reports = await Promise.all(ordered.map(async (p) => JSON.parse(await readFile(join(p.dir, p.m.report), 'utf8')) as Record<string, unknown>));
  const varcomp = first.m.command === 'varcomp';
  const counted = varcomp ? ['models'] : [];
  // A varcomp chunk with no variant of its own fitted nothing, not even the cofactor-only model its report shows: null there.
  const unfitted = (r: Record<string, unknown>): boolean => varcomp && r.models === 0 && r.nullModel === null;
  const at = Math.max(
    0,
    reports.findIndex((r) => !unfitted(r)),
  );
  for (let i = 0; i < n; i++) {
    if (i === at) continue;
    const skip = unfitted(reports[i]!) ? [...counted, 'nullModel'] : counted;
    same(ordered[i]!, 'report (samples, null model, options)', stripCounts(reports[i]!, skip), stripCounts(reports[at]!, skip), ordered[at]!);
  }

  const tables = first.m.tables;
  const finals = tables.map((t) => `${opts.out}${t.suffix}`);
  const plots = first.m.plot ? finals.map((f, k) => (k === tables.findIndex((t) => t.trait === tables[k]!.trait) ? plotFiles(f, true) : undefined)) : [];
  const jsonPath = `${opts.out}.json`;
  await checkOutputs(
    [
      ...tables.flatMap((t, k) => [
        finals[k]!,
        ...(t.index === true ? [`${finals[k]!}.tbi`] : []),
        ...(t.meta === undefined ? [] : [`${finals[k]!}-meta.yaml`]),
      ]),
      ...plots.flatMap((p) => (p === undefined ? [] : [...p.manhattan, ...p.qq])),
      jsonPath,
    ],
    ordered.flatMap((p) => [p.path, ...p.m.files.map((f) => join(p.dir, f.name))]),
  );

  return withStagedOutputs(async (outputs) => {
    const written: { file: string; rows: number; sorted: boolean; md5: string; tmp: string }[] = [];
    for (let k = 0; k < tables.length; k++) {
      const t = tables[k]!;
      let out: TableOutput | undefined;
      for (const p of ordered) {
        const pt = p.m.tables[k]!;
        const text = await readFile(join(p.dir, pt.file), 'utf8');
        const nl = text.indexOf('\n');
        const header = text.slice(0, nl);
        out ??= await TableOutput.open(outputs, finals[k]!, header, first.m.gz, t.index === true);
        const rows = text.slice(nl + 1).split('\n');
        rows.pop();
        const keys = pt.keys === undefined ? undefined : (await readFile(join(p.dir, pt.keys), 'utf8')).split('\n');
        const lines: OutLine[] = rows.map((line, i) => {
          const [chrom, pos] = keys === undefined ? ['', '0'] : keys[i]!.split('\t');
          return { chrom: chrom!, pos: Number(pos), line };
        });
        await out.add(lines);
      }
      const md5 = await out!.close();
      written.push({ file: finals[k]!, rows: out!.rows, sorted: out!.sorted, md5, tmp: out!.file.tmp });
      if (t.meta !== undefined) {
        const yaml = (await readFile(join(first.dir, first.m.tables[k]!.meta!), 'utf8'))
          .replace(/^data_file_name: .*$/m, `data_file_name: ${JSON.stringify(basename(finals[k]!))}`)
          .replace(/^data_file_md5sum: .*$/m, `data_file_md5sum: ${md5}`)
          .replace(/^is_sorted: .*$/m, `is_sorted: ${out!.sorted}`);
        await outputs.whole(`${finals[k]!}-meta.yaml`, yaml);
      }
    }
    const merged =
      first.m.command === 'gwas'
        ? await mergeGwasReport(reports, tables, written, plots, outputs, opts)
        : first.m.command === 'varcomp'
          ? mergeVarcompReport(reports, at)
          : mergeMtgwasReport(reports, written);
    const withRun = placeRun(merged, opts.run);
    await outputs.whole(jsonPath, `${JSON.stringify(withRun, null, 2)}\n`);
    await outputs.commit();
    log(`merged ${n} parts -> ${written.map((w) => w.file).join(', ')}; report -> ${jsonPath}`);
    return { command: first.m.command, chunks: n, report: jsonPath, tables: written.map((w) => ({ file: w.file, rows: w.rows })) };
  });
}

/** The manifests named by `args` (a manifest, a part prefix, or a folder of parts), read and checked for their shape. */
async function loadParts(args: readonly string[]): Promise<LoadedPart[]> {
  const paths: string[] = [];
  for (const a of args) {
    const st = await stat(a).catch(() => undefined);
    if (st?.isDirectory() === true) {
      const found = (await readdir(a)).filter((f) => f.endsWith('.manifest.json')).sort();
      if (found.length === 0) throw bad(`merge: expected part manifests (*.manifest.json) in folder ${a}, found none`);
      paths.push(...found.map((f) => join(a, f)));
    } else if (st !== undefined) paths.push(a);
    else {
      const m = `${a}.manifest.json`;
      if ((await stat(m).catch(() => undefined)) === undefined)
        throw bad(`merge: expected a part manifest, part prefix or folder, found no file ${a} (nor ${m})`);
      paths.push(m);
    }
  }
  const parts: LoadedPart[] = [];
  for (const path of paths) {
    let m: PartManifest;
    try {
      m = JSON.parse(await readFile(path, 'utf8')) as PartManifest;
    } catch (e) {
      throw new InputError({ file: path }, `expected a part manifest (JSON), found unreadable text (${(e as Error).message})`);
    }
    if (
      m === null ||
      typeof m !== 'object' ||
      m.lmmkitPart !== 1 ||
      !Array.isArray(m.files) ||
      !Array.isArray(m.tables) ||
      typeof m.chunk?.index !== 'number'
    ) {
      throw new InputError({ file: path }, 'expected a part manifest of lmmkit gwas/mtgwas/varcomp fit --chunk (lmmkitPart 1), found another JSON document');
    }
    for (const f of [m.report, ...m.files.map((x) => x.name), ...m.tables.flatMap((t) => [t.file, t.keys, t.meta])]) {
      // Names only: a manifest cannot point outside its folder.
      if (f !== undefined && (typeof f !== 'string' || f !== basename(f) || f === '..' || f === '.')) {
        throw new InputError({ file: path }, `expected file names in the part's folder, found '${String(f)}'`);
      }
    }
    parts.push({ path, dir: dirname(path), m });
  }
  return parts;
}

function tablesShape(ts: readonly PartTable[]): unknown {
  return ts.map((t) => [t.trait, t.format, t.suffix, t.index === true, t.meta !== undefined]);
}

/** A short view of a value that differs (JSON, cut at 200 characters). */
function describeDiff(found: unknown, expected: unknown): string {
  const cut = (v: unknown): string => {
    const s = JSON.stringify(v) ?? 'undefined';
    return s.length > 200 ? `${s.slice(0, 200)}...` : s;
  };
  if (found !== null && expected !== null && typeof found === 'object' && typeof expected === 'object' && !Array.isArray(found)) {
    const keys = new Set([...Object.keys(found), ...Object.keys(expected)]);
    for (const k of keys) {
      const a = (found as Record<string, unknown>)[k];
      const b = (expected as Record<string, unknown>)[k];
      if (JSON.stringify(a) !== JSON.stringify(b)) return `${k} = ${cut(a)} where it is ${cut(b)}`;
    }
  }
  return cut(found);
}

/** A part's report without what differs between the chunks of one run (and the command's own `counted` keys). */
function stripCounts(r: Record<string, unknown>, counted: readonly string[]): unknown {
  return JSON.parse(JSON.stringify(r), (k, v) =>
    ['run', 'seconds', 'output', 'outputs', 'top', 'plots', 'lambdaGc', ...counted].includes(k)
      ? undefined
      : k === 'variants' && v !== null && typeof v === 'object'
        ? { selected: (v as { selected: unknown }).selected }
        : v,
  );
}

interface Written {
  file: string;
  rows: number;
  sorted: boolean;
  tmp: string;
}

/** Sets `key` of `o` to `value` right after `after` (key order is the JSON's byte order). */
function insertAfter(o: Record<string, unknown>, after: string, entries: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k in entries) continue;
    out[k] = v;
    if (k === after) Object.assign(out, entries);
  }
  return out;
}

async function mergeGwasReport(
  reports: Record<string, unknown>[],
  tables: readonly PartTable[],
  written: readonly Written[],
  plots: readonly ({ manhattan: string[]; qq: string[] } | undefined)[],
  outputs: Parameters<typeof stagePlots>[3],
  opts: MergeRunOptions,
): Promise<Record<string, unknown>> {
  type Trait = Record<string, unknown> & {
    trait: string;
    samples: number;
    variants: { selected: number; tested: number; filtered: number; tests: number; untestable: number };
    top: { log10p: number }[];
    seconds: number;
  };
  const base = structuredClone(reports[0]!) as Record<string, unknown> & { traits: Trait[]; seconds: number };
  base.seconds = reports.reduce((a, r) => a + (r.seconds as number), 0);
  base.traits = [];
  for (const [ti, t0] of (reports[0]!.traits as Trait[]).entries()) {
    const all = reports.map((r) => (r.traits as Trait[])[ti]!);
    const v = { selected: t0.variants.selected, tested: 0, filtered: 0, tests: 0, untestable: 0 };
    const top: { log10p: number }[] = [];
    for (const t of all) {
      v.tested += t.variants.tested;
      v.tests += t.variants.tests;
      v.untestable += t.variants.untestable;
      // Chunk order is scan order: ties keep the unsplit run's order.
      for (const h of t.top) noteHit(top, h);
    }
    v.filtered = v.selected - v.tested;
    const ks = tables.flatMap((t, k) => (t.trait === t0.trait ? [k] : []));
    let trait: Record<string, unknown> = {
      ...structuredClone(t0),
      output: written[ks[0]!]!.file,
      variants: v,
      top,
      seconds: all.reduce((a, t) => a + t.seconds, 0),
    };
    if (t0.outputs !== undefined) {
      trait.outputs = ks.map((k) => ({
        format: tables[k]!.format,
        file: written[k]!.file,
        rows: written[k]!.rows,
        sorted: written[k]!.sorted,
        ...(tables[k]!.index === true ? { index: `${written[k]!.file}.tbi` } : {}),
        ...(tables[k]!.meta === undefined ? {} : { meta: `${written[k]!.file}-meta.yaml` }),
      }));
    }
    const p = plots[ks[0]!];
    if (p !== undefined) {
      const drawn = await stagePlots(written[ks[0]!]!.tmp, p, `${t0.trait}: ${v.tests} tests, ${t0.samples} samples`, outputs, opts.warn);
      trait = insertAfter(trait, 'top', { plots: drawn.files, lambdaGc: drawn.lambda });
    }
    base.traits.push(trait as Trait);
  }
  return base;
}

function mergeMtgwasReport(reports: Record<string, unknown>[], written: readonly Written[]): Record<string, unknown> {
  type Mt = {
    variants: { selected: number; tested: number; filtered: number; untestable: Record<string, number> };
    top: Record<string, { log10p: number }[]>;
    seconds: number;
  };
  const base = structuredClone(reports[0]!) as Record<string, unknown> & Mt;
  const all = reports as unknown as Mt[];
  const untestable: Record<string, number> = Object.create(null);
  const top: Record<string, { log10p: number }[]> = {};
  let tested = 0;
  for (const r of all) {
    tested += r.variants.tested;
    for (const [k, u] of Object.entries(r.variants.untestable)) untestable[k] = (untestable[k] ?? 0) + u;
  }
  for (const k of Object.keys(base.top)) {
    const hits: { log10p: number }[] = [];
    for (const r of all) for (const h of r.top[k] ?? []) noteHit(hits, h);
    top[k] = hits;
  }
  base.output = written[0]!.file;
  base.variants = { selected: base.variants.selected, tested, filtered: base.variants.selected - tested, untestable: { ...untestable } };
  base.top = top;
  base.seconds = all.reduce((a, r) => a + r.seconds, 0);
  return base;
}

/**
 * varcomp's GWAS-mode report: the parts' model counts and seconds summed,
 * the rest (settings, cofactor-only fit) the same in every part that fitted
 * a model; `at` is the first of those (an empty chunk fits none).
 */
function mergeVarcompReport(reports: Record<string, unknown>[], at: number): Record<string, unknown> {
  const base = structuredClone(reports[at]!);
  base.models = reports.reduce((a, r) => a + (r.models as number), 0);
  base.seconds = reports.reduce((a, r) => a + (r.seconds as number), 0);
  return base;
}

/** The merged report's `run`: the merge's own (after `command`, where one run puts it), or none. */
function placeRun(r: Record<string, unknown>, run: (() => RunMetadata) | undefined): Record<string, unknown> {
  const { run: _, ...rest } = r;
  const entry = runEntry(run);
  return entry.run === undefined ? rest : insertAfter(rest, 'command', { run: entry.run });
}
