/** CRCGEN (§7.11) and COPY_CRC (§7.12) with the seed convention and flags 16–19 of §12.1. */
import { copyBytes } from '../../../memory/index.js';
import { Cr } from '../../spec/completion-record.js';
import { crc32cFinish, crc32cStart, crc32cUpdate, crc32cUpdateMsbFirst } from '../crc32c.js';
import { crc64Finish, crc64Start, crc64Update } from '../crc64.js';
import { Desc } from '../../spec/descriptor.js';
import { OpFlag } from '../../spec/flags.js';
import { type Frame, FaultMode } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';

/** Kernel modes (in `f.a`). */
const MODE_CRC32 = 0;
const MODE_CRC32_MSB = 1;
const MODE_CRC64 = 2;

function crcRun(f: Frame, bytes: Uint8Array, off: number, n: number): void {
  const mode = f.a;
  if (mode === MODE_CRC32) f.crc = crc32cUpdate(f.crc, bytes, off, n);
  else if (mode === MODE_CRC32_MSB) f.crc = crc32cUpdateMsbFirst(f.crc, bytes, off, n);
  else crc64Update(f.crc64, bytes, off, n, f.b === 1);
}

function crcKernel(f: Frame, _pos: number, n: number): number {
  const s = f.runs[0]!;
  crcRun(f, s.bytes, s.offset, n);
  return n;
}

function copyCrcKernel(f: Frame, _pos: number, n: number): number {
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  crcRun(f, s.bytes, s.offset, n);
  copyBytes(s.bytes, s.offset, d.bytes, d.offset, n);
  return n;
}

function writeCrc(f: Frame, bypass: boolean): void {
  if (f.a === MODE_CRC64) {
    crc64Finish(f.crc64, bypass);
    f.crView.setUint32(Cr.CRC, f.crc64[0] as number, true);
    f.crView.setUint32(Cr.CRC + 4, f.crc64[1] as number, true);
  } else {
    f.crView.setUint32(Cr.CRC, crc32cFinish(f.crc, bypass), true);
  }
}

function execCrcOp(f: Frame, copy: boolean): number {
  const bypass = f.has(OpFlag.CRC_BYPASS_INVERSION);
  const wide = f.has(OpFlag.CRC64);
  f.a = wide ? MODE_CRC64 : f.has(OpFlag.CRC_BYPASS_DATA_REFLECTION) ? MODE_CRC32_MSB : MODE_CRC32;
  f.b = f.has(OpFlag.CRC_BYPASS_DATA_REFLECTION) ? 1 : 0;
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  let seedLo = f.u32(Desc.CRC_SEED);
  let seedHi = wide ? f.u32(Desc.CRC_SEED + 4) : 0;
  if (f.has(OpFlag.CRC_SEED_ADDR)) {
    // Sources in order: the data source first, then the seed address (§6.1).
    if (f.xlate(Slot.A, 0, 1, false, f.runs[0]!) === 0) return f.reportFault(0);
    const need = wide ? 8 : 4;
    const r = f.runs[3]!;
    let g = f.xlate(Slot.D, 0, need, false, r);
    if (g > 0 && g < need) g = f.fault(Slot.D, 0, false, Status.PAGE_FAULT_NOBOF);
    if (g === 0) return f.reportFault(0);
    const b = r.bytes;
    const o = r.offset;
    seedLo = ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;
    if (wide) seedHi = ((b[o + 4] as number) | ((b[o + 5] as number) << 8) | ((b[o + 6] as number) << 16) | ((b[o + 7] as number) << 24)) >>> 0;
  }
  if (wide) crc64Start(f.crc64, seedLo, seedHi, bypass);
  else f.crc = crc32cStart(seedLo, bypass);
  if (copy) f.setWalk(2, Slot.A, false, Slot.B, true);
  else f.setWalk(1, Slot.A, false);
  const st = f.walk(0, f.size, copy ? copyCrcKernel : crcKernel);
  writeCrc(f, bypass);
  return st !== 0 ? f.reportFault(f.done) : Status.SUCCESS;
}

/** CRCGEN. */
export function execCrcgen(f: Frame): number {
  return execCrcOp(f, false);
}

/** COPY_CRC. */
export function execCopyCrc(f: Frame): number {
  return execCrcOp(f, true);
}
