/**
 * `Uint8Array.prototype.copyWithin`, held once: calling it through `call` on a known function
 * spares the optimized code a property look-up (an inline-cache call) on every copy.
 */
const COPY_WITHIN = Uint8Array.prototype.copyWithin;

/**
 * Copies `n` bytes from `src[srcOff..]` to `dst[dstOff..]` with memmove semantics (overlap-safe when
 * both are the same array). Same array: one `copyWithin`. Different arrays: a byte loop for short
 * copies, otherwise one `set` from a transient `subarray` view (the only object a DMA run can cost,
 * and only when an address space maps more than one backing buffer).
 */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  if (src === dst) {
    if (srcOff !== dstOff) COPY_WITHIN.call(dst, dstOff, srcOff, srcOff + n);
  } else if (n <= 64) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i] as number;
  } else {
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  }
}
