/**
 * One operation in flight: its 64-byte descriptor (kept in the request, not in guest memory — a CPU
 * submits a descriptor from its own operand, MOVDIR64B/ENQCMD, and only batch lists must be in
 * memory the device reads) and what the driver accumulates across resumptions. Requests are pooled
 * by the driver, so an operation reuses one instead of allocating it. The encoders fill the
 * operation fields (dsa-operations.md §1.2); the submit path adds flags, the completion record and
 * the interrupt handle.
 */
import { Desc, DESC_SIZE, writeDescAddr } from '../dsa/spec/descriptor.js';
import { DIF_BLOCK_SIZES, DifFlag, DstDifFlag, OP_SPECIFIC_FLAGS, OpFlag, SrcDifFlag } from '../dsa/spec/flags.js';
import { Opcode } from '../dsa/spec/opcodes.js';
import { IdxdGuestError } from './errors.js';
import type { DifCheckOptions, DifOptions, DifUpdateDest, OpName, OpSpec, Pattern } from './ops.js';

/** What a request carries: an operation, or a batch. */
export type RequestOp = OpName | 'batch';

/** Opcode of each operation. */
export const OPCODES: Readonly<Record<RequestOp, number>> = {
  batch: Opcode.BATCH,
  memmove: Opcode.MEMMOVE,
  fill: Opcode.FILL,
  compare: Opcode.COMPARE,
  comparePattern: Opcode.COMPVAL,
  crc32c: Opcode.CRCGEN,
  copyCrc: Opcode.COPY_CRC,
  dualcast: Opcode.DUALCAST,
  createDelta: Opcode.CR_DELTA,
  applyDelta: Opcode.AP_DELTA,
  difCheck: Opcode.DIF_CHECK,
  difInsert: Opcode.DIF_INS,
  difStrip: Opcode.DIF_STRP,
  difUpdate: Opcode.DIF_UPDT,
};

/** One operation's descriptor and bookkeeping (reused through the driver's pool). */
export class Request {
  /** The descriptor. */
  readonly desc = new Uint8Array(DESC_SIZE);
  /** A view of it. */
  readonly view = new DataView(this.desc.buffer);
  /** The operation. */
  op: RequestOp = 'memmove';
  /** Batch item with Fence. */
  fence = false;
  /** Bytes the caller asked for (statistics). */
  size = 0;
  /** Bytes (of the source side) completed by earlier submissions of this operation. */
  progress = 0;
  /** Descriptors submitted. */
  submissions = 0;
  /** Page faults resolved. */
  faults = 0;
  /** Fault address of the last fault (−1: none yet). */
  lastFault = -1;
  /** How often {@link lastFault} repeated without progress. */
  faultRepeats = 0;
  /** CR_DELTA: IOVA of the caller's delta record. */
  deltaBase = 0;
  /** CR_DELTA: size of the caller's delta record in bytes. */
  deltaMax = 0;
  /** CR_DELTA: bytes of the caller's record filled so far. */
  deltaUsed = 0;
  /** CR_DELTA: the scratch record in use (−1: none). */
  deltaScratch = -1;
  /** CR_DELTA: where an overflow was seen (−1: none). */
  deltaOverflowAt = -1;

  /** Clears the descriptor and the bookkeeping for a new operation `op`. */
  reset(op: RequestOp): this {
    this.desc.fill(0);
    this.op = op;
    this.fence = false;
    this.size = 0;
    this.progress = 0;
    this.submissions = 0;
    this.faults = 0;
    this.lastFault = -1;
    this.faultRepeats = 0;
    this.deltaBase = 0;
    this.deltaMax = 0;
    this.deltaUsed = 0;
    this.deltaScratch = -1;
    this.deltaOverflowAt = -1;
    this.desc[Desc.OPCODE] = OPCODES[op];
    return this;
  }

  /** Makes this request a copy of `r` (descriptor and bookkeeping; the scratch record moves over, Fence does not). */
  takeOver(r: Request): this {
    this.desc.set(r.desc);
    this.op = r.op;
    this.fence = false;
    this.size = r.size;
    this.progress = r.progress;
    this.submissions = r.submissions;
    this.faults = r.faults;
    this.lastFault = r.lastFault;
    this.faultRepeats = r.faultRepeats;
    this.deltaBase = r.deltaBase;
    this.deltaMax = r.deltaMax;
    this.deltaUsed = r.deltaUsed;
    this.deltaScratch = r.deltaScratch;
    this.deltaOverflowAt = r.deltaOverflowAt;
    r.deltaScratch = -1;
    return this;
  }

  /** The opcode. */
  get opcode(): number {
    return this.desc[Desc.OPCODE] as number;
  }

  /** A u64 address field. */
  addr(field: number): number {
    return this.view.getUint32(field + 4, true) * 0x1_0000_0000 + this.view.getUint32(field, true);
  }

