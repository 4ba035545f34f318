/** The CRC-32 table of the reflected IEEE 802.3 polynomial 0xEDB88320 (zlib's, PNG's). */
const TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE 802.3, as zlib's `crc32` and PNG compute it) of `bytes`, an
 * unsigned 32-bit integer. Browser-safe: plain table-driven TypeScript.
 * crc32(ASCII '123456789') = 0xCBF43926. As zlib's, it continues from the
 * CRC of the bytes before (`previous`): crc32(b, crc32(a)) is the CRC of a
 * then b, so that a file written in pieces needs no copy of the whole.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
