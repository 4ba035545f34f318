// A .tbi or .csi index file, told by its magic (not its name): inflated from
// its BGZF and parsed. Browser-safe: the file is any `ByteSource`.
import type { ByteSource } from '../bytes.js';
import { fflateInflate, readBgzfWhole, type RawInflate } from './bgzf.js';
import { parseCsi } from './csi.js';
import type { TabixIndex } from './query.js';
import { parseTbi } from './tbi.js';

/**
 * Reads the index in `source` (a .tbi or a .csi; named by `source.name` in
 * messages) and closes it. Anything else is refused as bad magic.
 */
export async function readTabixIndex(source: ByteSource, inflate: RawInflate = fflateInflate): Promise<TabixIndex> {
  let bytes: Uint8Array;
  try {
    bytes = await readBgzfWhole(source, inflate);
  } finally {
    await source.close();
  }
  return bytes[0] === 0x43 ? parseCsi(bytes, source.name) : parseTbi(bytes, source.name);
}
