/**
 * Test harness for the descriptor engine: one guest memory identity-mapped (IOVA = memory offset)
 * for a PASID, a descriptor builder, recording sinks and a completion-record reader.
 */
import {
  Cr,
  Desc,
  DescriptorEngine,
  type EngineCaps,
  ExecContext,
  Flag,
  type InterruptSink,
  SoftwareError,
  type SoftwareErrorSink,
  writeDescAddr,
  writeDescHeader,
} from '../../src/dsa/index.js';
import { GuestMemory, Iommu, type IoAddressSpace, Perm } from '../../src/memory/index.js';

/** Where the harness puts the completion record by default. */
export const CR_IOVA = 0x1000;
/** Start of the default data area. */
export const DATA = 0x10000;

/** A copied SWERROR report. */
export type ErrorRecord = Omit<SoftwareError, 'clear'>;

/** Recording interrupt sink with a configurable validity rule. */
export class RecordingInterrupts implements InterruptSink {
  /** Handles raised, in order. */
  readonly raised: number[] = [];
  /** Handles validated, in order. */
  readonly validated: number[] = [];
  /** Validity rule. */
  valid: (handle: number, ims: boolean, pasidEnabled: boolean, pasid: number) => boolean = (h) => h < 64;
  validate(handle: number, ims: boolean, pasidEnabled: boolean, pasid: number): boolean {
    this.validated.push(handle);
    return this.valid(handle, ims, pasidEnabled, pasid);
  }
  raise(handle: number): void {
    this.raised.push(handle);
  }
}

/** Recording software-error sink (copies each report). */
export class RecordingErrors implements SoftwareErrorSink {
  /** Reports, copied. */
  readonly reports: ErrorRecord[] = [];
  report(err: SoftwareError): void {
    const copy: ErrorRecord = {
      code: err.code,
      descValid: err.descValid,
      wqIndexValid: err.wqIndexValid,
      batchMember: err.batchMember,
      rw: err.rw,
      priv: err.priv,
      errorInfoValid: err.errorInfoValid,
      opcode: err.opcode,
      pasid: err.pasid,
      wqIndex: err.wqIndex,
      batchIndex: err.batchIndex,
      errorInfo: err.errorInfo,
      addressLo: err.addressLo,
      addressHi: err.addressHi,
    };
    this.reports.push(copy);
  }
}

/** Decoded completion record. */
export interface CrView {
  status: number;
  result: number;
  faultInfo: number;
  bc: number;
  faultAddr: number;
  invalidFlags: number;
  /** A u32 of the record as read (a snapshot). */
  u32: (off: number) => number;
  /** A u16 of the record as read (a snapshot). */
  u16: (off: number) => number;
  raw: Uint8Array;
}

/** An engine with memory, an IOMMU space for `pasid`, a context and a descriptor being built. */
export class Harness {
  readonly mem: GuestMemory;
  readonly iommu = new Iommu();
  readonly space: IoAddressSpace;
  readonly ctx = new ExecContext();
  readonly engine: DescriptorEngine;
  readonly interrupts = new RecordingInterrupts();
  readonly errors = new RecordingErrors();
  readonly desc = new Uint8Array(64);
  readonly view = new DataView(this.desc.buffer);
  crIova = CR_IOVA;

  constructor(opts: { caps?: EngineCaps; memSize?: number; pasid?: number; map?: boolean } = {}) {
    this.mem = new GuestMemory(opts.memSize ?? 4 << 20);
    this.engine = new DescriptorEngine(opts.caps);
    const pasid = opts.pasid ?? 1;
    this.space = this.iommu.create(pasid);
    if (opts.map ?? true) this.space.map(0, this.mem.size, this.mem, 0, Perm.RW);
    this.ctx.space = this.space;
    this.ctx.pasid = pasid;
    this.ctx.pasidEnabled = true;
    this.ctx.priv = true;
    this.ctx.interrupts = this.interrupts;
    this.ctx.errors = this.errors;
  }

  /** Starts a new descriptor: zeroed, header set, CR address set when CRAV is in `flags`. */
  start(opcode: number, flags: number = Flag.CRAV | Flag.RCR): this {
    this.desc.fill(0);
    writeDescHeader(this.view, 0, opcode, flags);
    if ((flags & Flag.CRAV) !== 0) writeDescAddr(this.view, 0, Desc.CR_ADDR, this.crIova);
    this.mem.bytes.fill(0, this.crIova, this.crIova + 32);
    return this;
  }

  /** Sets a u64 address field. */
  addr(field: number, value: number): this {
    writeDescAddr(this.view, 0, field, value);
    return this;
  }

  /** Sets a u64 field from two halves. */
  u64(field: number, lo: number, hi: number): this {
    this.view.setUint32(field, lo >>> 0, true);
    this.view.setUint32(field + 4, hi >>> 0, true);
    return this;
  }

  /** Sets a u32 field. */
  u32(field: number, value: number): this {
    this.view.setUint32(field, value >>> 0, true);
    return this;
  }

  /** Sets a u16 field. */
  u16(field: number, value: number): this {
    this.view.setUint16(field, value, true);
    return this;
  }

  /** Sets a u8 field. */
  u8(field: number, value: number): this {
    this.view.setUint8(field, value);
    return this;
  }

  /** Sets the transfer size. */
  size(n: number): this {
    return this.u32(Desc.XFER_SIZE, n);
  }

  /** Executes the descriptor; returns the status byte. */
  exec(): number {
    return this.engine.execute(this.desc, 0, this.ctx);
  }

  /** Reads the completion record at `iova` (default: the harness CR address). */
  cr(iova = this.crIova): CrView {
    const v = this.mem.view;
    const raw = this.mem.bytes.slice(iova, iova + 32);
    return {
      status: v.getUint8(iova + Cr.STATUS),
      result: v.getUint8(iova + Cr.RESULT),
      faultInfo: v.getUint8(iova + Cr.FAULT_INFO),
      bc: v.getUint32(iova + Cr.BYTES_COMPLETED, true),
      faultAddr: v.getUint32(iova + Cr.FAULT_ADDR, true) + v.getUint32(iova + Cr.FAULT_ADDR + 4, true) * 2 ** 32,
      invalidFlags: v.getUint32(iova + Cr.INVALID_FLAGS, true) & 0xffffff,
      u32: (off) => new DataView(raw.buffer).getUint32(off, true),
      u16: (off) => new DataView(raw.buffer).getUint16(off, true),
      raw,
    };
  }

  /** Guest bytes at an identity-mapped IOVA (a view, not a copy). */
  at(iova: number, len: number): Uint8Array {
    return this.mem.bytes.subarray(iova, iova + len);
  }

  /** Copies `data` to guest memory at `iova`. */
  put(iova: number, data: Uint8Array): void {
    this.mem.bytes.set(data, iova);
  }

  /** Unmaps `[iova, iova + size)` (page aligned) so accesses there fault. */
  hole(iova: number, size = 4096): void {
    this.space.unmap(iova, size);
  }

  /** Maps `[iova, iova + size)` back (identity) with `perm`. */
  remap(iova: number, size = 4096, perm: number = Perm.RW): void {
    this.space.map(iova, size, this.mem, iova, perm);
  }
}

/** `ramp(n)`: byte i = i & 0xFF. */
export function ramp(n: number, start = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

/** `pat(n)`: the u64 0x0123456789ABCDEF little-endian, repeated. */
export function pat(n: number): Uint8Array {
  const p = [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01];
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = p[i & 7] as number;
  return b;
}

/** ASCII bytes. */
export function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
