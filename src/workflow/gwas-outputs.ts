// The result tables of one trait in every dialect asked for (--out-format):
// streamed to their staged files as the scan goes, or, with --gz, held,
// sorted by chromosome (plink2's order) and position, written as BGZF with a
// tabix index beside, so that `tabix FILE 22:1-2` finds the rows.
import { createHash, type Hash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { bgzfCompress } from '../data/bgzf-write.js';
import { compareChromNames } from '../data/chrom.js';
import type { StagedFile, StagedOutputs } from '../data/atomic.js';
import { tabixFile, type TabixRecord } from '../data/tabix-write.js';
import type { OutLine } from './gwas-lines.js';

export { dialectLines, type OutLine } from './gwas-lines.js';

// Level 9: about 1% smaller than 6 on a results table, at a cost (some
// 40 ms per 49 000 rows) that is nothing beside the scan.
const deflate = (d: Uint8Array): Uint8Array => deflateRawSync(d, { level: 9 });

/**
 * One result table being written: `add` its lines in scan order, `close`
 * at the end. Tracks the data file's md5 (GWAS-SSF's metadata names it) and
 * whether the rows came sorted.
 */
export class TableOutput {
  private readonly held: { key: OutLine; seq: number }[] = [];
  private readonly md5: Hash = createHash('md5');
  private last: OutLine | undefined;
  /** Whether the rows are sorted by chromosome and position in the file (always with --gz). */
  sorted = true;
  rows = 0;

  private constructor(
    readonly file: StagedFile,
    readonly index: StagedFile | undefined,
    readonly header: string,
    private readonly gz: boolean,
  ) {}

  /**
   * Stages `path` (and with `gz` its tabix index `path.tbi`, when `tbi`)
   * and, without `gz`, writes the header at once.
   */
  static async open(outputs: StagedOutputs, path: string, header: string, gz: boolean, tbi: boolean): Promise<TableOutput> {
    const file = await outputs.stage(path);
    const index = gz && tbi ? await outputs.stage(`${path}.tbi`) : undefined;
    const t = new TableOutput(file, index, header, gz);
    if (!gz) await t.put(`${header}\n`);
    return t;
  }

  private async put(content: string | Uint8Array): Promise<void> {
    this.md5.update(content);
    await this.file.write(content);
  }

  /** Adds lines (in the scan's order). */
  async add(lines: readonly OutLine[]): Promise<void> {
    if (lines.length === 0) return;
    for (const l of lines) {
      if (this.last !== undefined && this.sorted && compareLines(this.last, l) > 0) this.sorted = false;
      this.last = l;
    }
    this.rows += lines.length;
    if (this.gz) {
      for (const l of lines) this.held.push({ key: l, seq: this.held.length });
      return;
    }
    await this.put(`${lines.map((l) => l.line).join('\n')}\n`);
  }

  /**
   * Ends the table: with --gz sorts the rows, writes them as BGZF and the
   * index; closes the staged files. Returns the data file's md5 (hex).
   */
  async close(): Promise<string> {
    if (this.gz) {
      this.held.sort((a, b) => compareLines(a.key, b.key) || a.seq - b.seq);
      this.sorted = true;
      const enc = new TextEncoder();
      const parts: Uint8Array[] = [enc.encode(`${this.header}\n`)];
      const starts: number[] = [];
      let u = parts[0]!.length;
      for (const { key } of this.held) {
        const b = enc.encode(`${key.line}\n`);
        starts.push(u);
        parts.push(b);
        u += b.length;
      }
      const data = new Uint8Array(u);
      let at = 0;
      for (const p of parts) {
        data.set(p, at);
        at += p.length;
      }
      const z = bgzfCompress(data, deflate);
      for (const b of z.blocks) await this.put(b);
      if (this.index !== undefined) {
        const records: TabixRecord[] = this.held.map(({ key }, i) => ({
          ref: key.line.slice(0, key.line.indexOf('\t')),
          beg: key.pos - 1,
          end: key.pos,
          vbeg: z.virtualOffset(starts[i]!),
          vend: z.virtualOffset(i + 1 < starts.length ? starts[i + 1]! : u),
        }));
        for (const b of tabixFile(records, { seqCol: 1, begCol: 2, endCol: 2, meta: '#', skip: 1 }, deflate)) await this.index.write(b);
        await this.index.close();
      }
      this.held.length = 0;
    }
    await this.file.close();
    return this.md5.digest('hex');
  }
}

function compareLines(a: OutLine, b: OutLine): number {
  return compareChromNames(a.chrom, b.chrom) || a.pos - b.pos;
}

/** What GWAS-SSF's metadata file says of one trait's table. */
export interface GwasSsfMeta {
  dataFile: string;
  md5: string;
  trait: string;
  samples: number;
  build: string | undefined;
  software: string;
  covariates: readonly string[];
  sorted: boolean;
  date: string;
}

/**
 * The `-meta.yaml` of a GWAS-SSF data file (the spec's Table 2 fields lmmkit
 * knows; ancestry and genotyping technology are the user's to add). Strings
 * are written as JSON strings, which YAML reads as double-quoted scalars
 * (a `#NA` unquoted would be a YAML comment).
 */
export function gwasSsfMetaYaml(m: GwasSsfMeta): string {
  const q = (s: string): string => JSON.stringify(s);
  const list = (xs: readonly string[]): string => (xs.length === 0 ? ' []' : xs.map((x) => `\n  - ${q(x)}`).join(''));
  return [
    '# GWAS-SSF metadata written by lmmkit: sample ancestry and genotyping technology are not known to lmmkit, add them before submission',
    `date_metadata_last_modified: ${m.date}`,
    `trait_description:${list([m.trait])}`,
    `genome_assembly: ${q(m.build ?? '#NA')}`,
    'coordinate_system: 1-based',
    'samples:',
    `  - sample_size: ${m.samples}`,
    `data_file_name: ${q(m.dataFile)}`,
    'file_type: GWAS-SSF v1.0',
    `data_file_md5sum: ${m.md5}`,
    `analysis_software: ${q(m.software)}`,
    `adjusted_covariates:${list(m.covariates)}`,
    'is_harmonised: false',
    `is_sorted: ${m.sorted}`,
    '',
  ].join('\n');
}
