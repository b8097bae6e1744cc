/**
 * Fixtures of the device-model tests: a DSA device over identity-mapped guest memory, raw register
 * programming through BAR0 (the tests drive the model the way a driver does), commands, descriptor
 * builders and interrupt recorders.
 */
import {
  CMD, Command, CMDSTS, Cr, Desc, DsaDevice, type DsaDeviceOptions, type DsaProfile, dsaProfile, Flag, GENCTRL, GRPENGCFG,
  GRPWQCFG, INTCAUSE, Opcode, type RegisterDef, SWERR, WQCFG, writeDescAddr, writeDescHeader,
} from '../../src/dsa/index.js';
import { GuestMemory, type IoAddressSpace, Perm } from '../../src/memory/index.js';
import { Command as PciCommand } from '../../src/pci/index.js';

/** Size of the guest memory the fixtures map. */
export const MEM_SIZE = 1 << 20;
/** PASIDs with an identity-mapped address space (0 = requester-ID space). */
export const PASIDS = [0, 1, 2, 3] as const;

/** Field values of a register, by field key. */
export type Values<R extends RegisterDef> = Partial<Record<keyof R['fields'], number>>;

/** The dwords of `reg` with `values` (other fields 0). */
export function pack<R extends RegisterDef>(reg: R, values: Values<R>): number[] {
  const out = new Array<number>(reg.size >>> 2).fill(0);
  for (const key of Object.keys(values) as (keyof R['fields'])[]) {
    const f = reg.fields[key as string];
    const v = values[key];
    if (f === undefined || v === undefined) continue;
    const d = f.lo >>> 5;
    out[d] = ((out[d] as number) | ((v & (f.width >= 32 ? 0xffffffff : (1 << f.width) - 1)) << (f.lo & 31))) >>> 0;
  }
  return out;
}

/** A device with guest memory and an interrupt recorder. */
export class Rig {
  readonly dev: DsaDevice;
  readonly mem = new GuestMemory(MEM_SIZE);
  /** MSI-X vectors delivered, in order. */
  readonly vectors: number[] = [];
  /** IMS entries delivered, in order. */
  readonly ims: number[] = [];
  private readonly spaces = new Map<number, IoAddressSpace>();

  constructor(options: DsaDeviceOptions & { profile?: DsaProfile } = {}) {
    this.dev = new DsaDevice(options);
    for (const p of PASIDS) {
      const space = this.dev.iommu.create(p);
      space.map(0, MEM_SIZE, this.mem, 0, Perm.RW);
      this.spaces.set(p, space);
    }
    this.dev.setMsixDelivery((v) => {
      this.vectors.push(v);
      return true;
    });
    this.dev.setImsDelivery((e) => {
      this.ims.push(e);
      return true;
    });
  }

  /** The address space of `pasid` (one of {@link PASIDS}). */
  space(pasid: number): IoAddressSpace {
    const s = this.spaces.get(pasid);
    if (s === undefined) throw new Error(`PASID ${pasid} has no space`);
    return s;
  }

  /** Reads a dword of BAR0. */
  r32(off: number): number {
    return this.dev.bar0.read32(off);
  }

  /** Writes a dword of BAR0. */
  w32(off: number, v: number): void {
    this.dev.bar0.write32(off, v);
  }

  /** Offset of instance `i` of `reg`. */
  at(reg: RegisterDef, i = 0): number {
    return this.dev.regs.offsetOf(reg, i);
  }

  /** Writes every dword of instance `i` of `reg` through BAR0. */
  write<R extends RegisterDef>(reg: R, i: number, values: Values<R>): void {
    pack(reg, values).forEach((v, k) => this.w32(this.at(reg, i) + 4 * k, v));
  }

  /** A field of instance `i` as software reads it (BAR0). */
  field<R extends RegisterDef>(reg: R, key: keyof R['fields'], i = 0): number {
    const f = reg.fields[key as string];
    if (f === undefined) throw new Error(`no field ${String(key)}`);
    const v = this.r32(this.at(reg, i) + 4 * (f.lo >>> 5));
    return (v >>> (f.lo & 31)) & (f.width >= 32 ? 0xffffffff : (1 << f.width) - 1);
  }

  /** Memory decode, bus master, MSI-X enabled and every vector unmasked, PASID (+priv), ATS and PRI enabled. */
  pciUp(options: { pasid?: boolean; pri?: boolean } = {}): this {
    const cfg = this.dev.pci.config;
    cfg.write(4, 2, PciCommand.MEMORY | PciCommand.BUS_MASTER);
    const m = this.dev.msix;
    cfg.write(m.offset + 2, 2, 0x8000);
    for (let v = 0; v < m.vectors; v++) this.w32(this.dev.layout.msixTable + 16 * v + 12, 0);
    if (options.pasid ?? true) cfg.write(this.dev.pasid.offset + 6, 2, 0x5);
    cfg.write(this.dev.ats.offset + 6, 2, 0x8000);
    if (options.pri ?? true) cfg.write(this.dev.pri.offset + 4, 2, 0x1);
    return this;
  }

  /** GENCTRL: software-error and halt interrupts on. */
  errorsOn(): this {
    this.write(GENCTRL, 0, { softerrIntEn: 1, haltIntEn: 1 });
    return this;
  }

