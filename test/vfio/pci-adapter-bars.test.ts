import { describe, expect, it } from 'vitest';
import { MsixCapability, type PciFunction, PciFunctionBuilder } from '../../src/pci/index.js';
import {
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_FLAG_MMAP,
  VfioDevice,
  VfioError,
  pciVfioOps,
  regionOffset,
  type PciBarHandler,
} from '../../src/vfio/index.js';
import { TestPciDevice, type TestPciOptions, type TestPortal, rd, vdevLikeFunction, wr } from './test-pci-device.js';

const BAR0 = regionOffset(0);
const BAR2 = regionOffset(2);
const ROM = regionOffset(6);

function open(options: TestPciOptions = {}): { model: TestPciDevice; dev: VfioDevice<TestPortal> } {
  const model = new TestPciDevice(options);
  const dev = new VfioDevice(model.ops);
  model.log.length = 0;
  return { model, dev };
}

function einval(call: () => unknown): void {
  expect(call).toThrow(expect.objectContaining({ code: 'EINVAL' }));
}

describe('PCI adapter: region table', () => {
  it('reports RESET|PCI, nine regions and five IRQ indices', () => {
    expect(open().dev.getInfo()).toEqual({ flags: 0x3, numRegions: 9, numIrqs: 5 });
  });

  it('maps BARs to regions 0–5: 64-bit upper halves and absent BARs have size 0, flags 0', () => {
    const { dev } = open();
    const info = [0, 1, 2, 3, 4, 5, 6, 8].map((i) => {
      const r = dev.getRegionInfo(i);
      return [i, r.size, r.flags];
    });
    expect(info).toEqual([[0, 0x2000, 0x3], [1, 0, 0], [2, 0x2000, 0xf], [3, 0, 0], [4, 0, 0], [5, 0, 0], [6, 0, 0], [8, 0, 0]]);
  });

  it('advertises the sparse-mmap areas the BAR handler declares', () => {
    expect(open().dev.getRegionInfo(2).caps).toEqual([
      { id: VFIO_REGION_INFO_CAP_SPARSE_MMAP, areas: [{ offset: 0, size: 0x1000 }, { offset: 0x1000, size: 0x1000 }] },
    ]);
  });

  it('sizes regions from 32-bit BARs too (conventional function: BAR0 4 KiB, BAR2/3 64-bit)', () => {
    const { dev } = open({ conventional: true });
    expect([0, 1, 2, 3].map((i) => dev.getRegionInfo(i).size)).toEqual([0x1000, 0, 0x2000, 0]);
  });
});

