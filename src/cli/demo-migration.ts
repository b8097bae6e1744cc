/**
 * The demo's migration scene (vidxd-device.md §10): one VM is live-migrated to a vdev of a second
 * parent in the middle of its workload. Its VMM forwards the guest's device calls to the vdev the VM
 * runs on (SET_IRQS remembered and installed again on the destination, the mapped portal page mapped
 * again there), and when told to, migrates from inside the guest's `cpu_relax` — the guest waits for
 * its device there, so only the device writes guest memory meanwhile: DMA logging on the source and a
 * full copy of guest memory, pre-copy rounds (device steps, then only the pages the device's log
 * reports are copied, the device state pre-copied too), STOP (the vdev completes what its WQ
 * accepted), the final log report, the state stream, the destination loaded and RUNNING. The copy the
 * VMM built from the log is compared with the guest's memory: equal exactly when the log missed
 * nothing. A JavaScript guest keeps its one memory buffer; the destination's IOAS maps it.
 */
import { DsaDevice } from '../dsa/index.js';
import type { GuestVfio } from '../guest/index.js';
import { type DeviceConfig, IdxdHost } from '../host/index.js';
import { type GuestMemory, PAGE_SIZE } from '../memory/index.js';
import { MdevBus } from '../mdev/index.js';
import {
  type IrqSetRequest, VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, type VfioDevice, VfioIoas, type VfioMigrationStream,
} from '../vfio/index.js';
import { type Vdev, VidxdParent, type VdevPortalMapping } from '../vidxd/index.js';
import type { HostSystem } from './system.js';

/** The second parent: the same shapes at other WQ indices, its first host PASIDs and interrupt handles taken by the host. */
export const SECOND_PARENT_CONFIG: DeviceConfig = {
  groups: [{ id: 0, engines: [0] }, { id: 1, engines: [1, 2, 3] }],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 8 },
    { id: 2, group: 1, mode: 'dedicated', size: 32, mediated: true },
    { id: 3, group: 1, mode: 'shared', size: 64, threshold: 48, mediated: true },
  ],
};

/** Host PASIDs and interrupt handles the second parent's host takes for itself. */
const SECOND_PARENT_RESERVED = 3;

/** One pre-copy round. */
export interface PrecopyRound {
  /** Device steps run. */
  readonly steps: number;
  /** Pages the device's DMA log reported (and the VMM copied). */
  readonly dirtyPages: number;
  /** Bytes of device state pre-copied in the round. */
  readonly stateBytes: number;
}

/** Where a vdev ran. */
export interface MigrationEnd {
  /** The parent (`first`, `second`). */
  readonly parent: string;
  /** The parent WQ backing the vdev. */
  readonly backingWq: number;
  /** The vdev's host PASID. */
  readonly hostPasid: number;
  /** The interrupt handles its vectors held (vector 1 up). */
  readonly handles: readonly (number | null)[];
}

/** What the migration did. */
export interface MigrationReport {
  /** The migrated VM (1-based). */
  readonly vm: number;
  /** The workload step it was migrated in. */
  readonly during: string;
  /** Source and destination. */
  readonly from: MigrationEnd;
  /** The destination. */
  readonly to: MigrationEnd;
  /** Pages of guest memory copied at the start (all of them). */
  readonly initialPages: number;
  /** The pre-copy rounds. */
  readonly rounds: readonly PrecopyRound[];
  /** Descriptors of the vdev in its WQ when STOP began. */
  readonly inFlightAtStop: number;
  /** Pages the final report showed (written while STOP completed the WQ's descriptors). */
  readonly finalPages: number;
  /** Bytes of the device state stream (pre-copy records and the final one). */
  readonly streamBytes: number;
  /** The copy made with the dirty log equalled the guest's memory at switchover. */
  readonly memoryEqual: boolean;
}

