/** Little-endian helpers over byte arrays, bounds-checked and allocation-free. */

/**
 * Reads up to 4 bytes at `offset` of `bytes` as a little-endian unsigned number; bytes outside the
 * array (or at a non-integer offset) read as 0.
 */
export function readLe(bytes: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size && i < 4; i++) {
    const b = offset + i;
    if (b >>> 0 === b && b < bytes.length) v |= (bytes[b] as number) << (8 * i);
  }
  return v >>> 0;
}

/** True for a guest access size (1, 2 or 4 bytes). */
export function isAccessSize(size: number): boolean {
  return size === 1 || size === 2 || size === 4;
}
