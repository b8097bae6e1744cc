/**
 * Fixtures of the vdev tests: a DSA device model (deterministic) with its host driver probed and
 * configured with mediated WQs, the vidxd parent registered on an mdev bus, vdev creation, and a
 * `Guest` that drives an open vdev through the VFIO device API only (config and BAR0 through
 * `readRegion`/`writeRegion`, BAR2 through `mmap`), with its own guest memory mapped in its own IOAS.
 */
import { CMD, Command, Cr, DsaDevice, type DsaProfile, dsaProfile, type SubmitStatusValue } from '../../src/dsa/index.js';
import { type DeviceConfig, IdxdHost } from '../../src/host/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import {
  EventFd, regionOffset, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR2_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, type VfioDevice, VfioIoas,
} from '../../src/vfio/index.js';
import { DEDICATED_TYPE, SHARED_TYPE, type Vdev, VidxdParent, type VidxdParentOptions, type VdevPortalMapping } from '../../src/vidxd/index.js';

/** Guest memory size of each guest. */
export const GUEST_MEM = 1 << 20;
/** Region indices. */
export const BAR0 = VFIO_PCI_BAR0_REGION_INDEX;
export const BAR2 = VFIO_PCI_BAR2_REGION_INDEX;
export const CONFIG = VFIO_PCI_CONFIG_REGION_INDEX;

/**
 * The parent's configuration: WQ 0 (16) and WQ 1 (8, priority 5, block on fault) dedicated and
 * mediated in group 0 (engines 0, 1); WQ 2 (32, threshold 24) and WQ 3 (16) shared and mediated in
 * group 1 (engines 2, 3; traffic classes 2/3); WQ 4 dedicated for the host's own use. GENCFG.user_int_en
 * is left to the host driver, which sets it because WQs are mediated: the vdevs' user-mode (Priv 0)
 * PASID descriptors may request completion interrupts.
 */
export const PARENT_CONFIG: DeviceConfig = {
  groups: [
    { id: 0, engines: [0, 1] },
    { id: 1, engines: [2, 3], tcA: 2, tcB: 3 },
  ],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true },
    { id: 1, group: 0, mode: 'dedicated', size: 8, priority: 5, blockOnFault: true, maxTransferShift: 20, mediated: true },
    { id: 2, group: 1, mode: 'shared', size: 32, threshold: 24, mediated: true },
    { id: 3, group: 1, mode: 'shared', size: 16, mediated: true },
    { id: 4, group: 0, mode: 'dedicated', size: 16 },
  ],
};

/** The parent device, its host driver, the vidxd parent and the mdev bus it is registered on. */
export interface ParentRig {
  readonly dev: DsaDevice;
  readonly host: IdxdHost;
  readonly parent: VidxdParent;
  readonly bus: MdevBus<VdevPortalMapping>;
}

/** Full type ids of the two types on the default parent. */
export const DWQ = `idxd-${DEDICATED_TYPE}`;
export const SWQ = `idxd-${SHARED_TYPE}`;

/** A deterministic DSA device, probed and loaded with {@link PARENT_CONFIG}, and the vidxd parent registered on a bus. */
export function parentRig(options: { profile?: Partial<DsaProfile>; config?: DeviceConfig; parent?: VidxdParentOptions } = {}): ParentRig {
  const dev = new DsaDevice({ profile: dsaProfile(options.profile ?? {}) });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(options.config ?? PARENT_CONFIG);
  const parent = new VidxdParent(host, options.parent);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  return { dev, host, parent, bus };
}

let uuidCounter = 0;

/** A fresh, valid, lowercase UUID (deterministic sequence). */
export function nextUuid(): string {
  uuidCounter++;
  return `00000000-0000-4000-8000-${uuidCounter.toString(16).padStart(12, '0')}`;
}