  /** Sets a u64 address field. */
  setAddr(field: number, value: number): void {
    writeDescAddr(this.view, 0, field, value);
  }

  /** A u32 field. */
  u32(field: number): number {
    return this.view.getUint32(field, true);
  }

  /** Sets a u32 field. */
  setU32(field: number, value: number): void {
    this.view.setUint32(field, value >>> 0, true);
  }

  /**
   * Sets the operation-specific flags (bits 23:16, descriptor byte 6); the submit path adds the
   * generic flags of bits 15:0 and keeps these.
   */
  setOpFlags(flags: number): void {
    this.desc[Desc.FLAGS + 2] = (flags & OP_SPECIFIC_FLAGS) >>> 16;
  }

  /** Transfer size. */
  get xfer(): number {
    return this.u32(Desc.XFER_SIZE);
  }

  set xfer(n: number) {
    this.setU32(Desc.XFER_SIZE, n);
  }
}

function address(what: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new IdxdGuestError('argument', `${what} 0x${v.toString(16)} is not an IOVA`);
  return v;
}

function size(what: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min || v > 0xffffffff) throw new IdxdGuestError('argument', `${what} ${v} is not a byte count in ${min}..2^32-1`);
  return v;
}

/** Writes an 8-byte pattern at descriptor byte `field` (pattern bytes in memory order). */
function writePattern(r: Request, field: number, p: Pattern): void {
  if (typeof p === 'bigint') {
    r.setU32(field, Number(p & 0xffffffffn));
    r.setU32(field + 4, Number((p >> 32n) & 0xffffffffn));
    return;
  }
  if (p.length !== 8) throw new IdxdGuestError('argument', `a pattern is 8 bytes, not ${p.length}`);
  r.desc.set(p, field);
}

function blockIndex(bs: number | undefined): number {
  const i = DIF_BLOCK_SIZES.indexOf(bs ?? 512);
  if (i < 0) throw new IdxdGuestError('argument', `DIF block size ${String(bs)} is not one of ${DIF_BLOCK_SIZES.join(', ')}`);
  return i;
}

/** DIF Flags (byte 42): block size and guard seed/result inversion. */
function difFlags(o: DifOptions): number {
  return blockIndex(o.blockSize) | (o.guardSeedOnes === true ? DifFlag.INVERT_SEED : 0) | (o.guardInverted === true ? DifFlag.INVERT_RESULT : 0);
}

const F_DETECT: Readonly<Record<NonNullable<DifCheckOptions['fDetect']>, number>> = {
  none: 0,
  app: SrcDifFlag.APP_F_DETECT,
  'app-ref': SrcDifFlag.APP_REF_F_DETECT,
  all: SrcDifFlag.ALL_F_DETECT,
  'all-error': SrcDifFlag.ALL_F_DETECT | SrcDifFlag.ALL_F_DETECT_ERROR,
};

/** Source DIF flags (byte 40). */
function srcDifFlags(o: DifCheckOptions): number {
  return (o.refTagFixed === true ? SrcDifFlag.REF_FIXED : 0) | (o.refTagCheck === false ? SrcDifFlag.REF_CHECK_DISABLE : 0) |
    (o.guardCheck === false ? SrcDifFlag.GUARD_CHECK_DISABLE : 0) | (o.appTagIncrementing === true ? SrcDifFlag.APP_INCREMENT : 0) |
    F_DETECT[o.fDetect ?? 'none'];
}

/** Destination DIF flags (byte 41). */
function dstDifFlags(o: DifUpdateDest): number {
  return (o.refTagFixed === true ? DstDifFlag.REF_FIXED : 0) | (o.passRefTag === true ? DstDifFlag.REF_PASS_THROUGH : 0) |
    (o.passGuard === true ? DstDifFlag.GUARD_PASS_THROUGH : 0) | (o.appTagIncrementing === true ? DstDifFlag.APP_INCREMENT : 0) |
    (o.passAppTag === true ? DstDifFlag.APP_PASS_THROUGH : 0);
}

/** Writes the tag seeds of `o` at the source (48) or destination (56) seed fields. */
function writeTags(r: Request, refField: number, o: DifOptions): void {
  r.setU32(refField, o.refTag ?? 0);
  r.view.setUint16(refField + 4, (o.appTagMask ?? 0) & 0xffff, true);
  r.view.setUint16(refField + 6, (o.appTag ?? 0) & 0xffff, true);
}

