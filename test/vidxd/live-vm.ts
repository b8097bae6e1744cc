/**
 * A VM that can be live-migrated, for the migration tests: the reference guest driver runs on a device
 * proxy (the VMM's view of the assigned device: config and BAR accesses go to the current vdev, SET_IRQS
 * is remembered and replayed on the destination, a mapped portal page is re-mapped on the destination,
 * BAR2 writes may be posted as QEMU posts them), and the VMM migrates the vdev to another parent while
 * the guest's operations are in flight.
 *
 * The VM runs in alternating phases, as one vCPU and the device would on one core: a *CPU phase* lets
 * the guest's code run (turns of the event loop; the deterministic device model is not stepped, so only
 * the vCPU writes memory), a *device phase* steps the device model (the guest's code does not run; the
 * completion interrupts only wake it). During a migration the VMM copies guest memory to the
 * destination's copy using, for a CPU phase, the pages the vCPU changed (found by comparing: a
 * hypervisor's dirty log of its vCPU) and, for a device phase, ONLY the pages the device's DMA log
 * reports. So the copy equals the source's memory at switchover exactly when the device's log missed
 * nothing.
 *
 * A JavaScript guest cannot move its memory: the guest keeps reading and writing the one buffer it has
 * (`memory`). The destination's IOAS maps that buffer, and the copy the VMM built (`copy`) is proven
 * equal to it at switchover — that copy is what a real destination would run on.
 */
import { IdxdGuest, type GuestVfio, type IdxdGuestOptions, type PageFault } from '../../src/guest/index.js';
import { GuestMemory, PAGE_SIZE } from '../../src/memory/index.js';
import {
  type IrqSetRequest, VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_PCI_BAR2_REGION_INDEX, type VfioDevice, VfioIoas,
  type VfioMigrationStream,
} from '../../src/vfio/index.js';
import type { Vdev } from '../../src/vidxd/index.js';
import { createVdev, type ParentRig } from './fixtures.js';
import { readAll } from './migration-fixtures.js';
import type { VdevPortalMapping } from '../../src/vidxd/index.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const PAGE = PAGE_SIZE;

/** Where the VM runs now. */
interface Host {
  readonly rig: ParentRig;
  readonly uuid: string;
  readonly vdev: Vdev;
  readonly device: VfioDevice<VdevPortalMapping>;
  readonly ioas: VfioIoas;
  readonly portals: Map<number, VdevPortalMapping>;
}

/** One pre-copy round. */
export interface Round {
  /** Pages the vCPU changed in the CPU phase before it. */
  readonly cpuPages: number;
  /** Pages the device's DMA log reported for the device phase. */
  readonly devicePages: number;
}

/** What a migration did. */
export interface MigrationResult {
  /** Pre-copy rounds. */
  readonly rounds: readonly Round[];
  /** Pages the final report showed (after STOP). */
  readonly finalPages: number;
  /** Bytes of the device state stream. */
  readonly streamBytes: number;
  /** The VMM's copy of guest memory equalled the source's at switchover. */
  readonly memoryEqual: boolean;
  /** Handles the guest held before. */
  readonly handlesBefore: readonly number[];
  /** Descriptors of the vdev in the parent's WQ when STOP began (STOP completed them). */
  readonly inFlightAtStop: number;
  /** Descriptors queued in the stopped vdev when its state was saved (they run on the destination). */
  readonly queuedAtSave: number;
}

/** Options of {@link LiveVm.migrate}. */
export interface MigrateOptions {
  /** Pre-copy rounds (default 3). */
  readonly rounds?: number;
  /** Device steps per round (default 6). */
  readonly steps?: number;
  /** Pre-copy the device state too (PRE_COPY → STOP_COPY), else RUNNING → STOP → STOP_COPY. */
  readonly precopy?: boolean;
  /** Turns of a last CPU phase before STOP, with no device phase after it (posted writes stay in flight). */
  readonly finalCpu?: number;
  /** Called when the last CPU phase starts (the guest's code runs next). */
  readonly onFinalCpu?: () => void;
}