describe('PCI adapter: BAR accesses', () => {
  it('passes accesses outside the MSI-X structures to the author with BAR-relative offsets', () => {
    const { model, dev } = open();
    dev.write(BAR0 + 0x10, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(rd(dev, BAR0 + 0x14)).toBe(0x08070605);
    expect([...model.regs.subarray(0x10, 0x18)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(model.log).toEqual(['bar0 w 8 @0x10', 'bar0 r 4 @0x14']);
  });

  it('serves the MSI-X table itself: entries written at 0x600 land in the capability, never in the author\'s BAR', () => {
    const { model, dev } = open();
    wr(dev, BAR0 + 0x610, 0xfee01000);
    wr(dev, BAR0 + 0x614, 0x1);
    wr(dev, BAR0 + 0x618, 0x4041);
    expect([model.msix?.addressLo(1), model.msix?.addressHi(1), model.msix?.data(1)]).toEqual([0xfee01000, 1, 0x4041]);
    expect(rd(dev, BAR0 + 0x618)).toBe(0x4041);
    expect(model.log).toEqual([]);
    expect(model.regs.every((b) => b === 0)).toBe(true);
  });

  it('splits an 8-byte table access into dwords: data and vector control in one write', () => {
    const { model, dev } = open();
    dev.write(BAR0 + 0x608, Uint8Array.of(0x34, 0x12, 0, 0, 0, 0, 0, 0));
    expect(model.msix?.data(0)).toBe(0x1234);
    expect(model.msix?.isMasked(0)).toBe(false);
    wr(dev, BAR0 + 0x600, 0xfee00000);
    const buf = new Uint8Array(8);
    dev.read(BAR0 + 0x600, buf);
    expect([...buf]).toEqual([0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0]);
  });

  it('keeps the table\'s reserved bits: only the mask bit of vector control is writable', () => {
    const { dev } = open();
    wr(dev, BAR0 + 0x60c, 0xffffffff);
    expect(rd(dev, BAR0 + 0x60c)).toBe(1);
  });

  it('reads the PBA from the capability and drops PBA writes', () => {
    const { model, dev } = open();
    model.msix?.hold(1); // a pending bit of the function's own (a raised vector goes to its trigger, vfio-uapi.md §5.4)
    expect(rd(dev, BAR0 + 0x700)).toBe(0b10);
    wr(dev, BAR0 + 0x700, 0);
    expect(rd(dev, BAR0 + 0x700)).toBe(0b10);
    expect(model.log).toEqual([]);
  });

  it('leaves the bytes between and after the MSI-X structures to the author', () => {
    const { model, dev } = open();
    rd(dev, BAR0 + 0x5fc);
    rd(dev, BAR0 + 0x620);
    rd(dev, BAR0 + 0x6fc);
    rd(dev, BAR0 + 0x708);
    expect(model.log).toEqual(['bar0 r 4 @0x5fc', 'bar0 r 4 @0x620', 'bar0 r 4 @0x6fc', 'bar0 r 4 @0x708']);
  });

  it('applies the handler\'s access sizes to the MSI-X structures as well (EINVAL before any handler)', () => {
    const { model, dev } = open();
    einval(() => dev.read(BAR0 + 0x600, new Uint8Array(16)));
    einval(() => dev.write(BAR0 + 0x602, new Uint8Array(4)));
    expect(model.msix?.addressLo(0)).toBe(0);
    expect(model.log).toEqual([]);
  });

  it('serves BAR2 from its handler: reads all ones, 64-byte writes, other write sizes EINVAL', () => {
    const { model, dev } = open();
    expect(rd(dev, BAR2 + 0x40)).toBe(0xffffffff);
    dev.write(BAR2 + 0x1040, new Uint8Array(64));
    einval(() => dev.write(BAR2, new Uint8Array(4)));
    expect(model.log).toEqual(['bar2 r 4 @0x40', 'bar2 w 64 @0x1040']);
  });

  it('reads zeros and drops writes on a BAR without a handler', () => {
    const { dev } = open({ noBar2Handler: true });
    expect(dev.getRegionInfo(2)).toMatchObject({ size: 0x2000, flags: 0x3, caps: [] });
    wr(dev, BAR2 + 0x10, 0xdeadbeef);
    expect(rd(dev, BAR2 + 0x10)).toBe(0);
  });
});

describe('PCI adapter: mmap', () => {
  it('hands out the author\'s object for each page of a sparse area', () => {
    const { model, dev } = open();
    expect(dev.mmap(BAR2 + 0x1000, 0x1000)).toEqual({ bar: 2, offset: 0x1000, length: 0x1000 });
    expect(model.log).toEqual(['bar2 mmap 0x1000 @0x1000']);
  });

  it('refuses a range spanning both areas, a BAR without MMAP, and a BAR without a handler', () => {
    const { model, dev } = open();
    einval(() => dev.mmap(BAR2, 0x2000));
    einval(() => dev.mmap(BAR0, 0x1000));
    einval(() => open({ noBar2Handler: true }).dev.mmap(BAR2, 0x1000));
    expect(model.log).toEqual([]);
  });
});

describe('PCI adapter: expansion ROM', () => {
  it('is region 6, read-only, with the ROM\'s size and the handler\'s bytes', () => {
    const { model, dev } = open({ conventional: true, rom: true });
    expect(dev.getRegionInfo(6)).toMatchObject({ size: 0x800, flags: 0x1 });
    expect(rd(dev, ROM)).toBe(0x0302aa55);
    einval(() => dev.write(ROM, new Uint8Array(4)));
    expect(model.log).toEqual(['rom r 4 @0x0']);
  });

  it('reads zeros without a ROM handler', () => {
    const { dev } = open({ conventional: true, rom: true, romContents: false });
    expect(rd(dev, ROM + 0x7fc)).toBe(0);
  });
});

describe('PCI adapter: build errors are plain Errors', () => {
  const fn = (): PciFunction => vdevLikeFunction().fn;
  const build = (bars: Record<number, PciBarHandler>, f: PciFunction = fn()): unknown => pciVfioOps(f, { bars });
  const plain = (call: () => unknown, message: RegExp): void => {
    let caught: unknown;
    try {
      call();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(VfioError);
    expect((caught as Error).message).toMatch(message);
  };
  const mmap = (): null => null;

  it('a handler for the upper half of a 64-bit BAR, an absent BAR or an index past 5', () => {
    plain(() => build({ 1: {} }), /no BAR at index 1/);
    plain(() => build({ 4: {} }), /no BAR at index 4/);
    plain(() => build({ 6: {} }), /no BAR at index 6/);
  });

  it('a mappable page holding the MSI-X table or PBA', () => {
    plain(() => build({ 0: { mmap, sparseAreas: [{ offset: 0, size: 0x2000 }] } }), /would map the MSI-X table at 0x600/);
    const split = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0, configSize: 256 })
      .bar(0, { kind: 'mem32', size: 0x1000 })
      .bar(2, { kind: 'mem32', size: 0x2000 })
      .capability(new MsixCapability({ vectors: 4, tableBar: 0, tableOffset: 0, pbaBar: 2, pbaOffset: 0x1800 }))
      .build();
    plain(() => build({ 2: { mmap, sparseAreas: [{ offset: 0x1000, size: 0x1000 }] } }, split), /would map the MSI-X PBA at 0x1800/);
  });

  it('advertises the pages around the MSI-X table and PBA when the handler names no areas (as vfio-pci does)', () => {
    const ops = build({ 0: { mmap } }) as ReturnType<typeof pciVfioOps>;
    expect(ops.regions[0]?.sparseAreas).toEqual([{ offset: 0x1000, size: 0x1000 }]);
    const wide = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0, configSize: 256 })
      .bar(0, { kind: 'mem64', size: 0x10000 })
      .capability(new MsixCapability({ vectors: 9, tableBar: 0, tableOffset: 0x9000, pbaBar: 0, pbaOffset: 0xa000 }))
      .build();
    const pf = build({ 0: { mmap } }, wide) as ReturnType<typeof pciVfioOps>;
    expect(pf.regions[0]?.sparseAreas).toEqual([{ offset: 0, size: 0x9000 }, { offset: 0xb000, size: 0x5000 }]);
  });

  it('accepts areas whose whole pages avoid the MSI-X page', () => {
    const ops = build({ 0: { mmap, sparseAreas: [{ offset: 0x800, size: 0x1800 }] } }) as ReturnType<typeof pciVfioOps>;
    expect(ops.regions[0]?.flags).toBe(0x3 | VFIO_REGION_INFO_FLAG_MMAP);
  });

  it('MMAP without an mmap handler, and mmap of an I/O BAR', () => {
    plain(() => build({ 2: { flags: 0x7 } }), /MMAP without an mmap handler/);
    const io = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0, configSize: 256 }).bar(4, { kind: 'io', size: 32 }).build();
    plain(() => build({ 4: { mmap } }, io), /I\/O BAR cannot be mapped/);
  });

  it('a ROM handler on a function without a ROM', () => {
    plain(() => pciVfioOps(fn(), { rom: { read: () => undefined } }), /no expansion ROM/);
  });

  it('forces READ|WRITE on a BAR holding MSI-X structures whatever the handler\'s flags say', () => {
    const msix = new MsixCapability({ vectors: 1, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800 });
    const f = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0, configSize: 256 })
      .bar(0, { kind: 'mem32', size: 0x1000 })
      .capability(msix)
      .build();
    const dev = new VfioDevice(pciVfioOps(f, { bars: { 0: { flags: 0 } } }));
    expect(dev.getRegionInfo(0).flags).toBe(0x3);
    wr(dev, BAR0 + 0x8, 0xabcd);
    expect(msix.data(0)).toBe(0xabcd);
  });
});
