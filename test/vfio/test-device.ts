/**
 * A small vfio-pci-like device for the VFIO and mdev tests: a config region split with the vfio-pci
 * rule, a trapped BAR0 of registers (1/2/4/8 bytes, naturally aligned), a BAR2 of two mappable pages
 * (reads all ones, 8- or 64-byte writes), optionally a device-specific region 9 and a mappable BAR4,
 * the five vfio-pci IRQ indices, and optional migration with scripted arcs. Everything it is asked to
 * do is logged so tests can check that a rejected call reached no handler.
 */
import {
  MigrationArcError,
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  VFIO_REGION_TYPE_PCI_VENDOR_TYPE,
  configPieceSize,
  migStateName,
  type ErrnoName,
  type InterruptSink,
  type IrqIndexOps,
  type MigrationOps,
  type MigrationStreamOps,
  type RegionOps,
  type VfioDeviceOps,
} from '../../src/vfio/index.js';

const R = VFIO_REGION_INFO_FLAG_READ;
const W = VFIO_REGION_INFO_FLAG_WRITE;
const MMAP = VFIO_REGION_INFO_FLAG_MMAP;

/** What the test device's mmap hands out. */
export interface TestMapping {
  /** Region index. */
  readonly region: number;
  /** Region-relative offset. */
  readonly offset: number;
  /** Length. */
  readonly length: number;
}

/** Options of {@link TestDevice}. */
export interface TestDeviceOptions {
  /** MSI-X vectors (default 2). */
  readonly msixVectors?: number;
  /** MSI vectors (default 0). */
  readonly msiVectors?: number;
  /** INTx present (interrupt pin ≠ 0; default false). */
  readonly intx?: boolean;
  /** Add region 9 (device-specific, TYPE cap) and a mappable BAR4 with MSIX_MAPPABLE. */
  readonly extraRegions?: boolean;
  /** Migration flags; absent = no migration. */
  readonly migrationFlags?: number;
  /** Leave RESET out of the device flags. */
  readonly noReset?: boolean;
}

/** An arc failure the test scripts. */
export interface ArcFailure {
  /** Arc start. */
  readonly from: number;
  /** Arc end. */
  readonly to: number;
  /** errno of the failure. */
  readonly errno: ErrnoName;
  /** Leave the device in ERROR. */
  readonly toError: boolean;
}

/** Config space reset image: vendor 8086, device 0b25, class 088000. */
function configImage(): Uint8Array {
  const c = new Uint8Array(0x100);
  c.set([0x86, 0x80, 0x25, 0x0b], 0);
  c.set([0x00, 0x00, 0x80, 0x08], 8);
  return c;
}

/** Bytes of config space the guest may write: the command register (bits 1, 2, 10) and 0x0c. */
function configWriteMask(): Uint8Array {
  const m = new Uint8Array(0x100);
  m[4] = 0x06;
  m[5] = 0x04;
  m[0x0c] = 0xff;
  return m;
}

const MAGIC = [0x54, 0x44, 0x45, 0x56]; // "TDEV"

/** The test device. */
export class TestDevice implements VfioDeviceOps<TestMapping> {
  readonly flags: number;
  readonly regions: readonly RegionOps<TestMapping>[];
  readonly irqs: readonly IrqIndexOps[];
  readonly migration?: MigrationOps;

  /** Config space bytes. */
  readonly config = configImage();
  /** BAR0 register bytes. */
  readonly bar0 = new Uint8Array(0x1000);
  /** Every handler call, e.g. `bar0 w 4 @0x10`, `cfg r 2 @0x2`, `bar2 mmap 0x1000 @0x1000`. */
  readonly log: string[] = [];
  /** Every arc run, e.g. `RUNNING>STOP`. */
  readonly arcs: string[] = [];
  /** Every irqConfigChanged call (IRQ index). */
  readonly irqChanges: number[] = [];
  /** The sink of the open handle, or null. */
  sink: InterruptSink | null = null;
  /** Counters. */
  opens = 0;
  closes = 0;
  resets = 0;
  /** Next arc failure to inject (consumed when hit). */
  failArc: ArcFailure | null = null;
  /** Bytes the last loading stream received. */
  loaded: number[] = [];
  /** Bytes a saving stream still has in PRE_COPY (the initial image). */
  precopyLeft = 0;

  constructor(readonly options: TestDeviceOptions = {}) {
    this.flags = (options.noReset ? 0 : VFIO_DEVICE_FLAGS_RESET) | VFIO_DEVICE_FLAGS_PCI;
    const absent: RegionOps<TestMapping> = { size: 0, flags: 0 };
    const extra = options.extraRegions === true;
    const regions: RegionOps<TestMapping>[] = [
      this.bar0Region(),
      absent,
      this.bar2Region(),
      absent,
      extra ? this.bar4Region() : absent,
      absent,
      absent,
      this.configRegion(),
      absent,
    ];
    if (extra) regions.push(this.vendorRegion());
    this.regions = regions;
    const notify = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
    this.irqs = [
      { count: options.intx ? 1 : 0, flags: VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, exclusive: true },
      { count: options.msiVectors ?? 0, flags: notify, exclusive: true },
      { count: options.msixVectors ?? 2, flags: notify, exclusive: true },
      { count: 1, flags: notify, role: 'error' },
      { count: 1, flags: notify, role: 'request' },
    ];
    if (options.migrationFlags !== undefined) {
      this.migration = { flags: options.migrationFlags, arc: (f, t) => this.arc(f, t), dataSize: () => 4 + this.bar0.length };
    }
  }

  open(sink: InterruptSink): void {
    this.opens++;
    this.sink = sink;
    this.log.push('open');
  }

