// Text files line by line, pushed into a parser, so that no reader needs a
// file as one JS string (V8 caps a string at 512 MiB) and a parser keeps only
// what it parses. The same parser is driven by a string (a page, the tests),
// by a `ByteSource` (a browser `File`) and, in ./node/files.ts, by a file
// stream (plain or gzip): all three cut lines and number them alike, so they
// give the same results and the same errors at the same line numbers.
import { byteSource, type ByteInput, type ByteSource } from './bytes.js';

/**
 * A push-style parser of a text file: `line` is called once per line, in
 * order, with the text between two `\n` (any `\r` kept) and its 1-based
 * number; a leading byte-order mark is not part of line 1. The piece after
 * the last `\n` is a line too (empty when the file ends with `\n`). `finish`
 * is called once after the last line and gives the result. Either may throw
 * an `InputError`, which ends the reading.
 */
export interface LineParser<T> {
  line(text: string, lineNumber: number): void;
  finish(): T;
}

/**
 * Reads the text file named `path` into `parser` (see `LineParser`): from
 * disk in Node (`readLines` of ./node/files.ts), from a `File` or bytes in
 * a page (`parseSourceLines`). The workflows take one so that the same
 * code reads the CLI's files and a page's.
 */
export type LineReader = <T>(path: string, parser: LineParser<T>) => Promise<T>;

/** Runs `parser` over the lines of `text` (see `LineParser`). */
export function parseLines<T>(text: string, parser: LineParser<T>): T {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let n = 1;
  for (;;) {
    const end = text.indexOf('\n', start);
    if (end < 0) break;
    parser.line(text.slice(start, end), n++);
    start = end + 1;
  }
  parser.line(text.slice(start), n);
  return parser.finish();
}

/**
 * Cuts UTF-8 bytes pushed in chunks of any size into lines for a
 * `LineParser`. Each line is decoded on its own (as `readFile(path, 'utf8')`
 * decodes: malformed bytes become U+FFFD, and a `\n` byte is never inside a
 * multi-byte character), so a string a parser keeps (an id) holds no
 * reference to a larger chunk of the file.
 */
export class LineSplitter<T> {
  private readonly parser: LineParser<T>;
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  // Bytes of the line not yet ended, in the chunks they came in.
  private pending: Uint8Array[] = [];
  private lineNumber = 1;

  constructor(parser: LineParser<T>) {
    this.parser = parser;
  }

  /** Feeds the next bytes of the file. */
  push(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(10, start);
      if (end < 0) break;
      this.emit(chunk.subarray(start, end));
      start = end + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.slice(start));
  }

  /** Ends the file: its last line, then the parser's result. */
  end(): T {
    this.emit(new Uint8Array(0));
    return this.parser.finish();
  }

  private emit(tail: Uint8Array): void {
    let bytes = tail;
    if (this.pending.length > 0) {
      const size = this.pending.reduce((s, p) => s + p.length, tail.length);
      bytes = new Uint8Array(size);
      let at = 0;
      for (const p of this.pending) {
        bytes.set(p, at);
        at += p.length;
      }
      bytes.set(tail, at);
      this.pending = [];
    }
    if (this.lineNumber === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    this.parser.line(this.decoder.decode(bytes), this.lineNumber++);
  }
}

/** Bytes read from a `ByteSource` at a time. */
const CHUNK = 4 << 20;

/**
 * Runs `parser` over the lines of `input` (bytes, a `Blob` or `File`, or a
 * `ByteSource`; `name` names it in messages unless it has a name), reading
 * a few MiB at a time, so a page can read a `.bim` larger than a string can
 * hold. Closes the source.
 */
export async function parseSourceLines<T>(input: ByteInput | ByteSource, name: string, parser: LineParser<T>): Promise<T> {
  const source = byteSource(input, name);
  try {
    const split = new LineSplitter(parser);
    for (let at = 0; at < source.size; at += CHUNK) split.push(await source.read(at, Math.min(CHUNK, source.size - at)));
    return split.end();
  } finally {
    await source.close();
  }
}
