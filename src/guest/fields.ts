/**
 * Reading and writing register fields from the dsa layer's field layouts (`{ lo, width }`, bit
 * positions from the start of the register) over the register's dwords, as a driver's header macros do.
 */

/** A field layout: first bit from the start of the register and width (≤ 32, inside one dword). */
export interface FieldLayout {
  /** First bit. */
  readonly lo: number;
  /** Width in bits. */
  readonly width: number;
}

function mask(width: number): number {
  return width >= 32 ? 0xffffffff : (1 << width) - 1;
}

/** The value of field `f` in the register whose dwords are `dw` (dword 0 first). */
export function getField(dw: ArrayLike<number>, f: FieldLayout): number {
  const d = dw[f.lo >>> 5] ?? 0;
  return ((d >>> (f.lo & 31)) & mask(f.width)) >>> 0;
}

/** The value of field `f` in `dword`, the register dword that holds it. */
export function fieldIn(dword: number, f: FieldLayout): number {
  return ((dword >>> (f.lo & 31)) & mask(f.width)) >>> 0;
}

/** `dword` with field `f` (held in that dword) replaced by `value`. */
export function withField(dword: number, f: FieldLayout, value: number): number {
  const m = (mask(f.width) << (f.lo & 31)) >>> 0;
  return ((dword & ~m) | ((value << (f.lo & 31)) & m)) >>> 0;
}

/** The mask of field `f` in the dword holding it. */
export function fieldBits(f: FieldLayout): number {
  return (mask(f.width) << (f.lo & 31)) >>> 0;
}

/** The byte offset, from the register's start, of the dword holding field `f`. */
export function dwordOf(f: FieldLayout): number {
  return (f.lo >>> 5) * 4;
}

/** A 64-bit value from two dwords as a number (exact below 2^53; larger values lose low bits). */
export function u64(lo: number, hi: number): number {
  return hi * 0x1_0000_0000 + lo;
}