/** Creates a vdev of type `typeId` and returns it with its UUID. */
export function createVdev(rig: ParentRig, typeId: string): { uuid: string; vdev: Vdev } {
  const uuid = nextUuid();
  rig.bus.create(typeId, uuid);
  const vdev = rig.parent.vdev(uuid);
  if (vdev === undefined) throw new Error('created vdev not found');
  return { uuid, vdev };
}

/** What {@link Guest.up} programs. */
export interface UpOptions {
  /** WQCFG.pasid (default 7). */
  readonly pasid?: number;
  /** WQCFG.pasid_en on a dedicated vdev (default false; a shared vdev always has it). */
  readonly pasidEn?: boolean;
  /** WQCFG.priv (default false). */
  readonly priv?: boolean;
  /** Enable PCI PASID (+priv), ATS and PRI (default true). */
  readonly svm?: boolean;
  /** GENCTRL software-error and halt interrupts (default true). */
  readonly errorInts?: boolean;
}

/** The guest of one open vdev: its memory, its IOAS, its interrupt triggers and a driver speaking the VFIO API. */
export class Guest {
  readonly vdev: Vdev;
  readonly dev: VfioDevice<VdevPortalMapping>;
  readonly mem = new GuestMemory(GUEST_MEM);
  readonly ioas = new VfioIoas();
  /** One EventFd per MSI-X vector. */
  readonly fds: EventFd[];

  /** Opens `uuid` on `rig`, maps all of its memory at IOVA 0 of a new IOAS and attaches it. */
  constructor(rig: ParentRig, uuid: string) {
    const vdev = rig.parent.vdev(uuid);
    if (vdev === undefined) throw new Error(`no vdev ${uuid}`);
    this.vdev = vdev;
    this.dev = rig.bus.open(uuid);
    this.ioas.map({ iova: 0, size: GUEST_MEM, memory: this.mem, offset: 0, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE });
    this.dev.attachIoas(this.ioas);
    this.fds = Array.from({ length: vdev.facts.vectors }, () => new EventFd());
  }

  /** Reads `size` bytes of region `index` at `offset`, little-endian. */
  read(index: number, offset: number, size: 1 | 2 | 4 = 4): number {
    const buf = new Uint8Array(size);
    this.dev.readRegion(index, offset, buf);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (buf[i] as number);
    return v >>> 0;
  }

