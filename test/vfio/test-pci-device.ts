/**
 * A small PCI device for the PCI-adapter tests, built on `src/pci` and exposed through `pciVfioOps`:
 * a PCIe function shaped like the vdev (64-bit BAR0 of 8 KiB with the MSI-X table at 0x600 and the PBA
 * at 0x700, 64-bit BAR2 of 8 KiB with two mappable pages, PCIe, ATS, PRI, PASID), or a conventional
 * variant with INTx and a 32-bit BAR. Its BAR handlers and hooks log every call so tests can see what
 * reached the device author and what the adapter kept to itself.
 */
import {
  AtsCapability,
  MsixCapability,
  PasidCapability,
  PcieCapability,
  PcieDeviceType,
  type PciFunction,
  PciFunctionBuilder,
  PriCapability,
} from '../../src/pci/index.js';
import {
  type InterruptSink,
  type MigrationOps,
  type PciBarHandler,
  type PciVfioAdapter,
  type PciVfioOptions,
  pciVfioOps,
} from '../../src/vfio/index.js';

/** What BAR2's mmap hands out. */
export interface TestPortal {
  /** BAR index. */
  readonly bar: number;
  /** BAR-relative offset. */
  readonly offset: number;
  /** Length in bytes. */
  readonly length: number;
}

/** Options of {@link TestPciDevice}. */
export interface TestPciOptions {
  /** A conventional (256-byte, no PCIe) function with interrupt pin A, a 32-bit BAR0 and no MSI-X. */
  readonly conventional?: boolean;
  /** Give the function an expansion ROM of 0x800 bytes; `romContents` decides the adapter's handler. */
  readonly rom?: boolean;
  /** Install a ROM handler (bytes 0x55 0xAA, then `offset & 0xff`). Default true with `rom`. */
  readonly romContents?: boolean;
  /** Leave BAR2's handler out (the BAR then reads zeros and drops writes). */
  readonly noBar2Handler?: boolean;
  /** Migration support passed through. */
  readonly migration?: MigrationOps;
}