/** Options of {@link LiveVm.open}. */
export interface LiveVmOptions extends Partial<Omit<IdxdGuestOptions, 'device' | 'memory' | 'poll'>> {
  /** Guest memory size (default 1 MiB). */
  readonly memSize?: number;
  /** Pages left unmapped until the guest faults on them (the fault hook maps them on the current IOAS). */
  readonly holes?: readonly number[];
  /** BAR2 writes are posted: kept by the VMM and delivered before the next device phase. */
  readonly postedBar2?: boolean;
  /** Resolves a fault: called with the fault, answers when the VMM has mapped the page (default: at once). */
  readonly resolveFault?: (fault: PageFault, map: () => void) => boolean | Promise<boolean>;
}

/** The live-migratable VM. */
export class LiveVm {
  /** The guest's memory (the vCPU's view of RAM). */
  readonly memory: GuestMemory;
  /** The VMM's copy of guest memory on the destination, built during a migration. */
  copy: Uint8Array;
  /** Pages not mapped yet. */
  readonly holes: Set<number>;
  /** Faults the guest reported. */
  readonly faults: PageFault[] = [];
  /** Descriptors each parent executed for this VM (per rig, counted by the device's progress). */
  readonly executed = new Map<ParentRig, number>();
  /** The reference driver. */
  guest!: IdxdGuest;
  private host: Host;
  private readonly irqSets: IrqSetRequest[] = [];
  private readonly posted: { offset: number; bytes: Uint8Array }[] = [];

  private constructor(rig: ParentRig, type: string, private readonly o: LiveVmOptions) {
    this.memory = new GuestMemory(o.memSize ?? 1 << 20);
    this.copy = new Uint8Array(this.memory.size);
    this.holes = new Set((o.holes ?? []).map((h) => h - (h % PAGE)));
    this.host = this.attach(rig, type);
  }

  /** A VM with a vdev of `type` on `rig` and the reference driver up on it. */
  static async open(rig: ParentRig, type: string, o: LiveVmOptions = {}): Promise<LiveVm> {
    const vm = new LiveVm(rig, type, o);
    const { resolveFault, memSize, holes, postedBar2, ...guestOptions } = o;
    void memSize;
    void holes;
    void postedBar2;
    vm.guest = await IdxdGuest.open({
      ...guestOptions,
      device: vm.proxy(),
      memory: vm.memory,
      onPageFault: (f) => {
        vm.faults.push(f);
        const map = (): void => vm.mapPage(f.address);
        if (resolveFault !== undefined) return resolveFault(f, map);
        map();
        return true;
      },
    });
    return vm;
  }

  /** The vdev the VM runs on now. */
  get vdev(): Vdev {
    return this.host.vdev;
  }

  /** The VFIO device the VM runs on now. */
  get device(): VfioDevice<VdevPortalMapping> {
    return this.host.device;
  }

  /** The rig the VM runs on now. */
  get rig(): ParentRig {
    return this.host.rig;
  }

  /** `n` bytes of guest memory at `iova`. */
  at(iova: number, n: number): Uint8Array {
    return this.memory.bytes.subarray(iova, iova + n);
  }

  /** Maps the hole holding `iova` in the current IOAS. */
  mapPage(iova: number): void {
    const page = iova - (iova % PAGE);
    if (!this.holes.delete(page)) return;
    this.host.ioas.map({ iova: page, size: PAGE, memory: this.memory, offset: page, flags: RW });
  }

