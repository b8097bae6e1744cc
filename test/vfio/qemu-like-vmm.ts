/**
 * A VMM that assigns a VFIO device to its guest the way QEMU's vfio-pci does, for tests that need to
 * know a device works under a real VMM and not only under a guest that talks VFIO itself:
 *
 * - It emulates the guest's MSI-X capability control (enable, function mask) and the MSI-X table and
 *   PBA itself. Guest accesses to those never reach the device: the device's own MSI-X capability stays
 *   as the device reset it (disabled, every entry masked), and must not matter.
 * - When the guest enables MSI-X it installs one trigger per vector with SET_IRQS; when the guest
 *   disables it, it disables the index. A masked vector (entry mask or function mask) gets the VMM's
 *   own trigger, which only sets the vector's bit in the emulated PBA; unmasking swaps the delivering
 *   trigger back and injects a pending vector once. (QEMU keeps a vector's KVM route but swaps its
 *   eventfd for a QEMU-side handler the same way.)
 * - Everything else — config space outside MSI-X control, the rest of the BARs, mmap, device and
 *   region info — goes to the device unchanged.
 *
 * The guest reaches the device through {@link QemuLikeVmm.guest}, which has the VFIO device calls a
 * guest driver uses. A guest kernel has no SET_IRQS: where the reference driver calls it on the MSI-X
 * index, that stands for what a guest kernel does with `request_irq` (it names the handler of each
 * vector), so the VMM keeps those handlers as the guest's interrupt controller and injects into them;
 * it never passes them to the device. SET_IRQS on other indices goes to the device.
 */
import {
  type DeviceInfo, fireTrigger, type IrqInfo, type IrqSetRequest, type IrqTrigger, isIrqTrigger, type RegionInfo, type TriggerSlot,
  VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_TYPE_MASK, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_TYPE_MASK, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VfioError,
} from '../../src/vfio/index.js';

/** The VFIO device calls a VMM (and a guest driver) makes; a `VfioDevice` has them all. */
export interface AssignedDevice {
  /** VFIO_DEVICE_GET_INFO. */
  getInfo(): DeviceInfo;
  /** VFIO_DEVICE_GET_REGION_INFO. */
  getRegionInfo(index: number): RegionInfo;
  /** VFIO_DEVICE_GET_IRQ_INFO. */
  getIrqInfo(index: number): IrqInfo;
  /** VFIO_DEVICE_SET_IRQS. */
  setIrqs(req: IrqSetRequest): void;
  /** `pread` of region `index`. */
  readRegion(index: number, offset: number, buf: Uint8Array): number;
  /** `pwrite` of region `index`. */
  writeRegion(index: number, offset: number, buf: Uint8Array): number;
  /** `mmap` at a region-encoded position. */
  mmap(pos: number, length: number, shared?: boolean): unknown;
}

const ENTRY = 16;
const VECTOR_CONTROL = 12;
const CTL_ENABLE = 0x80; // high byte of message control
const CTL_FUNCTION_MASK = 0x40;
const EVENTFD_TRIGGER = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
const DISABLE = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;

/** What the device has installed on a vector, as the VMM set it. */
const enum Route {
  NONE = 0,
  DELIVER = 1,
  PEND = 2,
}

/** Where the device's MSI-X capability, table and PBA are (read from its config space at start). */
export interface MsixLayout {
  /** Offset of the capability in config space. */
  readonly cap: number;
  /** Vectors. */
  readonly vectors: number;
  /** Region (BAR) index of the table, and its offset there. */
  readonly tableBar: number;
  /** Offset of the table in its BAR. */
  readonly tableOffset: number;
  /** Region (BAR) index of the PBA. */
  readonly pbaBar: number;
  /** Offset of the PBA in its BAR. */
  readonly pbaOffset: number;
}

/** Reads the MSI-X capability of `device` from its config region (null: none). */
function findMsix(device: AssignedDevice): MsixLayout | null {
  const b = new Uint8Array(4);
  const rd = (off: number, n: 1 | 2 | 4): number => {
    const v = b.subarray(0, n);
    device.readRegion(VFIO_PCI_CONFIG_REGION_INDEX, off, v);
    return v.reduceRight((x, y) => x * 256 + y, 0);
  };
  let at = rd(0x34, 1) & 0xfc;
  for (let hops = 0; at >= 0x40 && hops < 48; hops++) {
    if (rd(at, 1) === 0x11) {
      const table = rd(at + 4, 4);
      const pba = rd(at + 8, 4);
      return {
        cap: at, vectors: (rd(at + 2, 2) & 0x7ff) + 1, tableBar: table & 7, tableOffset: table - (table & 7), pbaBar: pba & 7, pbaOffset: pba - (pba & 7),
      };
    }
    at = rd(at + 1, 1) & 0xfc;
  }
  return null;
}

