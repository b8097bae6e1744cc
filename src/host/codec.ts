/**
 * Packing and unpacking of table registers for the host driver, from the field definitions of the
 * DSA register tables (the driver's "header file"): no field position is written twice.
 */
import { bitMask, type FieldDef, type RegisterDef } from '../dsa/index.js';

/** The dwords of `reg` with the given field values (fields not named are 0). */
export function packRegister<F extends Readonly<Record<string, FieldDef>>>(
  reg: RegisterDef<F>,
  values: Partial<Record<keyof F, number>>,
): Uint32Array {
  const out = new Uint32Array(reg.size >>> 2);
  for (const key of Object.keys(values) as (keyof F)[]) {
    const f = reg.fields[key];
    const v = values[key];
    if (f === undefined || v === undefined) continue;
    if (f.width > 32) throw new RangeError(`field ${f.name} is wide; set its dwords directly`);
    const d = f.lo >>> 5;
    const shift = f.lo & 31;
    out[d] = ((out[d] as number) | ((v & bitMask(f.width)) << shift)) >>> 0;
  }
  return out;
}

/** The value of field `f` (≤ 32 bits) in the dwords of its register. */
export function unpackField(dwords: ArrayLike<number>, f: FieldDef): number {
  return (((dwords[f.lo >>> 5] ?? 0) >>> (f.lo & 31)) & bitMask(f.width)) >>> 0;
}

/** The value of field `f` (≤ 32 bits) in `dword`, the register dword that holds it. */
export function dwordField(dword: number, f: FieldDef): number {
  return ((dword >>> (f.lo & 31)) & bitMask(f.width)) >>> 0;
}
