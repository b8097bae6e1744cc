/**
 * One vdev under fuzz and everything its VMM and guest hold: the mdev UUID and the `Vdev` (for the
 * invariants only — every action goes through the VFIO API), the open device handle, its own guest
 * memory and IOAS, its interrupt triggers, the portals it mapped, and the reference images of a
 * freshly created vdev of the same kind (what a reset must return to).
 */
import {
  EventFd, HandleTable, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX, VfioDevice, VfioIoas, VfioIoctl,
} from '../../src/vfio/index.js';
import {
  VDEV_BLOCKS, VDEV_CMDSTS, VDEV_GENSTS, VDEV_INTCAUSE, VDEV_SWERR, type Vdev, type VdevMode, type VdevPortalMapping} from '../../src/vidxd/index.js';
import { bitMask } from '../../src/dsa/index.js';
import type { Prng } from '../util/prng.js';
import { CR_BASE, DATA_BASE, LIST_BASE, MAPPABLE_END, MEM_SIZE, PAGE } from './layout.js';
import { WatchedMemory } from './watched-memory.js';
import { FuzzThrow } from './violation.js';

/** Bytes of config space a vdev presents. */
export const CONFIG_BYTES = 0x1000;
/** Bytes of BAR0 a vdev presents. */
export const BAR0_BYTES = 0x2000;

/** Per BAR0 dword of a vdev of `vdev`'s kind: the bits that are read-only and never change (RO fields that are not status). */
function readOnlyMask(vdev: Vdev): Uint32Array {
  const regs = vdev.regs;
  const mask = new Uint32Array(regs.size >>> 2);
  for (const block of VDEV_BLOCKS[vdev.mode]) {
    const n = block.count(regs.context);
    const base = block.base(regs.context);
    for (let i = 0; i < n; i++) {
      for (const reg of block.registers) {
        if (reg.window !== undefined) continue;
        const first = (base + i * block.stride + reg.offset) >>> 2;
        for (const f of reg.fieldList) {
          if (f.access !== 'RO' || f.status) continue;
          if (f.width > 32) {
            for (let k = 0; k < f.width >>> 5; k++) mask[first + (f.lo >>> 5) + k] = 0xffffffff;
          } else {
            const d = first + (f.lo >>> 5);
            mask[d] = ((mask[d] as number) | (bitMask(f.width) << (f.lo & 31))) >>> 0;
          }
        }
      }
    }
  }
  return mask;
}

/**
 * A trigger that counts like an eventfd and then runs the guest's interrupt handler inline (a
 * simulator may run guest code from the trigger): the handler may submit more work or touch the
 * vdev while the device is still inside the step that raised the interrupt.
 */
export class ReactiveFd extends EventFd {
  /** The guest's handler, told which trigger fired (index in {@link FuzzGuest.fds}). */
  handler: ((k: number) => void) | null = null;
  /** How many of the next signals throw (after counting and the handler): a careless VMM's trigger. */
  throwNext = 0;

  /** The trigger at index `k` of its guest's triggers. */
  constructor(private readonly k: number) {
    super();
  }

  /** Counts, then runs the handler; then throws if armed (see {@link throwNext}). */
  override signal(n = 1): void {
    super.signal(n);
    this.handler?.(this.k);
    if (this.throwNext > 0) {
      this.throwNext--;
      throw new FuzzThrow('trigger');
    }
  }
}

/** Registers in a vdev's signature after its trigger counts: SWERR, CMDSTS, INTCAUSE, GENSTS. */
const SIGNATURE_WORDS = 4;

