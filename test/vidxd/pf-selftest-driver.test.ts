/**
 * What Linux's VFIO selftests do with a DSA device, redone against our PF as vfio-pci presents it. Their
 * user-space DSA driver (`tools/testing/selftests/vfio/lib/drivers/dsa/dsa.c`) and the driver tests
 * that run it (`vfio_pci_driver_test.c`) touch the device in a known order, and {@link SelftestDsa}
 * touches ours in the same order, through the same kind of access:
 *
 * - setup maps every BAR whose region info says MMAP: BAR0 (every sparse area: the MSI-X table and PBA
 *   pages are not mappable) and BAR2 (whole, one mapping), and reads the MSI and MSI-X IRQ info;
 * - probe reads the IDs from config space and GENCAP/CMDCAP through the BAR0 mapping — before anything
 *   turned memory decode on, so that only works because open turned it on, as vfio-pci's does — and
 *   refuses a device that needs interrupt handles requested;
 * - init writes the command register (memory, bus master, INTx off), resets the device, caches GENCAP,
 *   WQCAP, GRPCAP, ENGCAP and OFFSETS with 8-byte reads, writes WQCFG 0 (every entry, dedicated,
 *   priority 1, the device's max transfer and batch) dword by dword and GRPCFG 0 (WQ 0, engine 0) with
 *   8-byte writes, enables the device and WQ 0, and installs one eventfd on MSI-X vector 1 with
 *   SET_IRQS — and nothing else: it never touches MSI-X enable or the table;
 * - a copy is one MEMMOVE (Priv 1, CRAV | RCR, RCI only to send an interrupt, handle 1) written to the
 *   first portal page with a 64-byte store; many copies are BATCH descriptors of up to 2^max_batch_shift
 *   copies each (no record per copy, one for the last batch); every wait polls the record and checks
 *   SWERR on each turn, failing on any software error;
 * - remove resets the device and disables the MSI-X index.
 *
 * The tests then check what theirs check: copies succeed with no interrupt, copies from or to an
 * unmapped IOVA leave no interrupt and no software error, `send_msi` raises exactly one interrupt on
 * the eventfd — through SET_IRQS alone — and a storm of batched copies completes. The sizes are scaled
 * down (a 16 KiB copy region instead of 1 GiB) so the suite stays fast.
 */
import { describe, expect, it } from 'vitest';
import {
  Cr, Desc, DsaDevice, dsaProfile, Flag, MappedRegisters, Opcode, PortalWindow, Status, writeDescAddr, writeDescHeader,
} from '../../src/dsa/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import {
  EventFd, regionOffset, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE, VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX, VFIO_REGION_INFO_CAP_SPARSE_MMAP, VFIO_REGION_INFO_FLAG_MMAP, VfioDevice, VfioIoas,
} from '../../src/vfio/index.js';
import { type PfMapping, pfVfioOps } from '../../src/vidxd/index.js';

// Register offsets and command codes as the selftest's registers.h has them.
const GENCAP = 0x10;
const WQCAP = 0x20;
const GRPCAP = 0x30;
const ENGCAP = 0x38;
const OFFSETS = 0x60;
const CMD = 0xa0;
const CMDSTS = 0xa8;
const CMDCAP = 0xb0;
const SWERR = 0xc0;
const TABLE_MULT = 0x100;
const CMD_ENABLE_DEVICE = 1;
const CMD_RESET_DEVICE = 5;
const CMD_ENABLE_WQ = 6;
const CMD_REQUEST_INT_HANDLE = 13;
const CMDSTS_ACTIVE = 0x80000000;
/** Vector 1 and up serve WQ completion interrupts; the driver uses 1. */
const MSIX_VECTOR = 1;

const KiB = 1024;
/** Where the test's memory sits in the IOVA space (the selftests use the buffers' virtual addresses). */
const BASE = 0x7f00_0000_0000;
/** The copy region (1 GiB in the selftest) and the driver's region (2 MiB there). */
const COPY_REGION = 16 * KiB;
const DRIVER_REGION = 0x20000;
/** An IOVA mapped by neither region. */
const UNMAPPED_IOVA = 8 * 1024 * 1024 * 1024;

/** The driver's state in its DMA region, laid out as struct dsa_state: 32 batch and 1024 copy descriptors, then the two records. */
const BATCH = 0;
const COPY = 32 * 64;
const COPY_COMPLETION = COPY + 1024 * 64;
const BATCH_COMPLETION = COPY_COMPLETION + 32;
const SEND_MSI_SRC = BATCH_COMPLETION + 32;
const SEND_MSI_DST = SEND_MSI_SRC + 8;