/** The second parent (its own DSA model and host driver; deterministic). */
export function buildSecondParent(): HostSystem {
  const dev = new DsaDevice();
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(SECOND_PARENT_CONFIG);
  for (let i = 0; i < SECOND_PARENT_RESERVED; i++) {
    host.allocatePasid(null);
    host.allocInterruptHandle(() => {}, null);
  }
  const parent = new VidxdParent(host);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  return { dev, host, parent, bus };
}

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/** Where the VM runs now. */
interface Placement {
  readonly name: string;
  readonly sys: HostSystem;
  readonly uuid: string;
  readonly vdev: Vdev;
  readonly device: VfioDevice<VdevPortalMapping>;
  readonly ioas: VfioIoas;
  readonly portals: Map<number, VdevPortalMapping>;
}

/** A VM its VMM can live-migrate. */
export class MigratingVm {
  /** The guest's device: calls go to the vdev the VM runs on now. */
  readonly device: GuestVfio;
  /** The migration, once done. */
  report: MigrationReport | null = null;
  /**
   * Its downtime — from STOP on the source to RUNNING on the destination, the check of the copied
   * memory left out — in ms (wall-clock time, so kept out of the report, which a seed determines).
   */
  downtimeMs: number | null = null;
  private at: Placement;
  private readonly irqSets: IrqSetRequest[] = [];
  private pending: string | null = null;

  /**
   * The VM of `uuid` (created and opened on `sys`, its IOAS `ioas` mapping `memory` but the pages in
   * `holes`), numbered `vm` in the report.
   */
  constructor(
    private readonly vm: number,
    sys: HostSystem,
    uuid: string,
    device: VfioDevice<VdevPortalMapping>,
    ioas: VfioIoas,
    private readonly memory: GuestMemory,
    private readonly holes: Set<number>,
  ) {
    const vdev = sys.parent.vdev(uuid);
    if (vdev === undefined) throw new Error(`vdev ${uuid} was not created`);
    this.at = { name: 'first', sys, uuid, vdev, device, ioas, portals: new Map() };
    const self = this;
    this.device = {
      getInfo: () => self.at.device.getInfo(),
      getRegionInfo: (i) => self.at.device.getRegionInfo(i),
      getIrqInfo: (i) => self.at.device.getIrqInfo(i),
      setIrqs: (req) => {
        self.at.device.setIrqs(req);
        self.irqSets.push(req);
      },
      readRegion: (i, off, buf) => self.at.device.readRegion(i, off, buf),
      writeRegion: (i, off, buf) => self.at.device.writeRegion(i, off, buf),
      mmap: (pos) => ({ submit: (b: Uint8Array, off: number) => self.portal(pos).submit(b, off) }),
    };
  }

  /** The VFIO device the VM runs on now. */
  get current(): VfioDevice<VdevPortalMapping> {
    return this.at.device;
  }

  /** The vdev the VM runs on now. */
  get vdev(): Vdev {
    return this.at.vdev;
  }

  private portal(pos: number): VdevPortalMapping {
    let p = this.at.portals.get(pos);
    if (p === undefined) {
      p = this.at.device.mmap(pos, PAGE_SIZE);
      this.at.portals.set(pos, p);
    }
    return p;
  }

  /** Maps the missing page holding `iova` where the VM runs now (the VMM resolving a guest page fault). */
  mapPage(iova: number): boolean {
    const page = iova - (iova % PAGE_SIZE);
    if (!this.holes.delete(page)) return false;
    this.at.ioas.map({ iova: page, size: PAGE_SIZE, memory: this.memory, offset: page, flags: RW });
    return true;
  }

  /** Migrates at the guest's next `cpu_relax` (`during` names the workload step, for the report). */
  migrateSoon(during: string): void {
    if (this.report === null) this.pending = during;
  }

  /** The guest's `cpu_relax`: migrates when asked to, else one step of the parent the VM runs on. */
  poll(): boolean {
    const during = this.pending;
    if (during !== null) {
      this.pending = null;
      this.report = this.migrate(during);
      return true;
    }
    return this.at.sys.dev.step();
  }

  private end(p: Placement): MigrationEnd {
    return { parent: p.name, backingWq: p.vdev.wq.id, hostPasid: p.vdev.hostPasid, handles: p.vdev.heldHandles().slice(1) };
  }