/** One fuzzed vdev with its VMM-side and guest-side state. */
export class FuzzGuest {
  /** Creation order (also the owner id of its memory; 0 is the host). */
  readonly id: number;
  /** The mdev UUID. */
  readonly uuid: string;
  /** The vdev (read by the invariants only). */
  readonly vdev: Vdev;
  /** Dedicated or shared backing WQ. */
  readonly mode: VdevMode;
  /** Its host PASID (fixed for its lifetime). */
  readonly hostPasid: number;
  /** Index of its backing WQ on the parent. */
  readonly wq: number;
  /** Its guest memory. */
  readonly memory: WatchedMemory;
  /** Its IOAS (its own memory only). */
  readonly ioas = new VfioIoas();
  /** One trigger per MSI-X vector, then the ERR and REQ triggers. */
  readonly fds: ReactiveFd[];
  /** The open handle (null while closed). */
  handle: VfioDevice<VdevPortalMapping> | null = null;
  /** The ioctl front end of the open handle. */
  ioctl: VfioIoctl<VdevPortalMapping> | null = null;
  /** Portals mapped through the open handle, by BAR2 page. */
  readonly portals: (VdevPortalMapping | null)[] = [null, null];
  /** Handles closed earlier (every call on them must be EBADF). */
  readonly closedHandles: VfioDevice<VdevPortalMapping>[] = [];
  /** Portals mapped through handles since closed (they must reach nothing). */
  readonly stalePortals: VdevPortalMapping[] = [];
  /** Config space of the vdev when it was created. */
  readonly freshConfig = new Uint8Array(CONFIG_BYTES);
  /** BAR0 of the vdev when it was created. */
  readonly freshBar0 = new Uint8Array(BAR0_BYTES);
  /** Per BAR0 dword: bits that must always hold their reset value. */
  readonly roMask: Uint32Array;
  /** The BAR0 dwords with such bits. */
  readonly roDwords: Int32Array;
  /** Descriptors of this vdev the fuzzer believes are queued in the backing WQ. */
  expected = 0;
  /** The handles held when the current step began, if the guest's handler or a teardown changed them since (else null; cleared at each step). */
  handlesBefore: (number | null)[] | null = null;
  /** The signature at the last checkpoint (see {@link signature}). */
  readonly checkpoint: Float64Array;
  /** Scratch for the current signature. */
  readonly scratch: Float64Array;
  private readonly sigDwords: readonly number[];

  /** Wraps a just-created `vdev` (reset state, not open) and records its fresh images. */
  constructor(id: number, uuid: string, vdev: Vdev, r: Prng) {
    this.id = id;
    this.uuid = uuid;
    this.vdev = vdev;
    this.mode = vdev.mode;
    this.hostPasid = vdev.hostPasid;
    this.wq = vdev.wq.id;
    this.memory = new WatchedMemory(`vdev #${id} memory`, MEM_SIZE, id, r);
    // The CR and list areas start zeroed: a record slot holds 0 until the device writes it.
    this.memory.cpuFill(CR_BASE, DATA_BASE - CR_BASE, 0);
    this.fds = Array.from({ length: vdev.facts.vectors + 2 }, (_, k) => new ReactiveFd(k));
    vdev.pci.config.readInto(0, this.freshConfig);
    const view = new DataView(this.freshBar0.buffer);
    for (let o = 0; o < BAR0_BYTES; o += 4) view.setUint32(o, vdev.regs.read(o, 4), true);
    this.roMask = readOnlyMask(vdev);
    this.roDwords = Int32Array.from(this.roMask.keys()).filter((d) => this.roMask[d] !== 0);
    const regs = vdev.regs;
    this.sigDwords = [regs.dwordIndex(VDEV_SWERR), regs.dwordIndex(VDEV_CMDSTS), regs.dwordIndex(VDEV_INTCAUSE), regs.dwordIndex(VDEV_GENSTS)];
    this.checkpoint = new Float64Array(this.fds.length + SIGNATURE_WORDS);
    this.scratch = new Float64Array(this.fds.length + SIGNATURE_WORDS);
    this.signature(this.checkpoint, 0);
    this.mapInitial(r);
  }

  /** MSI-X vectors. */
  get vectors(): number {
    return this.vdev.facts.vectors;
  }

  /** The ERR trigger. */
  get errFd(): ReactiveFd {
    return this.fds[this.vectors] as ReactiveFd;
  }