const field = (q: bigint, shift: number, width: number): number => Number((q >> BigInt(shift)) & ((1n << BigInt(width)) - 1n));

/** The PF opened the way vfio_pci_device_init opens a device: regions mapped where MMAP allows, IRQ info read. */
class SelftestDevice {
  readonly model: DsaDevice;
  readonly dev: VfioDevice<PfMapping>;
  readonly mem = new GuestMemory(COPY_REGION + DRIVER_REGION);
  readonly ioas = new VfioIoas();
  /** BAR0's mappings, one per sparse area. */
  readonly bar0: MappedRegisters[] = [];
  bar2: PortalWindow | null = null;
  readonly msiEventfds: (EventFd | null)[] = new Array<EventFd | null>(32).fill(null);
  readonly msixCount: number;
  readonly msiCount: number;

  constructor(model = new DsaDevice()) {
    this.model = model;
    this.dev = new VfioDevice<PfMapping>(pfVfioOps(model));
    expect(this.dev.getRegionInfo(7).flags & VFIO_REGION_INFO_FLAG_MMAP).toBe(0); // config space is never mappable
    for (let i = 0; i < 6; i++) {
      const info = this.dev.getRegionInfo(i);
      if ((info.flags & VFIO_REGION_INFO_FLAG_MMAP) === 0) continue;
      const sparse = info.caps.find((c) => c.id === VFIO_REGION_INFO_CAP_SPARSE_MMAP);
      const areas = sparse !== undefined && 'areas' in sparse ? sparse.areas : [{ offset: 0, size: info.size }];
      for (const a of areas) {
        const m = this.dev.mmap(regionOffset(i) + a.offset, a.size);
        if (m instanceof MappedRegisters) this.bar0.push(m);
        else this.bar2 = m;
      }
    }
    this.msiCount = this.dev.getIrqInfo(VFIO_PCI_MSI_IRQ_INDEX).count;
    this.msixCount = this.dev.getIrqInfo(VFIO_PCI_MSIX_IRQ_INDEX).count;
    // region_setup(): the copy region and the driver's region, each mapped for DMA.
    this.ioas.map({ iova: BASE, size: COPY_REGION, memory: this.mem, offset: 0, flags: 3 });
    this.ioas.map({ iova: BASE + COPY_REGION, size: DRIVER_REGION, memory: this.mem, offset: COPY_REGION, flags: 3 });
    this.dev.attachIoas(this.ioas);
  }

  private map(offset: number): MappedRegisters {
    const m = this.bar0.find((r) => offset >= r.offset && offset < r.offset + r.size);
    if (m === undefined) throw new Error(`BAR0 offset 0x${offset.toString(16)} is not mapped`);
    return m;
  }

  readl(offset: number): number {
    const m = this.map(offset);
    return m.read32(offset - m.offset);
  }

  writel(offset: number, value: number): void {
    const m = this.map(offset);
    m.write32(offset - m.offset, value);
  }

  readq(offset: number): bigint {
    const m = this.map(offset);
    const b = new Uint8Array(8);
    m.readInto(offset - m.offset, b);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  writeq(offset: number, value: bigint): void {
    const m = this.map(offset);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, value, true);
    m.writeFrom(offset - m.offset, b);
  }

  configReadw(offset: number): number {
    const b = new Uint8Array(2);
    this.dev.readRegion(7, offset, b);
    return (b[0] as number) | ((b[1] as number) << 8);
  }

  configWritew(offset: number, value: number): void {
    this.dev.writeRegion(7, offset, Uint8Array.of(value & 0xff, value >>> 8));
  }

  /** vfio_pci_irq_enable: a fresh eventfd per vector, installed with SET_IRQS EVENTFD | TRIGGER. */
  msixEnable(vector: number, count: number): void {
    for (let v = vector; v < vector + count; v++) {
      expect(this.msiEventfds[v]).toBeNull();
      this.msiEventfds[v] = new EventFd();
    }
    this.dev.setIrqs({
      flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: vector, count,
      data: this.msiEventfds.slice(vector, vector + count) as EventFd[],
    });
  }

  /** vfio_pci_irq_disable: the eventfds closed, the index disabled. */
  msixDisable(): void {
    this.msiEventfds.fill(null);
    this.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: 0 });
  }

  /** The device's progress while the driver sleeps (usleep): the deterministic model takes a step. */
  sleep(): void {
    this.model.runUntilIdle(64);
  }

  iova(driverOffset: number): number {
    return BASE + COPY_REGION + driverOffset;
  }
}

