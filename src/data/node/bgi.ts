// bgenix's `.bgi` index of a BGEN file (an SQLite database:
// https://enkre.net/cgi-bin/code/bgen/wiki/The_bgenix_index_file_format) read
// with sql.js, SQLite compiled to WebAssembly, so that no native build is
// needed. Node only: the browser reader keeps the single pass through the
// file. sql.js holds the whole database in memory, about 60 bytes a variant.
import { readFile } from 'node:fs/promises';
import initSqlJs from 'sql.js';
import type { BgenIndex } from '../bgen/bgen.js';
import { InputError } from '../../errors.js';

type SqlJs = Awaited<ReturnType<typeof initSqlJs>>;

let sqlJs: Promise<SqlJs> | undefined;

/** The tables and columns a bgenix index has (its `CREATE TABLE` statements). */
const VARIANT_COLUMNS = 'chromosome, position, rsid, number_of_alleles, allele1, allele2, file_start_position, size_in_bytes';
const METADATA_COLUMNS = 'file_size, first_1000_bytes';

/**
 * Reads the bgenix index at `path` (see `BgenIndex`): its `Metadata` row
 * and its `Variant` rows sorted by `file_start_position` (file order). It
 * is not yet checked against a BGEN file: `openBgenSource` does that. A
 * file that cannot be read, is not an SQLite database, or lacks a table,
 * a column or the one Metadata row is an `InputError` naming `path`.
 */
export async function readBgenIndex(path: string): Promise<BgenIndex> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      { file: path },
      `expected a bgenix index (.bgi), found ${code === 'ENOENT' ? 'no such file' : `an unreadable file (${code ?? (err as Error).message})`}`,
    );
  }
  sqlJs ??= initSqlJs();
  const SQL = await sqlJs;
  let db: InstanceType<SqlJs['Database']> | undefined;
  let table = 'Metadata';
  try {
    db = new SQL.Database(bytes);
    const meta = db.exec(`SELECT ${METADATA_COLUMNS} FROM Metadata`);
    const metaRows = meta[0]?.values ?? [];
    if (metaRows.length !== 1) throw new InputError({ file: path }, `expected one row in the bgenix index's Metadata table, found ${metaRows.length}`);
    const [fileSize, firstBytes] = metaRows[0]!;
    if (typeof fileSize !== 'number' || !(firstBytes instanceof Uint8Array)) {
      throw new InputError(
        { file: path },
        `expected Metadata.file_size an integer and Metadata.first_1000_bytes a blob, found ${typeof fileSize} and ${firstBytes instanceof Uint8Array ? 'blob' : typeof firstBytes}`,
      );
    }
    table = 'Variant';
    const index: BgenIndex = { file: path, fileSize, firstBytes, chrom: [], pos: [], rsid: [], alleles: [], allele1: [], allele2: [], start: [], size: [] };
    const stmt = db.prepare(`SELECT ${VARIANT_COLUMNS} FROM Variant ORDER BY file_start_position`);
    try {
      let row = 0;
      while (stmt.step()) {
        row++;
        const [chrom, pos, rsid, alleles, allele1, allele2, start, size] = stmt.get();
        if (
          typeof chrom !== 'string' ||
          typeof rsid !== 'string' ||
          typeof allele1 !== 'string' ||
          (allele2 !== null && typeof allele2 !== 'string') ||
          typeof pos !== 'number' ||
          typeof alleles !== 'number' ||
          typeof start !== 'number' ||
          typeof size !== 'number'
        ) {
          throw new InputError(
            { file: path },
            `Variant row ${row} (by file_start_position): expected text chromosome, rsid, allele1 and allele2 and integer position, number_of_alleles, file_start_position and size_in_bytes, found ${[chrom, pos, rsid, alleles, allele1, allele2, start, size].map(sqlType).join(', ')}`,
          );
        }
        index.chrom.push(chrom);
        index.pos.push(pos);
        index.rsid.push(rsid);
        index.alleles.push(alleles);
        index.allele1.push(allele1);
        index.allele2.push(allele2 ?? '');
        index.start.push(start);
        index.size.push(size);
      }
    } finally {
      stmt.free();
    }
    return index;
  } catch (err) {
    if (err instanceof InputError) throw err;
    // SQLite's own words: 'file is not a database', 'no such table: Metadata', 'no such column: rsid'.
    throw new InputError(
      { file: path },
      `expected a bgenix index (an SQLite database with tables Metadata and Variant), found an error reading ${table}: ${(err as Error).message}`,
    );
  } finally {
    db?.close();
  }
}

function sqlType(v: unknown): string {
  return v === null ? 'null' : v instanceof Uint8Array ? 'blob' : typeof v === 'number' ? 'number' : 'text';
}
