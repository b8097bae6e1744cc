/**
 * Descriptors a hostile guest submits: well-formed ones of every operation (with their completion
 * records, interrupt handles, batches and faulting addresses), the same mutated (flags, opcode,
 * sizes, reserved bytes, PASID, addresses), and pure noise. Every address a descriptor *writes* data
 * to is kept out of the CR and list areas (layout.ts), so the completion-record area only ever holds
 * records; what a descriptor reads and where its records go is unconstrained.
 */
import { Desc, DESC_SIZE, Flag, Opcode, OpFlag, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import type { Prng } from '../util/prng.js';
import { CR_BASE, CR_BYTES, CR_SLOT, crAddress, DATA_BASE, dataAddress, LIST_BASE, LIST_BYTES, listAddress, readAddress, safeWriteAddress } from './layout.js';
import type { WatchedMemory } from './watched-memory.js';
import { flip } from '../util/bytes.js';

/** The operations of the DSA 1.0 profile (OPCAP). */
export const OPCODES: readonly number[] = [
  Opcode.NOOP, Opcode.BATCH, Opcode.DRAIN, Opcode.MEMMOVE, Opcode.FILL, Opcode.COMPARE, Opcode.COMPVAL, Opcode.CR_DELTA,
  Opcode.AP_DELTA, Opcode.DUALCAST, Opcode.CRCGEN, Opcode.COPY_CRC, Opcode.DIF_CHECK, Opcode.DIF_INS, Opcode.DIF_STRP,
  Opcode.DIF_UPDT, Opcode.CFLUSH,
];

/** Byte offsets of the fields each operation writes data to (the ones kept out of the CR and list areas). */
function writtenFields(op: number): readonly number[] {
  switch (op) {
    case Opcode.MEMMOVE: case Opcode.FILL: case Opcode.AP_DELTA: case Opcode.COPY_CRC: case Opcode.DIF_INS:
    case Opcode.DIF_STRP: case Opcode.DIF_UPDT: case Opcode.CFLUSH:
      return [Desc.DST];
    case Opcode.DUALCAST:
      return [Desc.DST, Desc.DST2];
    case Opcode.CR_DELTA:
      return [Desc.DELTA_ADDR];
    default:
      return [];
  }
}

/** What a guest knows when it builds a descriptor. */
export interface DescriptorSource {
  /** The seeded generator. */
  readonly r: Prng;
  /** The guest PASID it programmed (bytes 0–3 of a shared-WQ submission). */
  readonly pasid: number;
  /** Interrupt handles it holds. */
  readonly handles: readonly number[];
  /** Its memory: batch lists are written there, and record slots zeroed before submission. */
  readonly memory: WatchedMemory;
}

/** How a descriptor was made (for the reproducer and the summary). */
export type DescriptorKind = 'valid' | 'mutated' | 'noise';

function size(r: Prng): number {
  const k = r.below(100);
  if (k < 30) return r.range(1, 64);
  if (k < 70) return r.range(65, 4096);
  if (k < 85) return r.range(4097, 0x9000);
  if (k < 90) return 0;
  if (k < 95) return r.pick([0x1000, 0x2000, 0x8000]);
  return r.pick([0x10_0001, 0x8000_0000, 0x8000_0001, 0xffff_ffff]);
}

function addr(v: DataView, field: number, value: number): void {
  writeDescAddr(v, 0, field, value);
}

/** `x` rounded down to a multiple of `n` (no bitwise operators: addresses may exceed 32 bits). */
function alignDown(x: number, n: number): number {
  return x - (x % n);
}

/** The operations a batch element may have (BATCH and DRAIN are added rarely: they fail inside a batch). */
const ELEMENT_OPCODES = OPCODES.filter((o) => o !== Opcode.BATCH && o !== Opcode.DRAIN);

/** Zeroes the record slot at `cr` if it lies in the CR area, as a driver clears a record before it submits. */
function clearRecord(src: DescriptorSource, cr: number): void {
  if (cr >= CR_BASE && cr + CR_SLOT <= CR_BASE + CR_BYTES && cr % CR_SLOT === 0) src.memory.cpuFill(cr, CR_SLOT, 0);
}

/** DIF block count and block size index (512 or 520 mostly). */
function difShape(r: Prng): { bs: number; idx: number; n: number } {
  const idx = r.chance(0.9) ? r.below(2) : r.range(2, 3);
  return { bs: [512, 520, 4096, 4104][idx] as number, idx, n: r.range(1, idx < 2 ? 6 : 2) };
}

/**
 * A well-formed descriptor of `op` (batch elements when `inBatch`): required flags set, a record
 * and a handle when asked for, sizes and addresses drawn from the pools (so it may still fault).
 */
export function wellFormed(src: DescriptorSource, op: number, inBatch = false): Uint8Array {
  const r = src.r;
  const d = new Uint8Array(DESC_SIZE);
  const v = new DataView(d.buffer);
  let flags = 0;
  const needsRecord = op === Opcode.COMPARE || op === Opcode.COMPVAL || op === Opcode.CR_DELTA || op === Opcode.CRCGEN ||
    op === Opcode.COPY_CRC || op === Opcode.DIF_CHECK;
  if (needsRecord || r.chance(0.9)) {
    flags |= Flag.CRAV;
    const cr = crAddress(r);
    addr(v, Desc.CR_ADDR, cr);
    clearRecord(src, cr);
    if (needsRecord || r.chance(0.6)) flags |= Flag.RCR;
  }
  if (r.chance(0.3) || (op === Opcode.DRAIN && (flags & Flag.RCR) === 0)) {
    flags |= Flag.RCI;
    // Mostly a handle it holds; else a small one (another vdev's, or free) or any value.
    const other = r.chance(0.8) ? r.below(32) : r.below(0x10000);
    v.setUint16(Desc.INT_HANDLE, src.handles.length > 0 && r.chance(0.8) ? r.pick(src.handles) : other, true);
  }
  if (inBatch && r.chance(0.2)) flags |= Flag.FENCE;
  if (r.chance(0.08)) flags |= Flag.BOF;
  const n = size(r);
  switch (op) {
    case Opcode.BATCH: {
      const count = r.chance(0.85) ? r.range(2, 8) : r.pick([0, 1, 9, 33, 200, 2000]);
      const k = r.below(100);
      const list = k < 85 ? listAddress(r, count) : k < 90 ? listAddress(r, count) + 8 : readAddress(r, 64 * count);
      addr(v, Desc.SRC, list);
      v.setUint32(Desc.XFER_SIZE, count, true);
      // A list is written only for a top-level batch (a nested one fails with 0x10 before reading it).
      if (!inBatch && list >= LIST_BASE && list % 64 === 0 && list + 64 * count <= LIST_BASE + LIST_BYTES) {
        for (let i = 0; i < count; i++) {
          const elem = r.chance(0.05) ? r.pick([Opcode.BATCH, Opcode.DRAIN]) : r.pick(ELEMENT_OPCODES);
          src.memory.cpuWrite(list + 64 * i, r.chance(0.85) ? wellFormed(src, elem, true) : mutated(src, elem, true));
        }
      }
      if (r.chance(0.05)) flags |= OpFlag.BATCH_ERROR;
      break;
    }
    case Opcode.DRAIN:
      if (r.chance(0.1)) {
        flags |= OpFlag.DRAIN_READBACK1;
        addr(v, Desc.SRC, readAddress(r, 1));
      }
      break;
    case Opcode.MEMMOVE: {
      const s = readAddress(r, n);
      addr(v, Desc.SRC, s);
      // Sometimes overlapping the source (copied as if through a temporary buffer, §7.4).
      addr(v, Desc.DST, r.chance(0.15) && s >= DATA_BASE ? Math.max(DATA_BASE, s + r.range(-64, 64) * 8) : dataAddress(r, n));
      v.setUint32(Desc.XFER_SIZE, n, true);
      if (r.chance(0.2)) flags |= r.pick([Flag.CC1, Flag.CC2, Flag.STRICT_ORDER, Flag.ADDR1_TCS]);
      break;
    }
    case Opcode.FILL:
      r.fill(d.subarray(Desc.SRC, Desc.SRC + 8));
      addr(v, Desc.DST, dataAddress(r, n));
      v.setUint32(Desc.XFER_SIZE, n, true);
      break;
    case Opcode.COMPARE: {
      const a = readAddress(r, n);
      addr(v, Desc.SRC, a);
      addr(v, Desc.DST, r.chance(0.3) ? a : readAddress(r, n));
      v.setUint32(Desc.XFER_SIZE, n, true);
      if (r.chance(0.5)) flags |= Flag.CHECK_RESULT;
      d[Desc.EXPECTED_RESULT] = r.below(2);
      break;
    }
    case Opcode.COMPVAL:
      addr(v, Desc.SRC, readAddress(r, n));
      if (r.chance(0.5)) r.fill(d.subarray(Desc.DST, Desc.DST + 8));
      v.setUint32(Desc.XFER_SIZE, n, true);
      if (r.chance(0.5)) flags |= Flag.CHECK_RESULT;
      d[Desc.EXPECTED_RESULT] = r.below(2);
      break;
    case Opcode.CR_DELTA: {
      const len = r.chance(0.85) ? r.range(1, 512) * 8 : n;
      addr(v, Desc.SRC, alignDown(readAddress(r, len), 8));
      addr(v, Desc.DST, alignDown(readAddress(r, len), 8));
      addr(v, Desc.DELTA_ADDR, dataAddress(r, 800));
      v.setUint32(Desc.XFER_SIZE, len, true);
      v.setUint32(Desc.MAX_DELTA_SIZE, r.chance(0.9) ? r.range(8, 80) * 10 : r.below(100), true);
      d[Desc.EXPECTED_RESULT_MASK] = r.below(8);
      if (r.chance(0.5)) flags |= Flag.CHECK_RESULT;
      break;
    }
    case Opcode.AP_DELTA: {
      const len = r.chance(0.85) ? r.range(1, 512) * 8 : n;
      addr(v, Desc.SRC, readAddress(r, 400));
      addr(v, Desc.DST, alignDown(dataAddress(r, len), 8));
      v.setUint32(Desc.XFER_SIZE, len, true);
      v.setUint32(Desc.DELTA_SIZE, r.chance(0.9) ? r.range(1, 40) * 10 : r.below(400), true);
      break;
    }
    case Opcode.DUALCAST: {
      addr(v, Desc.SRC, readAddress(r, n));
      const d1 = dataAddress(r, n);
      addr(v, Desc.DST, d1);
      addr(v, Desc.DST2, r.chance(0.85) ? d1 + 0x1000 * r.range(1, 4) : dataAddress(r, n));
      v.setUint32(Desc.XFER_SIZE, n, true);
      break;
    }
    case Opcode.CRCGEN:
    case Opcode.COPY_CRC:
      addr(v, Desc.SRC, readAddress(r, n));
      if (op === Opcode.COPY_CRC) addr(v, Desc.DST, dataAddress(r, n));
      v.setUint32(Desc.XFER_SIZE, n, true);
      if (r.chance(0.2)) {
        flags |= OpFlag.CRC_SEED_ADDR;
        const seedAt = readAddress(r, 4);
        addr(v, Desc.CRC_SEED_ADDR, r.chance(0.9) ? alignDown(seedAt, 4) : seedAt);
      } else {
        v.setUint32(Desc.CRC_SEED, r.u32(), true);
      }
      if (r.chance(0.2)) flags |= OpFlag.CRC_BYPASS_INVERSION;
      if (r.chance(0.2)) flags |= OpFlag.CRC_BYPASS_DATA_REFLECTION;
      break;
    case Opcode.DIF_CHECK:
    case Opcode.DIF_INS:
    case Opcode.DIF_STRP:
    case Opcode.DIF_UPDT: {
      const s = difShape(r);
      const inLen = op === Opcode.DIF_INS ? s.bs * s.n : (s.bs + 8) * s.n;
      addr(v, Desc.SRC, readAddress(r, inLen));
      if (op !== Opcode.DIF_CHECK) addr(v, Desc.DST, dataAddress(r, (s.bs + 8) * s.n));
      v.setUint32(Desc.XFER_SIZE, r.chance(0.9) ? inLen : n, true);
      d[Desc.DIF_FLAGS] = s.idx | (r.below(4) << 2);
      if (op !== Opcode.DIF_INS) d[Desc.SRC_DIF_FLAGS] = r.below(256);
      if (op === Opcode.DIF_INS || op === Opcode.DIF_UPDT) d[Desc.DST_DIF_FLAGS] = r.below(32) << 3;
      if (op !== Opcode.DIF_INS) r.fill(d.subarray(Desc.SRC_REF_SEED, Desc.SRC_REF_SEED + 8));
      if (op === Opcode.DIF_INS || op === Opcode.DIF_UPDT) r.fill(d.subarray(Desc.DST_REF_SEED, Desc.DST_REF_SEED + 8));
      break;
    }
    case Opcode.CFLUSH:
      addr(v, Desc.DST, dataAddress(r, n));
      v.setUint32(Desc.XFER_SIZE, n, true);
      break;
    default:
      break;
  }
  // Mostly its own PASID; else a small one (another vdev's guest PASID, a neighbour) or any.
  const pasid = r.chance(0.8) ? src.pasid : r.chance(0.5) ? r.below(48) : r.below(0x100000);
  writeDescHeader(v, 0, op, flags, pasid, r.chance(0.1));
  return sanitize(r, d);
}

/** A well-formed descriptor of `op` with one to three mutations, its written addresses kept safe. */
export function mutated(src: DescriptorSource, op: number, inBatch = false): Uint8Array {
  const r = src.r;
  const d = wellFormed(src, op, inBatch);
  const v = new DataView(d.buffer);
  for (let m = r.range(1, 3); m > 0; m--) {
    const k = r.below(9);
    if (k === 0) flip(d, r.range(4, 6), 1 << r.below(8));
    else if (k === 1) d[Desc.OPCODE] = r.chance(0.7) ? r.pick(OPCODES) : r.below(256);
    else if (k === 2) d[r.range(32, 39)] = r.below(256);
    else if (k === 3) d[r.range(40, 63)] = r.below(256);
    else if (k === 4) v.setUint32(0, r.u32(), true);
    else if (k === 5) addr(v, Desc.CR_ADDR, crAddress(r));
    else if (k === 6) addr(v, Desc.SRC, readAddress(r, 64));
    else if (k === 7) addr(v, Desc.DST, dataAddress(r, 64));
    else v.setUint32(Desc.XFER_SIZE, size(r), true);
  }
  return sanitize(r, d);
}

/** 64 bytes of noise (half of the time with a supported opcode), its written addresses kept safe. */
export function noise(r: Prng): Uint8Array {
  const d = r.bytes(DESC_SIZE);
  if (r.chance(0.5)) d[Desc.OPCODE] = r.pick(OPCODES);
  return sanitize(r, d);
}

/**
 * Replaces every written-address field of the descriptor's (final) operation that points into the
 * CR or list area with a data address: a mutation must not turn data into a fake completion record.
 */
export function sanitize(r: Prng, d: Uint8Array): Uint8Array {
  const v = new DataView(d.buffer, d.byteOffset, DESC_SIZE);
  for (const field of writtenFields(d[Desc.OPCODE] as number)) {
    if (!safeWriteAddress(v.getUint32(field, true), v.getUint32(field + 4, true))) addr(v, field, dataAddress(r, 64));
  }
  return d;
}

/** A descriptor of a random kind for a guest. */
export function anyDescriptor(src: DescriptorSource): { kind: DescriptorKind; bytes: Uint8Array } {
  const k = src.r.below(100);
  if (k < 60) return { kind: 'valid', bytes: wellFormed(src, src.r.pick(OPCODES)) };
  if (k < 92) return { kind: 'mutated', bytes: mutated(src, src.r.pick(OPCODES)) };
  return { kind: 'noise', bytes: noise(src.r) };
}

/** Two hex digits per byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** One line describing a descriptor: opcode, flags, record address, size and the 64 bytes in hex. */
export function describeDescriptor(d: Uint8Array): string {
  const v = new DataView(d.buffer, d.byteOffset, DESC_SIZE);
  let hex = '';
  for (let i = 0; i < DESC_SIZE; i++) hex += HEX[d[i] as number] as string;
  return `op 0x${(d[Desc.OPCODE] as number).toString(16)} flags 0x${(v.getUint32(Desc.FLAGS, true) & 0xffffff).toString(16)} ` +
    `size 0x${v.getUint32(Desc.XFER_SIZE, true).toString(16)} [${hex}]`;
}