  private copyDirty(src: VfioDevice<VdevPortalMapping>, copy: Uint8Array): number {
    const size = this.memory.size;
    const bitmap = src.dmaLoggingReport({ iova: 0, length: size, pageSize: PAGE_SIZE });
    let n = 0;
    for (let u = 0; u < size / PAGE_SIZE; u++) {
      if (((bitmap[u >>> 3] as number) >>> (u & 7)) & 1) {
        copy.set(this.memory.bytes.subarray(u * PAGE_SIZE, (u + 1) * PAGE_SIZE), u * PAGE_SIZE);
        n++;
      }
    }
    return n;
  }

  private migrate(during: string): MigrationReport {
    const src = this.at;
    const from = this.end(src);
    const size = this.memory.size;
    src.device.dmaLoggingStart({ pageSize: PAGE_SIZE, ranges: [{ iova: 0, length: size }] });
    const copy = this.memory.bytes.slice();
    const stream = src.device.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
    const chunks: Uint8Array[] = [];
    const take = (n: number): number => {
      if (n === 0) return 0;
      const b = new Uint8Array(n);
      const got = stream.read(b);
      chunks.push(b.subarray(0, got));
      return got;
    };
    take(stream.precopyInfo().initialBytes);
    const rounds: PrecopyRound[] = [];
    for (let r = 0; r < 3; r++) {
      let steps = 0;
      while (steps < 1 && src.sys.dev.step()) steps++;
      const dirtyPages = this.copyDirty(src.device, copy);
      rounds.push({ steps, dirtyPages, stateBytes: take(stream.precopyInfo().dirtyBytes) });
    }
    // The destination, prepared before the switchover: a vdev of the same type on the second parent,
    // the guest's memory mapped as before.
    const sys = buildSecondParent();
    const uuid = src.uuid;
    sys.bus.create(`${sys.parent.name}-${src.vdev.mode === 'dedicated' ? 'dsa-1dwq-v1' : 'dsa-1swq-v1'}`, uuid);
    const device = sys.bus.open(uuid);
    const ioas = new VfioIoas();
    let start = 0;
    for (const hole of [...this.holes].sort((a, b) => a - b)) {
      if (hole > start) ioas.map({ iova: start, size: hole - start, memory: this.memory, offset: start, flags: RW });
      start = hole + PAGE_SIZE;
    }
    if (start < size) ioas.map({ iova: start, size: size - start, memory: this.memory, offset: start, flags: RW });
    device.attachIoas(ioas);
    const vdev = sys.parent.vdev(uuid) as Vdev;
    // Switchover: the vdev stops (completing what its WQ accepted), the last pages and the state follow.
    const inFlightAtStop = src.vdev.occupancy;
    const t0 = performance.now();
    src.device.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY);
    const finalPages = this.copyDirty(src.device, copy);
    chunks.push(stream.readAll());
    src.device.setMigrationState(VFIO_DEVICE_STATE_STOP);
    const t1 = performance.now();
    // Not part of the downtime: the check that the copy equals the guest's memory.
    let memoryEqual = true;
    for (let i = 0; i < size; i++) {
      if (copy[i] !== this.memory.bytes[i]) {
        memoryEqual = false;
        break;
      }
    }
    const t2 = performance.now();
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    const load = device.setMigrationState(VFIO_DEVICE_STATE_RESUMING) as VfioMigrationStream;
    load.write(bytes);
    device.setMigrationState(VFIO_DEVICE_STATE_STOP);
    this.at = { name: 'second', sys, uuid, vdev, device, ioas, portals: new Map() };
    for (const req of this.irqSets) device.setIrqs(req);
    device.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    this.downtimeMs = t1 - t0 + (performance.now() - t2);
    src.device.dmaLoggingStop();
    src.device.close();
    src.sys.bus.remove(uuid);
    return {
      vm: this.vm, during, from, to: this.end(this.at), initialPages: size / PAGE_SIZE, rounds, inFlightAtStop, finalPages, streamBytes: bytes.length,
      memoryEqual,
    };
  }
}
