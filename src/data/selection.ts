// Sample and variant selection the PLINK way: --keep/--remove sample lists,
// --extract/--exclude variant id lists, --chr lists and ranges, --from-bp and
// --to-bp. The lists are parsed line by line (`LineParser`), the filters
// applied to a file's tables; a view of a genotype source restricted to the
// selected variants reads as a file holding only them would (what plink2
// --extract ... --make-bed writes). Browser-safe.
import { ArgumentError, InputError } from '../errors.js';
import { canonicalChrom, chromCode, chromName } from './chrom.js';
import type { GenotypeSource } from './genotypes.js';
import type { LineParser } from './lines.js';
import { sampleKey, type SampleTable } from './samples.js';
import { resolveSelection, takeVariants, type VariantTable } from './variants.js';

/** What one filter removed: the option, its value as given (a file, a list) and the count. */
export interface FilterCount {
  option: string;
  value: string;
  removed: number;
}

/** The samples or variants before and after a run's filters, and what each filter removed (in the order applied). */
export interface SelectionCounts {
  before: number;
  after: number;
  filters: FilterCount[];
}

/**
 * The ids of a --keep/--remove file: FID and IID per row, or IIDs only
 * (`key: 'iid'`, each FID then `0`, plink2's "no FID"), with the line of
 * each row.
 */
export interface SampleList {
  file: string;
  key: 'fid-iid' | 'iid';
  fid: string[];
  iid: string[];
  lines: number[];
}

/**
 * Parses a --keep/--remove file as plink2 reads it: a header line starting
 * with `#FID` or `#IID` names the columns (FID optional, IID required;
 * other columns ignored); without one, a first row of one field means IIDs
 * only, else FID IID in the first two columns. Fields are separated by
 * spaces or tabs; blank lines are skipped.
 */
export class SampleListParser implements LineParser<SampleList> {
  private key: 'fid-iid' | 'iid' | undefined;
  private fidCol = 0;
  private iidCol = 1;
  private width = 2;
  private readonly out: SampleList;

  constructor(private readonly file: string) {
    this.out = { file, key: 'fid-iid', fid: [], iid: [], lines: [] };
  }

  line(text: string, lineNumber: number): void {
    const fields = text.trim().split(/[ \t]+/);
    if (fields[0] === '' || fields[0] === undefined) return;
    if (this.key === undefined) {
      const first = fields[0];
      if (first === '#FID' || first === '#IID') {
        const names = [first.slice(1), ...fields.slice(1)];
        const iid = names.indexOf('IID');
        if (iid < 0) throw new InputError({ file: this.file, line: lineNumber }, `expected an IID column in the header, found '${text.trim()}'`);
        this.key = first === '#FID' ? 'fid-iid' : 'iid';
        this.fidCol = 0;
        this.iidCol = iid;
        this.width = iid + 1;
        this.out.key = this.key;
        return;
      }
      this.key = fields.length === 1 ? 'iid' : 'fid-iid';
      this.out.key = this.key;
      this.iidCol = this.key === 'iid' ? 0 : 1;
      this.width = this.iidCol + 1;
    }
    if (fields.length < this.width) {
      throw new InputError(
        { file: this.file, line: lineNumber },
        `expected ${this.key === 'iid' ? 'an IID' : 'FID and IID'} (${this.width} fields), found ${fields.length} field${fields.length === 1 ? '' : 's'}: '${text.trim()}'`,
      );
    }
    const iid = fields[this.iidCol]!;
    this.out.iid.push(iid);
    this.out.fid.push(this.key === 'iid' ? '0' : fields[this.fidCol]!);
    this.out.lines.push(lineNumber);
  }

  finish(): SampleList {
    if (this.out.iid.length === 0) throw new InputError({ file: this.file }, 'expected at least one sample (FID IID or IID per line), found none');
    return this.out;
  }
}

/** Reads a variant id list (--extract, --exclude): ids separated by spaces, tabs or newlines, as a Set. */
export class IdListParser implements LineParser<Set<string>> {
  private readonly ids = new Set<string>();

  constructor(private readonly file: string) {}

  line(text: string): void {
    for (const id of text.split(/[ \t\r]+/)) if (id !== '') this.ids.add(id);
  }