/** A VMM with one assigned device (see the module comment). */
export class QemuLikeVmm {
  /** The device as the guest sees it through this VMM. */
  readonly guest: AssignedDevice;
  /** The device's MSI-X layout. */
  readonly msix: MsixLayout;
  /** Every SET_IRQS the VMM sent to the device, in order. */
  readonly sent: IrqSetRequest[] = [];
  /** MSIs injected into the guest, per vector. */
  readonly injected: number[];
  /** Injections that found no guest handler, per vector. */
  readonly spurious: number[];
  /** Guest accesses to the MSI-X table or PBA the VMM served itself. */
  tableAccesses = 0;
  private readonly device: AssignedDevice;
  /** Message control bits 15:8 as the guest wrote them (enable, function mask). */
  private controlHigh = 0;
  private readonly table: Uint8Array;
  private readonly pba: Uint8Array;
  private readonly routes: Uint8Array;
  private installed = false;
  private readonly deliver: IrqTrigger[];
  private readonly pend: IrqTrigger[];
  private readonly handlers: (IrqTrigger | null)[];

  /** Assigns `device` (open, at reset) to a new guest; throws a plain Error for a device without MSI-X. */
  constructor(device: AssignedDevice) {
    this.device = device;
    const msix = findMsix(device);
    if (msix === null) throw new Error('QemuLikeVmm: the device has no MSI-X capability');
    this.msix = msix;
    const n = msix.vectors;
    this.table = new Uint8Array(n * ENTRY);
    for (let v = 0; v < n; v++) this.table[v * ENTRY + VECTOR_CONTROL] = 1;
    this.pba = new Uint8Array(n);
    this.routes = new Uint8Array(n);
    this.injected = new Array<number>(n).fill(0);
    this.spurious = new Array<number>(n).fill(0);
    this.handlers = new Array<IrqTrigger | null>(n).fill(null);
    this.deliver = Array.from({ length: n }, (_, v) => () => this.inject(v));
    this.pend = Array.from({ length: n }, (_, v) => () => {
      this.pba[v] = 1;
    });
    this.guest = {
      getInfo: () => device.getInfo(),
      getRegionInfo: (i) => device.getRegionInfo(i),
      getIrqInfo: (i) => device.getIrqInfo(i),
      mmap: (pos, length, shared) => device.mmap(pos, length, shared),
      setIrqs: (req) => this.guestSetIrqs(req),
      readRegion: (i, off, buf) => this.guestRead(i, off, buf),
      writeRegion: (i, off, buf) => this.guestWrite(i, off, buf),
    };
  }

  // ---------------------------------------------------------------- what tests look at

  /** The guest enabled MSI-X (emulated message control). */
  get enabled(): boolean {
    return (this.controlHigh & CTL_ENABLE) !== 0;
  }

  /** The guest set the function mask. */
  get functionMasked(): boolean {
    return (this.controlHigh & CTL_FUNCTION_MASK) !== 0;
  }

  /** The guest masked `vector` in the emulated table. */
  isMasked(vector: number): boolean {
    return ((this.table[vector * ENTRY + VECTOR_CONTROL] as number) & 1) !== 0;
  }

  /** `vector`'s bit in the emulated PBA. */
  isPending(vector: number): boolean {
    return this.pba[vector] === 1;
  }

  // ---------------------------------------------------------------- the guest's accesses

  private guestSetIrqs(req: IrqSetRequest): void {
    const action = req.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    const data = req.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
    if (req.index !== VFIO_PCI_MSIX_IRQ_INDEX || action !== VFIO_IRQ_SET_ACTION_TRIGGER || (data !== VFIO_IRQ_SET_DATA_EVENTFD && req.count !== 0)) {
      this.device.setIrqs(req);
      return;
    }
    if (req.count === 0) {
      this.handlers.fill(null);
      return;
    }
    const slots = (req.data ?? []) as readonly TriggerSlot[];
    if (req.start + req.count > this.msix.vectors || slots.length !== req.count) {
      throw new VfioError('EINVAL', `the guest named handlers for vectors ${req.start}..${req.start + req.count - 1} of ${this.msix.vectors}`);
    }
    for (let i = 0; i < req.count; i++) {
      const s = slots[i];
      this.handlers[req.start + i] = s !== undefined && s !== null && isIrqTrigger(s) ? s : null;
    }
  }

  private where(index: number, off: number, len: number): 'table' | 'pba' | null {
    const m = this.msix;
    if (index === m.tableBar && off < m.tableOffset + m.vectors * ENTRY && off + len > m.tableOffset) return 'table';
    if (index === m.pbaBar && off < m.pbaOffset + Math.ceil(m.vectors / 64) * 8 && off + len > m.pbaOffset) return 'pba';
    return null;
  }

