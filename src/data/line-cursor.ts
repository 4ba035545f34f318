// Lines of a stream of byte chunks, one at a time, as byte ranges: the
// line handling shared by the streaming text readers (VCF, BIMBAM), so that
// neither decodes a whole chunk into a string nor copies a line that lies
// inside one chunk. Browser-safe.
import { InputError, LmmkitError } from '../errors.js';

/**
 * The lines of a chunk stream, pulled one at a time as a byte range
 * [start, end) of `buf` (a `\r` before the `\n` dropped), valid until the
 * next call. A line inside a chunk is not copied; one across chunks is
 * assembled in a buffer of its own. `line` is the 1-based number of the
 * current line; `after` is set by the reader to the last variant read, for
 * the message on a stream that breaks off.
 */
export class LineCursor {
  line = 0;
  buf: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;
  after: string | undefined;
  private readonly name: string;
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  private carry = new Uint8Array(1 << 16);
  private carryLen = 0;
  private done = false;
  /** Whether `line` is the line's number in the file (not when the stream skips records: a region read through an index). */
  readonly numbered: boolean;

  constructor(name: string, chunks: AsyncIterable<Uint8Array>, numbered = true) {
    this.name = name;
    this.it = chunks[Symbol.asyncIterator]();
    this.numbered = numbered;
  }

  /** Where the current line is, for a message: the file, and the line when its number is known. */
  loc(): { file: string; line?: number } {
    return this.numbered ? { file: this.name, line: this.line } : { file: this.name };
  }

  /** Moves to the next line; false at the end of the file. */
  async next(): Promise<boolean> {
    for (;;) {
      const nl = this.chunk.indexOf(10, this.at);
      if (nl >= 0) {
        if (this.carryLen > 0) {
          this.append(this.chunk.subarray(this.at, nl));
          this.set(this.carry, 0, this.carryLen);
          this.carryLen = 0;
        } else this.set(this.chunk, this.at, nl);
        this.at = nl + 1;
        return true;
      }
      this.append(this.chunk.subarray(this.at));
      this.at = this.chunk.length;
      if (this.done) {
        if (this.carryLen === 0) return false;
        this.set(this.carry, 0, this.carryLen);
        this.carryLen = 0;
        return true;
      }
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.it.next();
      } catch (e) {
        if (e instanceof LmmkitError) throw e;
        const line = this.numbered ? `line ${this.line}` : 'the header';
        const where = this.after === undefined ? line : this.numbered ? `${line} (variant '${this.after}')` : `variant '${this.after}'`;
        const code = (e as { code?: unknown }).code;
        throw new InputError(
          this.loc(),
          `expected the file to go on after ${where}, found ${(e as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`,
        );
      }
      if (r.done === true) this.done = true;
      else {
        this.chunk = r.value;
        this.at = 0;
      }
    }
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }

  private set(buf: Uint8Array, start: number, end: number): void {
    this.line++;
    this.buf = buf;
    this.start = start;
    this.end = end > start && buf[end - 1] === 13 ? end - 1 : end;
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.carryLen + bytes.length > this.carry.length) {
      const grown = new Uint8Array(Math.max(this.carry.length * 2, this.carryLen + bytes.length));
      grown.set(this.carry.subarray(0, this.carryLen));
      this.carry = grown;
    }
    this.carry.set(bytes, this.carryLen);
    this.carryLen += bytes.length;
  }
}
