// The text tables by path (Node only): each streams the file line by line
// (plain or gzip) into the parser that the text entry drives too, so both
// read alike and no file is ever held as one string.
import { FrameParser, type DataFrame, type FrameOptions } from '../frame.js';
import { KinshipParser, type KinshipTable, type ReadKinshipOptions } from '../kinship-table.js';
import { TableParser, type NumericTable, type TableOptions } from '../table.js';
import { readLines } from './files.js';

/** Reads and parses a numeric table (see `parseTable`); the path is the file name in messages. */
export async function readTable(path: string, opts: TableOptions = {}): Promise<NumericTable> {
  return readLines(path, new TableParser(path, opts));
}

/** Reads and parses a kinship file (see `parseKinship`); the path is the file name in messages. */
export async function readKinship(path: string, opts: ReadKinshipOptions = {}): Promise<KinshipTable> {
  return readLines(path, new KinshipParser(path, opts));
}

/** Reads and parses an observation table (see `parseFrame`). */
export async function readFrame(path: string, opts: FrameOptions = {}): Promise<DataFrame> {
  return readLines(path, new FrameParser(path, opts));
}
