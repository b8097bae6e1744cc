/**
 * The bench's VMM: a deterministic DSA device model, its host driver probed and loaded, the vidxd
 * parent on an mdev bus, and a {@link BenchGuest} that brings a vdev up through the VFIO device API
 * only (config space and BAR0 through `readRegion`/`writeRegion`, BAR2 through `mmap`), with its own
 * guest memory mapped in its own IOAS — the same road a VMM and its guest take.
 */
import { Command, CMD } from '../../src/dsa/index.js';
import type { DeviceConfig } from '../../src/host/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import type { MdevBus } from '../../src/mdev/index.js';
import {
  EventFd, regionOffset, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_PCI_MSIX_IRQ_INDEX, type VfioDevice, VfioIoas,
} from '../../src/vfio/index.js';
import { VDEV_CMDSTS, VDEV_GENCTRL, VDEV_LAYOUT, VdevCapOffset, type VidxdParentOptions, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { BAR0, BAR2, CONFIG, type ParentRig, parentRig } from '../vidxd/fixtures.js';

export { BAR0, BAR2, CONFIG, DWQ, nextUuid, type ParentRig as Rig, SWQ } from '../vidxd/fixtures.js';

/** A deterministic device loaded with `config`, and the vidxd parent registered on a new bus. */
export function rig(config: DeviceConfig, options: VidxdParentOptions = {}): ParentRig {
  return parentRig({ config, parent: options });
}

/** One mediated dedicated WQ of `size` entries in a group with one engine (the fast-path rows). */
export const DEDICATED_CONFIG: DeviceConfig = {
  groups: [{ id: 0, engines: [0] }],
  wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 128, mediated: true }],
};

/** One mediated shared WQ in a group with one engine (the scale rows). */
export const SHARED_CONFIG: DeviceConfig = {
  groups: [{ id: 0, engines: [0] }],
  wqs: [{ id: 0, group: 0, mode: 'shared', size: 128, mediated: true }],
};

/** What {@link BenchGuest.up} sets beyond ENABLE_DEVICE + ENABLE_WQ. */
export interface BringUp {
  /** MSI-X on, every vector unmasked, an EventFd on each (default false). */
  readonly interrupts?: boolean;
  /** Guest PASID programmed in WQCFG (a shared vdev always enables it; default 7). */
  readonly pasid?: number;
}

/** The guest of one open vdev, driving it through the VFIO device API. */
export class BenchGuest {
  /** The VFIO device. */
  readonly dev: VfioDevice<VdevPortalMapping>;
  /** The guest's memory (mapped at IOVA 0), or null when none was asked for. */
  readonly mem: GuestMemory | null;
  /** The triggers of the MSI-X vectors, once {@link up} installed them. */
  fds: readonly EventFd[] = [];
  private readonly buf4 = new Uint8Array(4);
  private readonly buf2 = new Uint8Array(2);

  /** Opens `uuid`; with `memBytes` > 0 maps that much guest memory at IOVA 0 of a new IOAS and attaches it. */
  constructor(bus: MdevBus<VdevPortalMapping>, uuid: string, memBytes: number) {
    this.dev = bus.open(uuid);
    if (memBytes > 0) {
      this.mem = new GuestMemory(memBytes);
      const ioas = new VfioIoas();
      ioas.map({ iova: 0, size: memBytes, memory: this.mem, offset: 0, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE });
      this.dev.attachIoas(ioas);
    } else {
      this.mem = null;
    }
  }

  /** A 4-byte read of region `index` at `offset`. */
  r32(index: number, offset: number): number {
    const b = this.buf4;
    this.dev.readRegion(index, offset, b);
    return ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
  }

  /** A 4-byte write of region `index` at `offset`. */
  w32(index: number, offset: number, value: number): void {
    const b = this.buf4;
    b[0] = value & 0xff;
    b[1] = (value >>> 8) & 0xff;
    b[2] = (value >>> 16) & 0xff;
    b[3] = value >>> 24;
    this.dev.writeRegion(index, offset, b);
  }

  /** A 2-byte config-space write. */
  cfg16(offset: number, value: number): void {
    const b = this.buf2;
    b[0] = value & 0xff;
    b[1] = value >>> 8;
    this.dev.writeRegion(CONFIG, offset, b);
  }

  /** Writes CMD and returns CMDSTS. */
  cmd(code: number, operand = 0): number {
    this.w32(BAR0, CMD.offset, ((code << CMD.fields.cmd.lo) | operand) >>> 0);
    return this.r32(BAR0, VDEV_CMDSTS.offset);
  }

  /**
   * Guest bring-up: memory decode and bus mastering; PASID, ATS and PRI (the shared type needs PASID,
   * and ENABLE_DEVICE wants PRI to follow PASID); optionally MSI-X with triggers; WQCFG's PASID; the
   * error interrupts; ENABLE_DEVICE; ENABLE_WQ. Throws unless both commands succeed.
   */
  up(shared: boolean, o: BringUp = {}): this {
    this.cfg16(0x04, 0x0006);
    this.cfg16(VdevCapOffset.PASID + 6, 0x1);
    this.cfg16(VdevCapOffset.ATS + 6, 0x8000);
    this.cfg16(VdevCapOffset.PRI + 4, 0x1);
    if (o.interrupts === true) {
      this.cfg16(VdevCapOffset.MSIX + 2, 0x8000);
      const vectors = 2;
      for (let v = 0; v < vectors; v++) this.w32(BAR0, VDEV_LAYOUT.msixTable + 16 * v + 12, 0);
      this.fds = Array.from({ length: vectors }, () => new EventFd());
      this.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: vectors, data: [...this.fds] });
      this.w32(BAR0, VDEV_GENCTRL.offset, 3);
    }
    const wqcfg2 = VDEV_LAYOUT.wqcfg + 8;
    const keep = this.r32(BAR0, wqcfg2) & 0xff;
    this.w32(BAR0, wqcfg2, (keep | (((o.pasid ?? 7) & 0xfffff) << 8) | (shared ? 1 << 28 : 0)) >>> 0);
    const a = this.cmd(Command.ENABLE_DEVICE);
    if (a !== 0) throw new Error(`ENABLE_DEVICE: CMDSTS 0x${a.toString(16)}`);
    const b = this.cmd(Command.ENABLE_WQ, 0);
    if (b !== 0) throw new Error(`ENABLE_WQ: CMDSTS 0x${b.toString(16)}`);
    return this;
  }

  /** The portal object mapped at BAR2 page `page`. */
  portal(page: number): VdevPortalMapping {
    return this.dev.mmap(regionOffset(BAR2) + page * 0x1000, 0x1000);
  }
}