/** The selftest's DSA driver, operation by operation. */
class SelftestDsa {
  readonly d: SelftestDevice;
  maxBatches = 0;
  maxCopiesPerBatch = 0;
  maxMemcpySize = 0;
  maxMemcpyCount = 0;
  private memcpyCount = 0;
  private gencap = 0n;
  private wqcfgTable = 0;
  private grpcfgTable = 0;
  private readonly view: DataView;
  private readonly drv: number; // where the driver's region starts in the test's memory

  constructor(d: SelftestDevice) {
    this.d = d;
    this.drv = COPY_REGION;
    this.view = new DataView(d.mem.bytes.buffer);
  }

  /** dsa_probe: the SPR DSA IDs, and no need to request interrupt handles. */
  probe(): boolean {
    if (this.d.configReadw(0) !== 0x8086 || this.d.configReadw(2) !== 0x0b25) return false;
    const gencap = this.d.readq(GENCAP);
    if (field(gencap, 4, 1) === 0) return true; // GENCAP.cmd_cap
    return ((this.d.readl(CMDCAP) >>> CMD_REQUEST_INT_HANDLE) & 1) === 0;
  }

  /** dsa_check_sw_err: any valid SWERR fails the test. */
  checkSwErr(): void {
    const first = this.d.readq(SWERR);
    if ((first & 1n) === 0n) return;
    const rest = [8, 16, 24].map((o) => this.d.readq(SWERR + o).toString(16));
    throw new Error(`Software Error Detected! SWERR 0x${first.toString(16)} ${rest.join(' ')}`);
  }

  /** dsa_command: write CMD, poll CMDSTS (checking SWERR each time) until it is no longer active; the error must be 0. */
  command(cmd: number): void {
    this.d.writel(CMD, cmd << 20);
    let status = 0;
    for (let attempts = 5000; ; attempts--) {
      this.checkSwErr();
      status = this.d.readl(CMDSTS);
      if ((status & CMDSTS_ACTIVE) === 0) break;
      expect(attempts).toBeGreaterThan(0);
      this.d.sleep();
    }
    expect(status & 0xff, `command 0x${cmd.toString(16)}`).toBe(0);
  }

  /** dsa_init. */
  init(): void {
    this.d.configWritew(0x04, 0x0002 | 0x0004 | 0x0400);
    this.command(CMD_RESET_DEVICE);
    // dsa_register_cache_init
    this.gencap = this.d.readq(GENCAP);
    const wqcap = this.d.readq(WQCAP);
    const grpcap = this.d.readq(GRPCAP);
    const engcap = this.d.readq(ENGCAP);
    const offsets = this.d.readq(OFFSETS);
    this.d.readq(OFFSETS + 8);
    this.wqcfgTable = field(offsets, 16, 16) * TABLE_MULT;
    this.grpcfgTable = field(offsets, 0, 16) * TABLE_MULT;
    // The C code bounds the batch count by its 32-entry batch array.
    this.maxBatches = Math.min(32, field(wqcap, 0, 16));
    this.maxCopiesPerBatch = Math.min(1024, 2 ** field(this.gencap, 21, 4));
    // dsa_wq_init: WQ 0 gets every entry, dedicated, priority 1, the device's limits; one dword at a time.
    expect(field(wqcap, 16, 8)).toBeGreaterThan(0);
    const wqcfg = new Uint32Array(8);
    wqcfg[0] = field(wqcap, 0, 16);
    wqcfg[2] = 1 | (1 << 4) | (field(wqcap, 50, 1) << 2);
    wqcfg[3] = field(this.gencap, 16, 5) | (field(this.gencap, 21, 4) << 5);
    const wqcfgSize = 1 << (field(wqcap, 24, 4) + 5);
    for (let i = 0; i < wqcfgSize / 4; i++) this.d.writel(this.wqcfgTable + 4 * i, wqcfg[i] ?? 0);
    // dsa_group_init: WQ 0 and engine 0 in group 0.
    expect([field(grpcap, 0, 8) > 0, field(engcap, 0, 8) > 0]).toEqual([true, true]);
    this.d.writeq(this.grpcfgTable, 1n);
    this.d.writeq(this.grpcfgTable + 0x20, 1n);
    this.command(CMD_ENABLE_DEVICE);
    this.command(CMD_ENABLE_WQ);
    this.d.msixEnable(MSIX_VECTOR, 1);
    this.maxMemcpyCount = this.maxBatches * this.maxCopiesPerBatch;
    this.maxMemcpySize = 2 ** field(this.gencap, 16, 5);
  }

  /** dsa_remove. */
  remove(): void {
    this.command(CMD_RESET_DEVICE);
    this.d.msixDisable();
  }

