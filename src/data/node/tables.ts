// The text tables by path (Node only): each reads the file whole and hands
// it to the parser that a page calls on bytes (`textOf`), so both read alike.
import { parseFrame, type DataFrame, type FrameOptions } from '../frame.js';
import { parseKinship, type KinshipTable, type ReadKinshipOptions } from '../kinship-table.js';
import { parseTable, type NumericTable, type TableOptions } from '../table.js';
import { readText } from './files.js';

/** Reads and parses a numeric table (see `parseTable`); the path is the file name in messages. */
export async function readTable(path: string, opts: TableOptions = {}): Promise<NumericTable> {
  return parseTable(await readText(path), path, opts);
}

/** Reads and parses a kinship file (see `parseKinship`); the path is the file name in messages. */
export async function readKinship(path: string, opts: ReadKinshipOptions = {}): Promise<KinshipTable> {
  return parseKinship(await readText(path), path, opts);
}

/** Reads and parses an observation table (see `parseFrame`). */
export async function readFrame(path: string, opts: FrameOptions = {}): Promise<DataFrame> {
  return parseFrame(await readText(path), path, opts);
}