  /** Puts WQs and engines into group `g` (GRPCFG). */
  group(g: number, wqs: readonly number[], engines: readonly number[]): this {
    const wqWords = new Array<number>(8).fill(0);
    for (const w of wqs) wqWords[w >>> 5] = ((wqWords[w >>> 5] as number) | (1 << (w & 31))) >>> 0;
    wqWords.forEach((v, k) => this.w32(this.at(GRPWQCFG, g) + 4 * k, v));
    let eng = 0;
    for (const e of engines) eng |= 1 << e;
    this.w32(this.at(GRPENGCFG, g), eng >>> 0);
    this.w32(this.at(GRPENGCFG, g) + 4, 0);
    return this;
  }

  /** Programs WQCFG of WQ `q` (defaults: priority 1, max shifts of the profile). */
  wq(q: number, values: Values<typeof WQCFG>): this {
    const p = this.dev.profile;
    this.write(WQCFG, q, { priority: 1, maxXferShift: p.maxTransferShift, maxBatchShift: p.maxBatchShift, ...values });
    return this;
  }

  /** Dedicated WQ `q` of `size` (no PASID unless given). */
  dwq(q: number, size: number, values: Values<typeof WQCFG> = {}): this {
    return this.wq(q, { wqSize: size, mode: 1, ...values });
  }

  /** Shared WQ `q` of `size` (threshold = size unless given). */
  swq(q: number, size: number, values: Values<typeof WQCFG> = {}): this {
    return this.wq(q, { wqSize: size, wqThresh: size, mode: 0, pasidEn: 1, ...values });
  }

  /** Writes CMD and returns CMDSTS. */
  cmd(code: number, operand = 0, intReq = false): number {
    this.w32(this.at(CMD), ((code << CMD.fields.cmd.lo) | operand | (intReq ? 0x80000000 : 0)) >>> 0);
    return this.r32(this.at(CMDSTS));
  }

  /** Enable Device, then Enable WQ for each of `wqs`; throws unless all succeed. */
  up(wqs: readonly number[]): this {
    const st = this.cmd(Command.ENABLE_DEVICE);
    if (st !== 0) throw new Error(`enable device: CMDSTS 0x${st.toString(16)}`);
    return this.enableWqs(wqs);
  }

  /** Enable WQ for each of `wqs`; throws unless all succeed. */
  enableWqs(wqs: readonly number[]): this {
    for (const q of wqs) {
      const s = this.cmd(Command.ENABLE_WQ, q);
      if (s !== 0) throw new Error(`enable WQ ${q}: CMDSTS 0x${s.toString(16)}`);
    }
    return this;
  }

  /** SWERR as dwords. */
  swerr(): number[] {
    return Array.from({ length: 8 }, (_, k) => this.r32(this.at(SWERR) + 4 * k));
  }

  /** A SWERR field. */
  swerrField(key: keyof typeof SWERR.fields): number {
    return this.field(SWERR, key);
  }

  /** INTCAUSE. */
  intcause(): number {
    return this.r32(this.at(INTCAUSE));
  }

  /** Completion-record status byte at `iova`. */
  status(iova: number): number {
    return this.mem.bytes[iova + Cr.STATUS] as number;
  }

  /** Bytes of guest memory at `iova`. */
  bytes(iova: number, n: number): Uint8Array {
    return this.mem.bytes.subarray(iova, iova + n);
  }
}

/** A default-profile rig, optionally with profile overrides. */
export function rig(profile: Partial<DsaProfile> = {}, options: DsaDeviceOptions = {}): Rig {
  return new Rig({ ...options, profile: dsaProfile(profile) });
}

/** Options of a descriptor. */
export interface DescOptions {
  flags?: number;
  cr?: number;
  handle?: number | undefined;
  pasid?: number;
  priv?: boolean;
}

/** A 64-byte descriptor. */
export function desc(opcode: number, fields: Readonly<Record<number, number>> = {}, o: DescOptions = {}): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  let flags = o.flags ?? (o.cr === undefined ? 0 : Flag.CRAV | Flag.RCR);
  if (o.handle !== undefined) flags |= Flag.RCI;
  writeDescHeader(v, 0, opcode, flags, o.pasid ?? 0, o.priv ?? false);
  if (o.cr !== undefined) writeDescAddr(v, 0, Desc.CR_ADDR, o.cr);
  if (o.handle !== undefined) v.setUint16(Desc.INT_HANDLE, o.handle, true);
  for (const [off, val] of Object.entries(fields)) {
    const at = Number(off);
    if (at === Desc.XFER_SIZE) v.setUint32(at, val, true);
    else writeDescAddr(v, 0, at, val);
  }
  return b;
}

/** MEMMOVE of `size` bytes from `src` to `dst` with a completion record at `cr`. */
export function memmove(src: number, dst: number, size: number, o: DescOptions = {}): Uint8Array {
  return desc(Opcode.MEMMOVE, { [Desc.SRC]: src, [Desc.DST]: dst, [Desc.XFER_SIZE]: size }, o);
}

/** NOOP with a completion record at `cr`. */
export function noop(cr: number, o: DescOptions = {}): Uint8Array {
  return desc(Opcode.NOOP, {}, { cr, ...o });
}