  private status(offset: number): number {
    return this.d.mem.bytes[this.drv + offset + Cr.STATUS] as number;
  }

  /** dsa_completion_wait: poll the record, checking SWERR each turn; 0 on success, −1 on an error status. */
  private completionWait(offset: number): number {
    let status = 0;
    for (let turns = 0; ; turns++) {
      this.checkSwErr();
      status = this.status(offset);
      if (status !== 0) break;
      expect(turns).toBeLessThan(100_000);
      this.d.sleep();
    }
    return status === Status.SUCCESS ? 0 : -1;
  }

  private copyDesc(at: number, src: number, dst: number, size: number, interrupt: boolean): void {
    const base = this.drv + at;
    this.d.mem.bytes.fill(0, base, base + 64);
    writeDescHeader(this.view, base, Opcode.MEMMOVE, Flag.CRAV | Flag.RCR | (interrupt ? Flag.RCI : 0), 0, true);
    writeDescAddr(this.view, base, Desc.CR_ADDR, this.d.iova(COPY_COMPLETION));
    writeDescAddr(this.view, base, Desc.SRC, src);
    writeDescAddr(this.view, base, Desc.DST, dst);
    this.view.setUint32(base + Desc.XFER_SIZE, size, true);
    this.view.setUint16(base + Desc.INT_HANDLE, interrupt ? MSIX_VECTOR : 0, true);
  }

  private batchDesc(at: number, count: number, last: boolean): void {
    const base = this.drv + at;
    this.d.mem.bytes.fill(0, base, base + 64);
    writeDescHeader(this.view, base, Opcode.BATCH, Flag.CRAV | (last ? Flag.RCR : 0), 0, true);
    writeDescAddr(this.view, base, Desc.CR_ADDR, this.d.iova(BATCH_COMPLETION));
    writeDescAddr(this.view, base, Desc.SRC, this.d.iova(COPY));
    this.view.setUint32(base + Desc.XFER_SIZE, count, true);
  }

  /** dsa_desc_write: one 64-byte store to the first portal page (iosubmit_cmds512). */
  private descWrite(at: number): void {
    (this.d.bar2 as PortalWindow).movdir64b(0, this.d.mem.bytes, this.drv + at);
  }

  private memcpyOne(src: number, dst: number, size: number, interrupt: boolean): void {
    this.d.mem.bytes.fill(0, this.drv + COPY_COMPLETION, this.drv + COPY_COMPLETION + 32);
    this.copyDesc(COPY, src, dst, size, interrupt);
    this.descWrite(COPY);
  }

  private memcpyBatch(src: number, dst: number, size: number, count: number): void {
    this.d.mem.bytes.fill(0, this.drv + BATCH_COMPLETION, this.drv + BATCH_COMPLETION + 32);
    for (let i = 0; i < 1024; i++) {
      this.copyDesc(COPY + 64 * i, src, dst, size, false);
      this.view.setUint8(this.drv + COPY + 64 * i + Desc.FLAGS, Flag.CRAV); // no record per copy
    }
    let left = count;
    for (let i = 0; i < 32 && left > 0; i++) {
      let n = Math.min(left, this.maxCopiesPerBatch);
      left -= n;
      if (left === 1) { // a batch needs two descriptors at least: leave two for the next one
        n--;
        left++;
      }
      this.batchDesc(BATCH + 64 * i, n, left === 0);
      this.descWrite(BATCH + 64 * i);
    }
    expect(left).toBe(0);
  }

  /** vfio_pci_driver_memcpy_start → dsa_memcpy_start. */
  memcpyStart(src: number, dst: number, size: number, count: number): void {
    expect(size).toBeLessThanOrEqual(this.maxMemcpySize);
    expect(count).toBeLessThanOrEqual(this.maxMemcpyCount);
    if (count === 1) this.memcpyOne(src, dst, size, false);
    else this.memcpyBatch(src, dst, size, count);
    this.memcpyCount = count;
  }

  /** vfio_pci_driver_memcpy_wait → dsa_memcpy_wait. */
  memcpyWait(): number {
    const r = this.completionWait(this.memcpyCount === 1 ? COPY_COMPLETION : BATCH_COMPLETION);
    this.memcpyCount = 0;
    return r;
  }

  memcpy(src: number, dst: number, size: number): number {
    this.memcpyStart(src, dst, size, 1);
    return this.memcpyWait();
  }

  /** dsa_send_msi: an 8-byte copy that asks for the completion interrupt on vector 1. */
  sendMsi(): void {
    this.memcpyOne(this.d.iova(SEND_MSI_SRC), this.d.iova(SEND_MSI_DST), 8, true);
    expect(this.completionWait(COPY_COMPLETION)).toBe(0);
  }
}