  finish(): Set<string> {
    if (this.ids.size === 0) throw new InputError({ file: this.file }, 'expected variant ids (one per line or separated by spaces), found none');
    return this.ids;
  }
}

/**
 * Which genotype samples a --keep and a --remove list leave out, with the
 * reason of each (`not in --keep FILE`, `removed by --remove FILE`), keyed
 * by sample index, and the counts of each filter. Samples are matched on
 * FID and IID, an IID-only list naming the samples whose FID is `0`, as
 * plink2 matches them; on IID alone when the genotype file has one id per
 * sample (`key: 'iid'`). A --keep list that names no genotype sample is
 * a BAD_ARGUMENT (it would leave nothing to analyse).
 */
export function sampleExclusions(
  samples: SampleTable,
  key: 'fid-iid' | 'iid',
  lists: { keep?: SampleList; remove?: SampleList },
): { excluded: Map<number, string>; counts: SelectionCounts } {
  const n = samples.iid.length;
  const excluded = new Map<number, string>();
  const filters: FilterCount[] = [];
  const named = (list: SampleList): Uint8Array => {
    const byIid = key === 'iid';
    const wanted = new Set<string>();
    for (let r = 0; r < list.iid.length; r++) wanted.add(byIid ? list.iid[r]! : sampleKey(list.fid[r]!, list.iid[r]!));
    return Uint8Array.from({ length: n }, (_, i) => (wanted.has(byIid ? samples.iid[i]! : sampleKey(samples.fid[i]!, samples.iid[i]!)) ? 1 : 0));
  };
  if (lists.keep !== undefined) {
    const inList = named(lists.keep);
    if (!inList.includes(1)) {
      const how = key === 'iid' ? 'IID' : lists.keep.key === 'iid' ? 'IID, with FID 0 as plink2 reads a list of IIDs' : 'FID and IID';
      throw new ArgumentError(
        `--keep ${lists.keep.file}: expected samples of the genotype file, found none of its ${lists.keep.iid.length} rows among the ${n} samples (matched by ${how})`,
      );
    }
    let removed = 0;
    for (let i = 0; i < n; i++) {
      if (inList[i] === 0) {
        excluded.set(i, `not in --keep ${lists.keep.file}`);
        removed++;
      }
    }
    filters.push({ option: '--keep', value: lists.keep.file, removed });
  }
  if (lists.remove !== undefined) {
    const inList = named(lists.remove);
    let removed = 0;
    for (let i = 0; i < n; i++) {
      if (inList[i] === 1 && !excluded.has(i)) {
        excluded.set(i, `removed by --remove ${lists.remove.file}`);
        removed++;
      }
    }
    filters.push({ option: '--remove', value: lists.remove.file, removed });
  }
  return { excluded, counts: { before: n, after: n - excluded.size, filters } };
}

/**
 * Parses a --chr list as plink2 reads it: codes separated by commas (or
 * spaces), each a chromosome (`1`, `chr1`, `X`, `23`, `MT`, ...) or a range
 * of known codes (`1-4`, `21-X`); returns the canonical names
 * (`canonicalChrom`). A name plink2 does not know is accepted when the file
 * has a chromosome of that name (a contig such as `GL000192.1`); anything
 * else, and a range whose ends are not both known codes in order, is a
 * BAD_ARGUMENT naming it.
 */
export function parseChromList(text: string, fileChroms: Iterable<string>, file: string): Set<string> {
  const known = new Set<string>();
  for (const c of fileChroms) known.add(canonicalChrom(c));
  const out = new Set<string>();
  const items = text.split(/[,\s]+/).filter((s) => s !== '');
  if (items.length === 0) throw new ArgumentError(`--chr: expected chromosome codes (e.g. 1-4,22,X), found '${text}'`);
  for (const item of items) {
    const code = chromCode(item);
    if (code !== undefined) {
      out.add(String(code));
      continue;
    }
    const dash = item.indexOf('-', 1);
    if (dash > 0) {
      const a = chromCode(item.slice(0, dash));
      const b = chromCode(item.slice(dash + 1));
      if (a !== undefined && b !== undefined) {
        if (a > b) throw new ArgumentError(`--chr: expected a range from a lower to a higher code, found '${item}' (${chromName(a)} > ${chromName(b)})`);
        for (let c = a; c <= b; c++) out.add(String(c));
        continue;
      }
    }
    if (known.has(item)) {
      out.add(item);
      continue;
    }
    throw new ArgumentError(
      `--chr: unknown chromosome code '${item}': expected 1-26, X, Y, XY, MT (with or without 'chr'), a range such as 1-4, or a chromosome named in ${file}`,
    );
  }
  return out;
}