/** The vdev-shaped PCIe function: IDs 8086:0b25, class 088000. */
export function vdevLikeFunction(): { fn: PciFunction; msix: MsixCapability; pasid: PasidCapability } {
  const msix = new MsixCapability({ vectors: 2, tableBar: 0, tableOffset: 0x600, pbaBar: 0, pbaOffset: 0x700 });
  const pasid = new PasidCapability({ maxWidth: 20, privileged: true });
  const fn = new PciFunctionBuilder({ vendorId: 0x8086, deviceId: 0x0b25, classCode: 0x088000, subsystemVendorId: 0x8086 })
    .bar(0, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .bar(2, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .capability(msix, 0x40)
    .capability(new PcieCapability({ deviceType: PcieDeviceType.ROOT_COMPLEX_INTEGRATED_ENDPOINT, endEndTlpPrefix: true }), 0x50)
    .capability(new AtsCapability({ invalidateQueueDepth: 1, pageAlignedRequest: true }), 0x100)
    .capability(new PriCapability({ outstandingCapacity: 1 }), 0x110)
    .capability(pasid, 0x120)
    .build();
  return { fn, msix, pasid };
}

function conventionalFunction(rom: boolean): PciFunction {
  const b = new PciFunctionBuilder({ vendorId: 0x1af4, deviceId: 0x1234, classCode: 0x020000, configSize: 256, interruptPin: 1 })
    .bar(0, { kind: 'mem32', size: 0x1000 })
    .bar(2, { kind: 'mem64', size: 0x2000 });
  if (rom) b.rom(0x800);
  return b.build();
}

/** The test device: a PCI function, its BAR0 register bytes and the adapter over both. */
export class TestPciDevice {
  /** The PCI function. */
  readonly fn: PciFunction;
  /** Its MSI-X capability (null for the conventional variant). */
  readonly msix: MsixCapability | null;
  /** BAR0 register bytes the author's handler serves (the MSI-X structures are never written here). */
  readonly regs = new Uint8Array(0x2000);
  /** Handler and hook calls: `bar0 r 4 @0x10`, `bar2 mmap 0x1000 @0x0`, `open`, `close`, `reset`, `irq 2`, `rom r 4 @0x0`. */
  readonly log: string[] = [];
  /** The command register as each `onReset` / `onClose` hook saw it. */
  readonly commandAtHook: number[] = [];
  /** The sink of the open handle, as `onOpen` received it. */
  sink: InterruptSink | null = null;
  /** The adapter: the device's VFIO operations. */
  readonly ops: PciVfioAdapter<TestPortal>;

  constructor(options: TestPciOptions = {}) {
    if (options.conventional === true) {
      this.fn = conventionalFunction(options.rom === true);
      this.msix = null;
    } else {
      const b = vdevLikeFunction();
      this.fn = b.fn;
      this.msix = b.msix;
    }
    const bars: Record<number, PciBarHandler<TestPortal>> = { 0: this.bar0() };
    if (options.noBar2Handler !== true) bars[2] = this.bar2();
    const adapterOptions: PciVfioOptions<TestPortal> = {
      bars,
      ...(options.rom === true && options.romContents !== false ? { rom: { read: (o: number, b: Uint8Array) => this.romRead(o, b) } } : {}),
      ...(options.migration !== undefined ? { migration: options.migration } : {}),
      onOpen: (sink) => {
        this.sink = sink;
        this.log.push('open');
      },
      onClose: () => {
        this.sink = null;
        this.commandAtHook.push(this.fn.command);
        this.regs.fill(0);
        this.log.push('close');
      },
      onReset: () => {
        this.commandAtHook.push(this.fn.command);
        this.regs.fill(0);
        this.log.push('reset');
      },
      onIrqConfigChanged: (index) => this.log.push(`irq ${index}`),
    };
    this.ops = pciVfioOps(this.fn, adapterOptions);
  }

  private bar0(): PciBarHandler<TestPortal> {
    return {
      readSizes: 1 | 2 | 4 | 8,
      writeSizes: 1 | 2 | 4 | 8,
      read: (offset, buf) => {
        this.log.push(`bar0 r ${buf.length} @0x${offset.toString(16)}`);
        buf.set(this.regs.subarray(offset, offset + buf.length));
      },
      write: (offset, buf) => {
        this.log.push(`bar0 w ${buf.length} @0x${offset.toString(16)}`);
        this.regs.set(buf, offset);
      },
    };
  }

  private bar2(): PciBarHandler<TestPortal> {
    return {
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
        return { bar: 2, offset, length };
      },
    };
  }

  private romRead(offset: number, buf: Uint8Array): void {
    this.log.push(`rom r ${buf.length} @0x${offset.toString(16)}`);
    for (let i = 0; i < buf.length; i++) {
      const at = offset + i;
      buf[i] = at === 0 ? 0x55 : at === 1 ? 0xaa : at & 0xff;
    }
  }
}

/** What the access helpers need of a device handle. */
export interface Accessible {
  /** pread. */
  read(pos: number, buf: Uint8Array): number;
  /** pwrite. */
  write(pos: number, buf: Uint8Array): number;
}

/** Reads `size` (1, 2 or 4) bytes at `pos` as a little-endian unsigned number. */
export function rd(dev: Accessible, pos: number, size: 1 | 2 | 4 = 4): number {
  const buf = new Uint8Array(size);
  dev.read(pos, buf);
  let v = 0;
  for (let i = 0; i < size; i++) v |= (buf[i] as number) << (8 * i);
  return v >>> 0;
}

/** Writes the low `size` (1, 2 or 4) bytes of `value` at `pos`, little-endian. */
export function wr(dev: Accessible, pos: number, value: number, size: 1 | 2 | 4 = 4): void {
  const buf = new Uint8Array(size);
  for (let i = 0; i < size; i++) buf[i] = value >>> (8 * i);
  dev.write(pos, buf);
}