  /** A vdev of `type` on `rig`, opened, its IOAS mapping the guest's memory except the holes. */
  private attach(rig: ParentRig, type: string): Host {
    const { uuid, vdev } = createVdev(rig, type);
    const device = rig.bus.open(uuid);
    const ioas = new VfioIoas();
    let start = 0;
    for (const hole of [...this.holes].sort((a, b) => a - b)) {
      if (hole > start) ioas.map({ iova: start, size: hole - start, memory: this.memory, offset: start, flags: RW });
      start = hole + PAGE;
    }
    if (start < this.memory.size) ioas.map({ iova: start, size: this.memory.size - start, memory: this.memory, offset: start, flags: RW });
    device.attachIoas(ioas);
    if (!this.executed.has(rig)) {
      this.executed.set(rig, 0);
      rig.dev.onProgress((wq) => {
        if (wq === vdev.wq.id) this.executed.set(rig, (this.executed.get(rig) ?? 0) + 1);
      });
    }
    return { rig, uuid, vdev, device, ioas, portals: new Map() };
  }

  /** The device calls the guest makes, as the VMM forwards them to the current vdev. */
  private proxy(): GuestVfio {
    const vm = this;
    return {
      getInfo: () => vm.host.device.getInfo(),
      getRegionInfo: (i) => vm.host.device.getRegionInfo(i),
      getIrqInfo: (i) => vm.host.device.getIrqInfo(i),
      setIrqs: (req) => {
        vm.host.device.setIrqs(req);
        vm.irqSets.push(req);
      },
      readRegion: (i, off, buf) => vm.host.device.readRegion(i, off, buf),
      writeRegion: (i, off, buf) => {
        if (vm.o.postedBar2 === true && i === VFIO_PCI_BAR2_REGION_INDEX) {
          vm.posted.push({ offset: off, bytes: buf.slice() });
          return buf.length;
        }
        return vm.host.device.writeRegion(i, off, buf);
      },
      mmap: (pos, length) => {
        void length;
        return { submit: (b: Uint8Array, off: number) => vm.portal(pos).submit(b, off) };
      },
    };
  }

  private portal(pos: number): VdevPortalMapping {
    let p = this.host.portals.get(pos);
    if (p === undefined) {
      p = this.host.device.mmap(pos, PAGE);
      this.host.portals.set(pos, p);
    }
    return p;
  }

  /** Delivers the posted BAR2 writes to the current device, in order. */
  flushPosted(): number {
    const n = this.posted.length;
    for (const w of this.posted.splice(0)) this.host.device.writeRegion(VFIO_PCI_BAR2_REGION_INDEX, w.offset, w.bytes);
    return n;
  }

  /** Posted BAR2 writes not delivered yet. */
  get postedCount(): number {
    return this.posted.length;
  }

  /** A CPU phase of `turns` turns of the event loop; returns the pages the vCPU changed. */
  async cpu(turns = 4): Promise<number[]> {
    const before = this.memory.bytes.slice();
    for (let i = 0; i < turns; i++) await new Promise((r) => setTimeout(r, 0));
    const out: number[] = [];
    const now = this.memory.bytes;
    for (let p = 0; p < now.length; p += PAGE) {
      for (let k = p; k < p + PAGE; k++) {
        if (now[k] !== before[k]) {
          out.push(p);
          break;
        }
      }
    }
    return out;
  }

  /** A device phase: posted writes delivered, then up to `steps` steps of the current parent; returns the steps run. */
  step(steps = 4): number {
    this.flushPosted();
    let n = 0;
    while (n < steps && this.host.rig.dev.step()) n++;
    return n;
  }

  /** Runs CPU and device phases until `done` settles (at most `limit` rounds). */
  async until<T>(done: Promise<T>, limit = 2000): Promise<T> {
    let settled = false;
    const p = done.finally(() => {
      settled = true;
    });
    for (let i = 0; i < limit && !settled; i++) {
      await this.cpu(1);
      this.step(8);
    }
    return p;
  }

  private copyPages(pages: Iterable<number>): number {
    let n = 0;
    for (const p of pages) {
      this.copy.set(this.memory.bytes.subarray(p, p + PAGE), p);
      n++;
    }
    return n;
  }