/** The variant filters of a run, parsed (see `variantFilter`). */
export interface VariantFilters {
  extract?: { file: string; ids: Set<string> };
  exclude?: { file: string; ids: Set<string> };
  /** Canonical chromosome names (`parseChromList`) and the list as given. */
  chr?: { text: string; names: Set<string> };
  /** Inclusive base-pair bounds on the one --chr chromosome, as plink2's --from-bp/--to-bp. */
  fromBp?: number;
  toBp?: number;
}

/**
 * The variants of `v` that pass `filters`, in file order, and what each
 * filter removed, applied in plink2's order: --extract, --exclude, --chr,
 * --from-bp/--to-bp (each counted on the variants the earlier ones left).
 * An --extract list that names no variant of the file is a BAD_ARGUMENT
 * (plink2 stops there too); one whose ids are only partly in the file
 * selects those that are.
 */
export function variantFilter(v: VariantTable, filters: VariantFilters, file: string): { keep: Int32Array; counts: SelectionCounts } {
  const n = v.id.length;
  const pass = new Uint8Array(n).fill(1);
  const counts: FilterCount[] = [];
  const apply = (option: string, value: string, test: (i: number) => boolean): void => {
    let removed = 0;
    for (let i = 0; i < n; i++) {
      if (pass[i] === 1 && !test(i)) {
        pass[i] = 0;
        removed++;
      }
    }
    counts.push({ option, value, removed });
  };
  const { extract, exclude, chr } = filters;
  if (extract !== undefined) {
    apply('--extract', extract.file, (i) => extract.ids.has(v.id[i]!));
    if (!pass.includes(1)) throw new ArgumentError(`--extract ${extract.file}: expected ids of variants of ${file}, found none of its ${extract.ids.size} ids`);
  }
  if (exclude !== undefined) apply('--exclude', exclude.file, (i) => !exclude.ids.has(v.id[i]!));
  if (chr !== undefined) {
    let last: string | undefined;
    let lastIn = false;
    apply('--chr', chr.text, (i) => {
      const c = v.chrom[i]!;
      if (c !== last) {
        last = c;
        lastIn = chr.names.has(canonicalChrom(c));
      }
      return lastIn;
    });
  }
  const { fromBp, toBp } = filters;
  if (fromBp !== undefined) apply('--from-bp', String(fromBp), (i) => v.pos[i]! >= fromBp);
  if (toBp !== undefined) apply('--to-bp', String(toBp), (i) => v.pos[i]! <= toBp);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (pass[i] === 1) keep.push(i);
  return { keep: Int32Array.from(keep), counts: { before: n, after: keep.length, filters: counts } };
}

/**
 * `source` restricted to the variants `keep` (indices in file order): its
 * `variants` are those rows, and `batches` selects and numbers variants
 * within them, so that every consumer reads it as the file plink2 would
 * write with the same filters. Reading goes through `source` (the same
 * batches, the same memory); closing it closes `source`.
 */
export function subsetVariants(source: GenotypeSource, keep: Int32Array): GenotypeSource {
  const variants = takeVariants(source.variants, keep);
  return {
    path: source.path,
    samples: source.samples,
    sampleKey: source.sampleKey,
    variants,
    // A getter: the reader adds quirks while it reads.
    get quirks() {
      return source.quirks;
    },
    async *batches(opts = {}) {
      const inner = resolveSelection(variants, opts.select, source.path);
      let offset = 0;
      for await (const b of source.batches({ ...opts, select: { indices: inner.map((i) => keep[i]!) } })) {
        const indices = inner.slice(offset, offset + b.indices.length);
        offset += b.indices.length;
        yield { ...b, indices };
      }
    },
    close: () => source.close(),
  };
}