  /** Writes the low `size` bytes of `value` to region `index` at `offset`. */
  write(index: number, offset: number, value: number, size: 1 | 2 | 4 = 4): void {
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i++) buf[i] = (value >>> (8 * i)) & 0xff;
    this.dev.writeRegion(index, offset, buf);
  }

  /** A config-space read. */
  cfg(offset: number, size: 1 | 2 | 4 = 4): number {
    return this.read(CONFIG, offset, size);
  }

  /** A config-space write. */
  setCfg(offset: number, value: number, size: 1 | 2 | 4 = 4): void {
    this.write(CONFIG, offset, value, size);
  }

  /** A BAR0 dword read. */
  r32(offset: number): number {
    return this.read(BAR0, offset);
  }

  /** A BAR0 dword write. */
  w32(offset: number, value: number): void {
    this.write(BAR0, offset, value);
  }

  /** An 8-byte BAR0 read as [low, high]. */
  r64(offset: number): [number, number] {
    const buf = new Uint8Array(8);
    this.dev.readRegion(BAR0, offset, buf);
    const v = new DataView(buf.buffer);
    return [v.getUint32(0, true), v.getUint32(4, true)];
  }

  /** Writes CMD (a 4-byte write) and returns CMDSTS. */
  cmd(code: number, operand = 0, intReq = false): number {
    this.w32(CMD.offset, ((code << CMD.fields.cmd.lo) | operand | (intReq ? 0x80000000 : 0)) >>> 0);
    return this.r32(0xa8);
  }

  /** Memory decode and bus mastering on. */
  pciOn(): void {
    this.setCfg(0x04, 0x0006, 2);
  }

  /** PASID (with privileged mode), ATS and PRI enabled in config space. */
  svmOn(): void {
    this.setCfg(0x126, 0x5, 2);
    this.setCfg(0x106, 0x8000, 2);
    this.setCfg(0x114, 0x1, 2);
  }

  /** MSI-X enabled, every vector unmasked, an EventFd installed on each vector. */
  interruptsOn(): void {
    this.setCfg(0x42, 0x8000, 2);
    for (let v = 0; v < this.fds.length; v++) this.w32(0x600 + 16 * v + 12, 0);
    this.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: this.fds.length, data: this.fds });
  }

  /** Programs WQCFG dword 2 (pasid, pasid_en, priv) keeping its read-only bits. */
  wqcfgPasid(pasid: number, pasidEn: boolean, priv: boolean): void {
    const keep = this.r32(0x508) & 0xff;
    this.w32(0x508, (keep | ((pasid & 0xfffff) << 8) | (pasidEn ? 1 << 28 : 0) | (priv ? 1 << 29 : 0)) >>> 0);
  }

  /** Brings the vdev up as a guest driver does: PCI on, interrupts on, WQCFG, ENABLE_DEVICE, ENABLE_WQ. Throws unless both succeed. */
  up(o: UpOptions = {}): this {
    this.pciOn();
    if (o.svm ?? true) this.svmOn();
    this.interruptsOn();
    if (o.errorInts ?? true) this.w32(0x88, 3);
    const shared = this.vdev.mode === 'shared';
    this.wqcfgPasid(o.pasid ?? 7, shared || (o.pasidEn ?? false), o.priv ?? false);
    const a = this.cmd(Command.ENABLE_DEVICE);
    if (a !== 0) throw new Error(`ENABLE_DEVICE: CMDSTS 0x${a.toString(16)}`);
    const b = this.cmd(Command.ENABLE_WQ, 0);
    if (b !== 0) throw new Error(`ENABLE_WQ: CMDSTS 0x${b.toString(16)}`);
    return this;
  }

  /** REQUEST_INT_HANDLE for `vector`; returns the handle (throws on an error). */
  handle(vector: number): number {
    const st = this.cmd(Command.REQUEST_INT_HANDLE, vector);
    if ((st & 0xff) !== 0) throw new Error(`REQUEST_INT_HANDLE: CMDSTS 0x${st.toString(16)}`);
    return (st >>> 8) & 0xffff;
  }

  /** The portal object mapped at BAR2 page `page`. */
  portal(page: number): VdevPortalMapping {
    return this.dev.mmap(regionOffset(BAR2) + page * 0x1000, 0x1000);
  }

  /** Submits through the mapped portal of `page` (default: the limited page for a shared vdev, else the unlimited). */
  submit(desc: Uint8Array, page = this.vdev.mode === 'shared' ? 1 : 0): SubmitStatusValue {
    return this.portal(page).submit(desc, 0);
  }

  /** Completion-record status byte at `iova` of this guest's memory. */
  status(iova: number): number {
    return this.mem.bytes[iova + Cr.STATUS] as number;
  }

  /** SWERR as eight dwords. */
  swerr(): number[] {
    return Array.from({ length: 8 }, (_, k) => this.r32(0xc0 + 4 * k));
  }

  /** SWERR error code (bits 15:8) when valid, else -1. */
  swerrCode(): number {
    const d = this.r32(0xc0);
    return (d & 1) === 0 ? -1 : (d >>> 8) & 0xff;
  }

  /** Acknowledges SWERR (valid and overflow) and INTCAUSE. */
  ack(): void {
    this.w32(0xc0, 3);
    this.w32(0x98, 0xffffffff);
  }

  /** Counts of each EventFd, read and reset. */
  interrupts(): number[] {
    return this.fds.map((f) => f.read());
  }
}

/** Creates a vdev of `typeId`, opens it and returns its guest. */
export function openGuest(rig: ParentRig, typeId: string): Guest {
  return new Guest(rig, createVdev(rig, typeId).uuid);
}
