// The coordinate-sorted index (.csi, CSIv1 of samtools/hts-specs):
// BGZF-compressed; magic `CSI\1`, min_shift and depth (the binning scheme
// is a parameter, unlike tabix's fixed 14 and 5), auxiliary data (for a
// VCF.gz indexed by bcftools, the tabix header with the sequence names),
// then per sequence its bins, each with the smallest offset of its records
// (loffset) and its chunks. Browser-safe.
import { InputError } from '../../errors.js';
import { pseudoBin, type Chunk, type RefIndex, type TabixIndex } from './query.js';
import { checkMagic, IndexCursor, readChunks, readTabixHeader } from './tbi.js';

/**
 * Parses the inflated bytes of a CSI index `file` of a text file. An index
 * without sequence names in its auxiliary data (as one of a BCF has, the
 * names being in the BCF header) is refused: a VCF's must have them.
 */
export function parseCsi(bytes: Uint8Array, file: string): TabixIndex {
  const c = new IndexCursor(bytes, file);
  checkMagic(c, 'CSI\x01', 'CSI (.csi)');
  const minShift = c.i32('min_shift');
  const depth = c.i32('depth');
  if (minShift < 1 || minShift > 30 || depth < 0 || depth > 10 || minShift + depth * 3 > 53) {
    throw new InputError(
      { file },
      `expected min_shift in 1..30 and depth in 0..10 (a binning scheme within 2^53), found min_shift ${minShift} and depth ${depth}`,
    );
  }
  const lAux = c.count('the auxiliary data length (l_aux)', 1);
  const aux = new IndexCursor(c.bytesOf(lAux, 'the auxiliary data'), file);
  const nRef = c.count('the number of sequences (n_ref)', 4);
  if (lAux < 28) {
    throw new InputError(
      { file },
      `expected the tabix header with sequence names in the auxiliary data (as bcftools index writes for a VCF.gz), found ${lAux} bytes (an index of a BCF?)`,
    );
  }
  const header = readTabixHeader(aux, nRef);
  const pseudo = pseudoBin(depth);
  const refs: RefIndex[] = [];
  for (let r = 0; r < nRef; r++) {
    const nBin = c.count(`the bin count of sequence '${header.names[r]}'`, 16);
    const bins = new Map<number, Chunk[]>();
    const loffset = new Map<number, number>();
    let mapped: number | undefined;
    for (let k = 0; k < nBin; k++) {
      const bin = c.u32('a bin number');
      const off = c.voff('a bin loffset');
      const chunks = readChunks(c);
      if (bin === pseudo) {
        mapped = chunks[1]?.begin;
        continue;
      }
      bins.set(bin, chunks);
      loffset.set(bin, off);
    }
    refs.push({ bins, loffset, ...(mapped === undefined ? {} : { mapped }) });
  }
  return { file, kind: 'csi', minShift, depth, refs, ...header };
}