  private report(device: VfioDevice<VdevPortalMapping>): number[] {
    const len = this.memory.size;
    const bitmap = device.dmaLoggingReport({ iova: 0, length: len, pageSize: PAGE });
    const out: number[] = [];
    for (let u = 0; u < len / PAGE; u++) if (((bitmap[u >>> 3] as number) >>> (u & 7)) & 1) out.push(u * PAGE);
    return out;
  }

  /**
   * Migrates the VM to a vdev on `dest` while it runs: DMA logging on the source and a full copy of
   * memory (round 0), `rounds` pre-copy rounds (a CPU phase copied by its changed pages, a device phase
   * of `steps` steps copied by the pages the device's log reports) with the device state pre-copied too
   * (`precopy`), then the switchover — STOP (the device completes what its WQ accepted), posted BAR2
   * writes delivered (queued in the stopped vdev), the final log report copied, the state stream read —
   * the destination loaded, the guest's interrupts installed there, RUNNING. The source is closed and
   * its mdev removed.
   */
  async migrate(dest: ParentRig, o: MigrateOptions = {}): Promise<MigrationResult> {
    const src = this.host;
    const type = `idxd-${src.vdev.mode === 'dedicated' ? 'dsa-1dwq-v1' : 'dsa-1swq-v1'}`;
    const handlesBefore = this.guest.interruptHandles.slice();
    src.device.dmaLoggingStart({ pageSize: PAGE, ranges: [{ iova: 0, length: this.memory.size }] });
    this.copy.set(this.memory.bytes);
    const chunks: Uint8Array[] = [];
    let stream: VfioMigrationStream | null = null;
    if (o.precopy === true) {
      stream = src.device.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
      const info = stream.precopyInfo();
      const b = new Uint8Array(info.initialBytes);
      stream.read(b);
      chunks.push(b);
    }
    const rounds: Round[] = [];
    for (let r = 0; r < (o.rounds ?? 3); r++) {
      const cpuPages = this.copyPages(await this.cpu(2));
      this.step(o.steps ?? 6);
      const devicePages = this.copyPages(this.report(src.device));
      rounds.push({ cpuPages, devicePages });
      if (stream !== null) {
        const dirty = stream.precopyInfo().dirtyBytes;
        if (dirty > 0) {
          const b = new Uint8Array(dirty);
          stream.read(b);
          chunks.push(b);
        }
      }
    }
    // A last CPU phase without a device phase after it: what the guest posts now is still in flight at STOP.
    o.onFinalCpu?.();
    if ((o.finalCpu ?? 0) > 0) rounds.push({ cpuPages: this.copyPages(await this.cpu(o.finalCpu)), devicePages: 0 });
    // Switchover: the vCPU is stopped from here on.
    const inFlightAtStop = src.vdev.occupancy;
    let queuedAtSave = 0;
    if (stream !== null) {
      src.device.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY);
    } else {
      src.device.setMigrationState(VFIO_DEVICE_STATE_STOP);
      this.flushPosted();
      queuedAtSave = src.vdev.queued;
      stream = src.device.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream;
    }
    const finalPages = this.copyPages(this.report(src.device));
    chunks.push(readAll(stream));
    src.device.setMigrationState(VFIO_DEVICE_STATE_STOP);
    let memoryEqual = true;
    for (let i = 0; i < this.copy.length; i++) {
      if (this.copy[i] !== this.memory.bytes[i]) {
        memoryEqual = false;
        break;
      }
    }
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    // The destination.
    const dst = this.attach(dest, type);
    const ls = dst.device.setMigrationState(VFIO_DEVICE_STATE_RESUMING) as VfioMigrationStream;
    ls.write(bytes);
    dst.device.setMigrationState(VFIO_DEVICE_STATE_STOP);
    this.host = dst;
    for (const req of this.irqSets) dst.device.setIrqs(req);
    dst.device.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    src.device.dmaLoggingStop();
    src.device.close();
    src.rig.bus.remove(src.uuid);
    return { rounds, finalPages, streamBytes: bytes.length, memoryEqual, handlesBefore, inFlightAtStop, queuedAtSave };
  }
}