/** The driver-test fixture: device set up, regions mapped, driver initialised, buffers chosen. */
function fixture(): { t: SelftestDsa; src: number; dst: number; size: number; msi: EventFd } {
  const d = new SelftestDevice();
  const t = new SelftestDsa(d);
  expect(t.probe()).toBe(true);
  t.init();
  const size = Math.min(t.maxMemcpySize, COPY_REGION / 2);
  return { t, src: BASE, dst: BASE + size, size, msi: d.msiEventfds[MSIX_VECTOR] as EventFd };
}

describe('Linux\'s VFIO selftest DSA driver against the PF', () => {
  it('probes through the BAR0 mapping at once (vfio-pci opens with memory decode on) and finds every BAR it maps', () => {
    const d = new SelftestDevice();
    expect([d.bar0.map((m) => [m.offset, m.size]), d.bar2?.size, d.msixCount, d.msiCount]).toEqual([[[0, 0x9000], [0xb000, 0x5000]], 0x20000, 9, 0]);
    expect(new SelftestDsa(d).probe()).toBe(true);
    // A device that must request interrupt handles is refused, as the selftest's probe refuses it.
    expect(new SelftestDsa(new SelftestDevice(new DsaDevice({ profile: dsaProfile({ commandCapabilities: true }) }))).probe()).toBe(false);
  });

  it('init: the device and WQ 0 enabled, MSI-X vector 1 triggered through SET_IRQS only — the MSI-X capability untouched', () => {
    const { t } = fixture();
    const m = t.d.model;
    expect([m.state, m.wqs[0]?.enabled, m.wqs[0]?.dedicated, t.maxBatches, t.maxCopiesPerBatch, t.maxMemcpySize]).toEqual([1, true, true, 32, 1024, 2 ** 31]);
    expect([m.msix.enabled, m.msix.isMasked(1), t.d.dev.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).size]).toEqual([false, true, 2]);
  });

  it('init_remove: ten removes and inits in a row', () => {
    const { t } = fixture();
    for (let i = 0; i < 10; i++) {
      t.remove();
      t.init();
    }
    expect(t.d.model.wqs[0]?.enabled).toBe(true);
  });

  it('memcpy_success: the copy lands and no interrupt comes', () => {
    const { t, src, dst, size, msi } = fixture();
    const mem = t.d.mem.bytes;
    mem.fill(0x78, src - BASE, src - BASE + size);
    mem.fill(0x79, dst - BASE, dst - BASE + size);
    expect(t.memcpy(src, dst, size)).toBe(0);
    expect(mem.subarray(dst - BASE, dst - BASE + size).every((b) => b === 0x78)).toBe(true);
    expect(msi.count).toBe(0);
  });

  it('memcpy_from_unmapped_iova and memcpy_to_unmapped_iova: the record reports the fault; no interrupt, no software error', () => {
    const { t, src, dst, size, msi } = fixture();
    expect(t.memcpy(UNMAPPED_IOVA, dst, size)).toBe(-1);
    expect(t.memcpy(src, UNMAPPED_IOVA, size)).toBe(-1);
    expect(msi.count).toBe(0);
    t.checkSwErr();
  });

  it('send_msi: exactly one interrupt on the eventfd of vector 1', () => {
    const { t, msi } = fixture();
    t.sendMsi();
    expect(msi.read()).toBe(1);
  });

  it('mix_and_match: ten rounds of a good copy, a copy from an unmapped IOVA and send_msi', () => {
    const { t, src, dst, size, msi } = fixture();
    const mem = t.d.mem.bytes;
    for (let i = 0; i < 10; i++) {
      mem.fill(0x78, src - BASE, src - BASE + size);
      mem.fill(0x79, dst - BASE, dst - BASE + size);
      expect(t.memcpy(src, dst, size)).toBe(0);
      expect(mem[dst - BASE + size - 1]).toBe(0x78);
      t.memcpy(UNMAPPED_IOVA, dst, size);
      t.sendMsi();
      expect(msi.read()).toBe(1);
    }
  });

  it('memcpy_storm: the most copies the driver can start (32 batches of 1024), all complete, no interrupt', () => {
    const { t, src, dst, size, msi } = fixture();
    const count = Math.min(Math.floor((250 * 2 ** 30) / size), t.maxMemcpyCount);
    expect(count).toBe(32 * 1024);
    t.memcpyStart(src, dst, size, count);
    expect(t.memcpyWait()).toBe(0);
    expect(msi.count).toBe(0);
  });
});

