/**
 * Reading and writing register fields (the layouts of dsa/spec/register-fields.ts) over the register's
 * dwords, as a driver's header macros do. Single-dword masks and values are the dsa header's own
 * `fieldMask` and `fieldOf`; this adds what a driver holding a multi-dword register needs.
 */
import { type FieldBits, fieldMask, fieldOf } from '../dsa/spec/register-def.js';

/** The value of field `f` (inside one dword) in the register whose dwords are `dw` (dword 0 first). */
export function getField(dw: ArrayLike<number>, f: FieldBits): number {
  return fieldOf(dw[f.lo >>> 5] ?? 0, f);
}

/** `dword` with field `f` (held in that dword) replaced by `value`. */
export function withField(dword: number, f: FieldBits, value: number): number {
  const m = fieldMask(f);
  return ((dword & ~m) | ((value << (f.lo & 31)) & m)) >>> 0;
}

/** The byte offset, from the register's start, of the dword holding field `f`. */
export function dwordOf(f: FieldBits): number {
  return (f.lo >>> 5) * 4;
}
