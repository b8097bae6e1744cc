/**
 * Copies `n` bytes from `src[srcOff..]` to `dst[dstOff..]` with memmove semantics (overlap-safe when
 * both are the same array). Same array: one `copyWithin`. Different arrays: a byte loop for short
 * copies, otherwise one `set` from a transient `subarray` view (the only object a DMA run can cost,
 * and only when an address space maps more than one backing buffer).
 */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  if (src === dst) {
    if (srcOff !== dstOff) dst.copyWithin(dstOff, srcOff, srcOff + n);
  } else if (n <= 64) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i] as number;
  } else {
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  }
}