  private guestRead(index: number, off: number, buf: Uint8Array): number {
    const at = this.where(index, off, buf.length);
    if (at !== null) {
      // The table and PBA are the VMM's (an access that strays past them reads 0 there).
      this.tableAccesses++;
      for (let i = 0; i < buf.length; i++) buf[i] = at === 'table' ? this.tableByte(off + i) : this.pbaByte(off + i);
      return buf.length;
    }
    const n = this.device.readRegion(index, off, buf);
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) {
      const hi = this.msix.cap + 3; // enable and function mask live in the high byte of message control
      if (off <= hi && hi < off + buf.length) buf[hi - off] = ((buf[hi - off] as number) & 0x3f) | this.controlHigh;
    }
    return n;
  }

  private guestWrite(index: number, off: number, buf: Uint8Array): number {
    const at = this.where(index, off, buf.length);
    if (at !== null) {
      this.tableAccesses++;
      if (at === 'table') {
        for (let i = 0; i < buf.length; i++) this.setTableByte(off + i, buf[i] as number);
        this.update();
      }
      return buf.length; // PBA writes are dropped
    }
    if (index !== VFIO_PCI_CONFIG_REGION_INDEX) return this.device.writeRegion(index, off, buf);
    // Message control is the VMM's: the bytes before and after it go to the device, it does not.
    const lo = this.msix.cap + 2;
    const hi = lo + 2;
    const end = off + buf.length;
    if (off >= hi || end <= lo) return this.device.writeRegion(index, off, buf);
    if (off < lo) this.device.writeRegion(index, off, buf.subarray(0, lo - off));
    if (end > hi) this.device.writeRegion(index, hi, buf.subarray(hi - off));
    if (off <= lo + 1 && lo + 1 < end) {
      this.controlHigh = (buf[lo + 1 - off] as number) & (CTL_ENABLE | CTL_FUNCTION_MASK);
      this.update();
    }
    return buf.length;
  }

  private tableByte(off: number): number {
    const b = off - this.msix.tableOffset;
    return b >= 0 && b < this.table.length ? (this.table[b] as number) : 0;
  }

  private setTableByte(off: number, value: number): void {
    const b = off - this.msix.tableOffset;
    if (b < 0 || b >= this.table.length) return;
    const k = b % ENTRY;
    // Vector control: only the mask bit is defined; the rest is reserved and reads 0.
    this.table[b] = k === VECTOR_CONTROL ? value & 1 : k > VECTOR_CONTROL ? 0 : value;
  }

  private pbaByte(off: number): number {
    const b = off - this.msix.pbaOffset;
    let v = 0;
    for (let bit = 0; bit < 8; bit++) if (this.pba[b * 8 + bit] === 1) v |= 1 << bit;
    return v;
  }

  // ---------------------------------------------------------------- the VMM's MSI-X machinery

  private live(v: number): boolean {
    return this.enabled && !this.functionMasked && !this.isMasked(v);
  }

  /** Brings the device's triggers in line with the guest's message control and table. */
  private update(): void {
    const n = this.msix.vectors;
    if (this.enabled && !this.installed) {
      const data: IrqTrigger[] = [];
      for (let v = 0; v < n; v++) {
        const live = this.live(v);
        this.routes[v] = live ? Route.DELIVER : Route.PEND;
        data.push(live ? (this.deliver[v] as IrqTrigger) : (this.pend[v] as IrqTrigger));
      }
      this.send({ flags: EVENTFD_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: n, data });
      this.installed = true;
      return;
    }
    if (!this.enabled) {
      if (this.installed) this.send({ flags: DISABLE, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: 0 });
      this.installed = false;
      this.routes.fill(Route.NONE);
      return;
    }
    for (let v = 0; v < n; v++) {
      const want = this.live(v) ? Route.DELIVER : Route.PEND;
      if (want === this.routes[v]) continue;
      this.routes[v] = want;
      this.send({
        flags: EVENTFD_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: v, count: 1,
        data: [want === Route.DELIVER ? (this.deliver[v] as IrqTrigger) : (this.pend[v] as IrqTrigger)],
      });
      if (want === Route.DELIVER && this.pba[v] === 1) {
        this.pba[v] = 0;
        this.inject(v);
      }
    }
  }

  private send(req: IrqSetRequest): void {
    this.sent.push(req);
    this.device.setIrqs(req);
  }

  /** Delivers the guest's MSI for `vector` to the handler the guest named for it. */
  private inject(vector: number): void {
    this.injected[vector] = (this.injected[vector] ?? 0) + 1;
    const h = this.handlers[vector];
    if (h === null || h === undefined) this.spurious[vector] = (this.spurious[vector] ?? 0) + 1;
    else fireTrigger(h);
  }
}