/** Fills `r` (reset for `spec.op`) with the operation fields of `spec`. */
export function encode(r: Request, spec: OpSpec): Request {
  r.reset(spec.op);
  r.fence = spec.fence === true;
  switch (spec.op) {
    case 'memmove':
      r.setAddr(Desc.SRC, address('src', spec.src));
      r.setAddr(Desc.DST, address('dst', spec.dst));
      r.xfer = r.size = size('size', spec.size);
      break;
    case 'fill':
      writePattern(r, Desc.SRC, spec.pattern);
      r.setAddr(Desc.DST, address('dst', spec.dst));
      r.xfer = r.size = size('size', spec.size);
      break;
    case 'compare':
      r.setAddr(Desc.SRC, address('src1', spec.src1));
      r.setAddr(Desc.DST, address('src2', spec.src2));
      r.xfer = r.size = size('size', spec.size);
      break;
    case 'comparePattern':
      r.setAddr(Desc.SRC, address('src', spec.src));
      writePattern(r, Desc.DST, spec.pattern);
      r.xfer = r.size = size('size', spec.size);
      break;
    case 'crc32c':
    case 'copyCrc':
      r.setAddr(Desc.SRC, address('src', spec.src));
      if (spec.op === 'copyCrc') r.setAddr(Desc.DST, address('dst', spec.dst));
      r.xfer = r.size = size('size', spec.size);
      r.setU32(Desc.CRC_SEED, spec.seed ?? 0);
      r.setOpFlags((spec.bypassInversion === true ? OpFlag.CRC_BYPASS_INVERSION : 0) | (spec.bypassDataReflection === true ? OpFlag.CRC_BYPASS_DATA_REFLECTION : 0));
      break;
    case 'dualcast':
      r.setAddr(Desc.SRC, address('src', spec.src));
      r.setAddr(Desc.DST, address('dst1', spec.dst1));
      r.setAddr(Desc.DST2, address('dst2', spec.dst2));
      r.xfer = r.size = size('size', spec.size);
      break;
    case 'createDelta':
      r.setAddr(Desc.SRC, address('original', spec.original));
      r.setAddr(Desc.DST, address('modified', spec.modified));
      r.setAddr(Desc.DELTA_ADDR, address('record', spec.record));
      r.setU32(Desc.MAX_DELTA_SIZE, size('maxRecordSize', spec.maxRecordSize));
      r.xfer = r.size = size('size', spec.size);
      r.deltaBase = spec.record;
      r.deltaMax = spec.maxRecordSize;
      break;
    case 'applyDelta':
      r.setAddr(Desc.SRC, address('record', spec.record));
      r.setAddr(Desc.DST, address('dst', spec.dst));
      r.setU32(Desc.DELTA_SIZE, size('recordSize', spec.recordSize));
      r.xfer = r.size = size('size', spec.size);
      break;
    case 'difCheck':
    case 'difStrip': {
      const o = spec.dif ?? {};
      r.setAddr(Desc.SRC, address('src', spec.src));
      if (spec.op === 'difStrip') r.setAddr(Desc.DST, address('dst', spec.dst));
      r.xfer = r.size = size('size', spec.size);
      r.desc[Desc.SRC_DIF_FLAGS] = srcDifFlags(o);
      r.desc[Desc.DIF_FLAGS] = difFlags(o);
      writeTags(r, Desc.SRC_REF_SEED, o);
      break;
    }
    case 'difInsert': {
      const o = spec.dif ?? {};
      r.setAddr(Desc.SRC, address('src', spec.src));
      r.setAddr(Desc.DST, address('dst', spec.dst));
      r.xfer = r.size = size('size', spec.size);
      r.desc[Desc.DST_DIF_FLAGS] = (o.refTagFixed === true ? DstDifFlag.REF_FIXED : 0) | (o.appTagIncrementing === true ? DstDifFlag.APP_INCREMENT : 0);
      r.desc[Desc.DIF_FLAGS] = difFlags(o);
      writeTags(r, Desc.DST_REF_SEED, o);
      break;
    }
    case 'difUpdate': {
      const s = spec.source ?? {};
      const d = spec.dest ?? {};
      r.setAddr(Desc.SRC, address('src', spec.src));
      r.setAddr(Desc.DST, address('dst', spec.dst));
      r.xfer = r.size = size('size', spec.size);
      r.desc[Desc.SRC_DIF_FLAGS] = srcDifFlags(s);
      r.desc[Desc.DST_DIF_FLAGS] = dstDifFlags(d);
      r.desc[Desc.DIF_FLAGS] = difFlags(s);
      writeTags(r, Desc.SRC_REF_SEED, s);
      writeTags(r, Desc.DST_REF_SEED, d);
      break;
    }
  }
  return r;
}

/** Data bytes per DIF block of the request (DIF Flags bits 1:0). */
export function difBlockSize(r: Request): number {
  return DIF_BLOCK_SIZES[(r.desc[Desc.DIF_FLAGS] as number) & DifFlag.BLOCK_SIZE_MASK] as number;
}
