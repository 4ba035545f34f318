// Oxford `.sample` files (the companion of .gen/.bgen): two header lines,
// then one line per sample in the genotype file's order.
import { InputError } from '../../errors.js';
import type { SampleTable } from '../samples.js';

/** The samples of an Oxford `.sample` file, with each row's 1-based line for messages. */
export interface OxfordSample extends SampleTable {
  /** The file, for messages. */
  readonly file: string;
  /** The line of each sample's row. */
  readonly lines: readonly number[];
}

const SPACE = /[ \t\r]+/;

/**
 * Parses an Oxford `.sample` file: a line of column names starting
 * `ID_1 ID_2` (the original layout: FID and IID) or `ID` (QCTOOL v2's
 * `sample-v2`: one id, used as both), a line of column types, then one row
 * per sample with as many whitespace-separated fields as there are names.
 * Blank lines are skipped. Each fault is an `InputError` naming `file`
 * and the line.
 */
export function parseOxfordSample(text: string, file: string): OxfordSample {
  const rows: { fields: string[]; line: number }[] = [];
  const all = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!.trim();
    if (t !== '') rows.push({ fields: t.split(SPACE), line: i + 1 });
  }
  const head = rows[0];
  if (head === undefined)
    throw new InputError({ file }, 'expected an Oxford .sample file (a header line ID_1 ID_2 ..., a line of types, one row per sample), found no lines');
  const twoIds = head.fields[0] === 'ID_1' && head.fields[1] === 'ID_2';
  if (!twoIds && head.fields[0] !== 'ID') {
    throw new InputError({ file, line: head.line }, `expected a header line starting 'ID_1 ID_2' (or 'ID'), found '${head.fields.slice(0, 2).join(' ')}'`);
  }
  const types = rows[1];
  if (types === undefined) throw new InputError({ file }, 'expected a second header line of column types (0 0 0 ...), found the end of the file');
  const width = head.fields.length;
  const fid: string[] = [];
  const iid: string[] = [];
  const lines: number[] = [];
  for (const r of rows.slice(1)) {
    if (r.fields.length !== width) {
      throw new InputError({ file, line: r.line }, `expected ${width} fields (one per column named on line ${head.line}), found ${r.fields.length}`);
    }
    if (r === types) continue;
    fid.push(r.fields[0]!);
    iid.push(twoIds ? r.fields[1]! : r.fields[0]!);
    lines.push(r.line);
  }
  return { file, fid, iid, lines };
}