  /** The REQ trigger. */
  get reqFd(): ReactiveFd {
    return this.fds[this.vectors + 1] as ReactiveFd;
  }

  /** The trigger the VMM installs at IRQ `index`, vector `vector` (null: none belongs there). */
  trigger(index: number, vector: number): ReactiveFd | null {
    if (index === VFIO_PCI_MSIX_IRQ_INDEX) return Number.isInteger(vector) && vector >= 0 && vector < this.vectors ? (this.fds[vector] as ReactiveFd) : null;
    if (index === VFIO_PCI_ERR_IRQ_INDEX && vector === 0) return this.errFd;
    if (index === VFIO_PCI_REQ_IRQ_INDEX && vector === 0) return this.reqFd;
    return null;
  }

  /** The handle of {@link trigger} in the ioctl front end's table (-1: none). */
  triggerHandle(index: number, vector: number): number {
    const t = this.trigger(index, vector);
    return t === null ? -1 : this.fds.indexOf(t);
  }

  /** Identity mappings of the CR page, the list pages and the data area in runs of 1–3 pages. */
  private mapInitial(r: Prng): void {
    const flags = 3;
    this.ioas.map({ iova: CR_BASE, size: PAGE, memory: this.memory.memory, offset: CR_BASE, flags });
    this.ioas.map({ iova: LIST_BASE, size: DATA_BASE - LIST_BASE, memory: this.memory.memory, offset: LIST_BASE, flags });
    for (let at = DATA_BASE; at < MAPPABLE_END;) {
      const size = Math.min(MAPPABLE_END - at, PAGE * r.range(1, 3));
      this.ioas.map({ iova: at, size, memory: this.memory.memory, offset: at, flags });
      at += size;
    }
  }

  /** Opens the vdev through `open` (the bus), attaches the IOAS and builds the ioctl front end. */
  adopt(handle: VfioDevice<VdevPortalMapping>): void {
    this.handle = handle;
    handle.attachIoas(this.ioas);
    const table = new HandleTable();
    for (const fd of this.fds) table.add(fd);
    // A handle that names something that is not a trigger (SET_IRQS must answer EBADF for it).
    table.add({ notATrigger: true });
    this.ioctl = new VfioIoctl(handle, table);
  }

  /** Forgets the handle after it closed: it and its portals become stale. */
  closed(): void {
    if (this.handle !== null) remember(this.closedHandles, this.handle);
    for (const p of this.portals) if (p !== null) remember(this.stalePortals, p);
    this.portals.fill(null);
    this.handle = null;
    this.ioctl = null;
  }

  /** Writes the vdev's signature (trigger counts, SWERR, CMDSTS, INTCAUSE, GENSTS) into `out` at `at`. */
  signature(out: Float64Array, at: number): void {
    let k = at;
    for (const fd of this.fds) out[k++] = fd.count;
    const v = this.vdev.regs.value;
    for (const d of this.sigDwords) out[k++] = v[d] as number;
  }

  /** What word `k` of the signature is. */
  signatureName(k: number): string {
    const v = this.vectors;
    if (k < v) return `MSI-X vector ${k} trigger count`;
    if (k === v) return 'ERR trigger count';
    if (k === v + 1) return 'REQ trigger count';
    return ['SWERR', 'CMDSTS', 'INTCAUSE', 'GENSTS'][k - v - 2] ?? `word ${k}`;
  }

  /** SWERR dword 0 (valid, overflow, error code). */
  swerrWord(): number {
    return this.vdev.regs.value[this.sigDwords[0] as number] as number;
  }
}

/** Keeps at most 4 stale objects, newest last. */
function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > 4) list.shift();
}

/** Whether `g` has an open handle (narrows `handle` and `ioctl` to non-null). */
export function isOpen(g: FuzzGuest): g is FuzzGuest & { handle: VfioDevice<VdevPortalMapping>; ioctl: VfioIoctl<VdevPortalMapping> } {
  return g.handle !== null;
}
