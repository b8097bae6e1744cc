/**
 * CRC-16/T10-DIF, the DIF guard (dsa-operations.md §12.2): polynomial 0x8BB7, MSB first, no
 * reflection. Table-driven (one 256-entry table built once).
 */

/** The T10-DIF polynomial. */
export const CRC16_T10DIF_POLY = 0x8bb7;

/** MSB-first byte table. */
export const CRC16_T10DIF_TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ CRC16_T10DIF_POLY) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** Advances the CRC-16 register `r` over `bytes[off, off + len)`. */
export function crc16T10DifUpdate(r: number, bytes: Uint8Array, off: number, len: number): number {
  const T = CRC16_T10DIF_TABLE;
  const end = off + len;
  for (let i = off; i < end; i++) r = ((r << 8) & 0xffff) ^ (T[((r >>> 8) ^ (bytes[i] as number)) & 0xff] as number);
  return r;
}

/**
 * The DIF guard of `bytes` with the DIF Flags conventions: `invertSeed` (DIF Flags bit 2) starts
 * from 0xFFFF, `invertResult` (bit 3) complements the result.
 */
export function crc16T10Dif(bytes: Uint8Array, invertSeed = false, invertResult = false): number {
  const r = crc16T10DifUpdate(invertSeed ? 0xffff : 0, bytes, 0, bytes.length);
  return invertResult ? r ^ 0xffff : r;
}