  close(): void {
    this.closes++;
    this.sink = null;
    this.resetState();
    this.log.push('close');
  }

  reset(): void {
    this.resets++;
    this.resetState();
    this.log.push('reset');
  }

  irqConfigChanged(index: number): void {
    this.irqChanges.push(index);
  }

  /** Raises a vector through the sink (what the device model does on an interrupt). */
  raise(index: number, vector: number): boolean {
    return this.sink?.signal(index, vector) ?? false;
  }

  private resetState(): void {
    this.config.set(configImage());
    this.bar0.fill(0);
  }

  private configRegion(): RegionOps<TestMapping> {
    const mask = configWriteMask();
    return {
      size: 0x100,
      flags: R | W,
      read: (offset, buf) => {
        for (let done = 0; done < buf.length; ) {
          const n = configPieceSize(offset + done, buf.length - done);
          this.log.push(`cfg r ${n} @0x${(offset + done).toString(16)}`);
          buf.set(this.config.subarray(offset + done, offset + done + n), done);
          done += n;
        }
      },
      write: (offset, buf) => {
        for (let done = 0; done < buf.length; ) {
          const n = configPieceSize(offset + done, buf.length - done);
          this.log.push(`cfg w ${n} @0x${(offset + done).toString(16)}`);
          for (let i = 0; i < n; i++) {
            const at = offset + done + i;
            const m = mask[at] as number;
            this.config[at] = ((this.config[at] as number) & ~m) | ((buf[done + i] as number) & m);
          }
          done += n;
        }
      },
    };
  }

  private bar0Region(): RegionOps<TestMapping> {
    return {
      size: 0x1000,
      flags: R | W,
      readSizes: 1 | 2 | 4 | 8,
      writeSizes: 1 | 2 | 4 | 8,
      read: (offset, buf) => {
        this.log.push(`bar0 r ${buf.length} @0x${offset.toString(16)}`);
        buf.set(this.bar0.subarray(offset, offset + buf.length));
      },
      write: (offset, buf) => {
        this.log.push(`bar0 w ${buf.length} @0x${offset.toString(16)}`);
        this.bar0.set(buf, offset);
      },
    };
  }

  private bar2Region(): RegionOps<TestMapping> {
    return {
      size: 0x2000,
      flags: R | W | MMAP,
      writeSizes: 8 | 64,
      sparseAreas: [
        { offset: 0, size: 0x1000 },
        { offset: 0x1000, size: 0x1000 },
      ],
      read: (offset, buf) => {
        this.log.push(`bar2 r ${buf.length} @0x${offset.toString(16)}`);
        buf.fill(0xff);
      },
      write: (offset, buf) => {
        this.log.push(`bar2 w ${buf.length} @0x${offset.toString(16)}`);
      },
      mmap: (offset, length) => {
        this.log.push(`bar2 mmap 0x${length.toString(16)} @0x${offset.toString(16)}`);
        return { region: 2, offset, length };
      },
    };
  }

  private bar4Region(): RegionOps<TestMapping> {
    return {
      size: 0x4000,
      flags: R | W | MMAP,
      msixMappable: true,
      read: (_offset, buf) => buf.fill(0),
      write: () => undefined,
      mmap: (offset, length) => {
        this.log.push(`bar4 mmap 0x${length.toString(16)} @0x${offset.toString(16)}`);
        return { region: 4, offset, length };
      },
    };
  }

  private vendorRegion(): RegionOps<TestMapping> {
    return {
      size: 0x1000,
      flags: R,
      regionType: { type: VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086, subtype: 1 },
      read: (offset, buf) => {
        this.log.push(`vendor r ${buf.length} @0x${offset.toString(16)}`);
        buf.fill(0x5a);
      },
    };
  }

  private arc(from: number, to: number): MigrationStreamOps | void {
    const name = `${migStateName(from)}>${migStateName(to)}`;
    const f = this.failArc;
    if (f !== null && f.from === from && f.to === to) {
      this.failArc = null;
      this.arcs.push(`${name}!`);
      throw new MigrationArcError(f.errno, `injected failure of ${name}`, f.toError);
    }
    this.arcs.push(name);
    if (from === VFIO_DEVICE_STATE_STOP && to === VFIO_DEVICE_STATE_RESUMING) return this.loadingStream();
    if (from === VFIO_DEVICE_STATE_RESUMING && to === VFIO_DEVICE_STATE_STOP) {
      const ok = MAGIC.every((b, i) => this.loaded[i] === b) && this.loaded.length === 4 + this.bar0.length;
      if (!ok) {
        this.resetState();
        throw new MigrationArcError('EINVAL', 'bad migration stream', true);
      }
      this.bar0.set(this.loaded.slice(4));
      return undefined;
    }
    if (name === 'STOP>STOP_COPY' || name === 'RUNNING>PRE_COPY' || name === 'RUNNING_P2P>PRE_COPY_P2P') {
      return this.savingStream();
    }
    return undefined;
  }

  private savingStream(): MigrationStreamOps {
    const image = Uint8Array.from([...MAGIC, ...this.bar0]);
    let at = 0;
    this.precopyLeft = image.length;
    return {
      read: (buf) => {
        const n = Math.min(buf.length, image.length - at);
        buf.set(image.subarray(at, at + n));
        at += n;
        this.precopyLeft = image.length - at;
        return n;
      },
      precopyInfo: () => ({ initialBytes: this.precopyLeft, dirtyBytes: 0 }),
    };
  }

  private loadingStream(): MigrationStreamOps {
    this.loaded = [];
    return {
      write: (buf) => {
        this.loaded.push(...buf);
        return buf.length;
      },
    };
  }
}
