/**
 * Checked element access for tests under `noUncheckedIndexedAccess`: an index a test expects to be in
 * range is asserted to be, so a test that reads or corrupts past the buffer fails loudly instead of
 * silently reading `undefined` or writing nothing.
 */

/** The element at `i` of `a`; throws a RangeError when `i` is not an index of `a`. */
export function elem(a: ArrayLike<number>, i: number): number {
  const v = a[i];
  if (v === undefined) throw new RangeError(`index ${i} out of range (length ${a.length})`);
  return v;
}

/**
 * XORs `mask` into element `i` of `buf` (corrupts a byte on purpose); throws a RangeError when `i` is
 * not an index of `buf`, so an intended corruption can never silently miss.
 */
export function flip(buf: Uint8Array, i: number, mask: number): void {
  buf[i] = elem(buf, i) ^ mask;
}
