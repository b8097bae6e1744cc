import { describe, expect, it, vi } from 'vitest';
import { Header, PasidControl, Status } from '../../src/pci/index.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, VfioDevice, VfioError, regionOffset } from '../../src/vfio/index.js';
import { TestPciDevice, type TestPciOptions, rd, wr } from './test-pci-device.js';

const CONFIG = regionOffset(VFIO_PCI_CONFIG_REGION_INDEX);

function open(options: TestPciOptions = {}): { model: TestPciDevice; dev: VfioDevice<unknown> } {
  const model = new TestPciDevice(options);
  return { model, dev: new VfioDevice(model.ops) };
}

/** The function's config bytes as the device model holds them. */
function image(model: TestPciDevice): Uint8Array {
  const out = new Uint8Array(model.fn.config.size);
  model.fn.config.readInto(0, out);
  return out;
}

describe('PCI adapter: the config region is the function\'s config space', () => {
  it('is region 7, READ|WRITE, as large as the config space (4096 PCIe, 256 conventional)', () => {
    const { dev } = open();
    expect(dev.getRegionInfo(7)).toEqual({ index: 7, flags: 0x3, size: 0x1000, offset: CONFIG, caps: [] });
    expect(open({ conventional: true }).dev.getRegionInfo(7).size).toBe(0x100);
  });

  it('reads vendor, device, class and subsystem IDs', () => {
    const { dev } = open();
    expect(rd(dev, CONFIG + Header.VENDOR_ID, 2)).toBe(0x8086);
    expect(rd(dev, CONFIG + Header.DEVICE_ID, 2)).toBe(0x0b25);
    expect(rd(dev, CONFIG + Header.REVISION_ID) >>> 8).toBe(0x088000);
    expect(rd(dev, CONFIG + Header.SUBSYSTEM_VENDOR_ID, 2)).toBe(0x8086);
  });

  it('reads any length at any offset as the same bytes the config space holds', () => {
    const { model, dev } = open();
    const want = image(model);
    for (const [off, len] of [[0, 0x1000], [0x3, 7], [0x41, 3], [0xfe, 4], [0x11e, 10], [0xfff, 1]] as const) {
      const buf = new Uint8Array(len);
      expect(dev.read(CONFIG + off, buf)).toBe(len);
      expect([...buf]).toEqual([...want.subarray(off, off + len)]);
    }
  });

  it('hands a write to the config space in naturally aligned pieces that never cross a dword', () => {
    const { model, dev } = open();
    const spy = vi.spyOn(model.fn.config, 'write');
    dev.write(CONFIG + 0x3d, new Uint8Array(9));
    expect(spy.mock.calls.map(([off, size]) => [off, size])).toEqual([[0x3d, 1], [0x3e, 2], [0x40, 4], [0x44, 2]]);
  });

  it('hands the written bytes to each piece little-endian', () => {
    const { model, dev } = open();
    const spy = vi.spyOn(model.fn.config, 'write');
    dev.write(CONFIG + 0x0e, Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66));
    expect(spy.mock.calls).toEqual([[0x0e, 2, 0x2211], [0x10, 4, 0x66554433]]);
  });

  it('ignores writes to read-only bits (IDs, class, capability pointers)', () => {
    const { model, dev } = open();
    const before = image(model);
    wr(dev, CONFIG + 0x00, 0xffffffff);
    wr(dev, CONFIG + 0x08, 0xffffffff);
    wr(dev, CONFIG + 0x34, 0xffffffff);
    wr(dev, CONFIG + 0x40, 0xffffffff, 2);
    expect(rd(dev, CONFIG + 0x00)).toBe(0x0b258086);
    expect([...image(model).subarray(0x08, 0x0c)]).toEqual([...before.subarray(0x08, 0x0c)]);
    expect(rd(dev, CONFIG + 0x34, 1)).toBe(0x40);
    expect(rd(dev, CONFIG + 0x40, 2)).toBe(0x5011);
  });

  it('honours RW1C: writing 1 clears a status error bit, writing 0 keeps it', () => {
    const { model, dev } = open();
    model.fn.config.setBits(Header.STATUS, 2, Status.SIG_TARGET_ABORT | Status.REC_MASTER_ABORT);
    wr(dev, CONFIG + Header.STATUS, 0, 2);
    expect(rd(dev, CONFIG + Header.STATUS, 2) & Status.ERRORS).toBe(Status.SIG_TARGET_ABORT | Status.REC_MASTER_ABORT);
    wr(dev, CONFIG + Header.STATUS, Status.SIG_TARGET_ABORT, 2);
    expect(rd(dev, CONFIG + Header.STATUS, 2) & Status.ERRORS).toBe(Status.REC_MASTER_ABORT);
  });

  it('sizes a 64-bit BAR by writing all ones: 0xFFFFE00C / 0xFFFFFFFF for 8 KiB prefetchable', () => {
    const { dev } = open();
    wr(dev, CONFIG + 0x10, 0xffffffff);
    wr(dev, CONFIG + 0x14, 0xffffffff);
    expect(rd(dev, CONFIG + 0x10)).toBe(0xffffe00c);
    expect(rd(dev, CONFIG + 0x14)).toBe(0xffffffff);
  });

  it('moves a BAR when the guest programs its address, and tells the function\'s listeners', () => {
    const { model, dev } = open();
    const moves: string[] = [];
    model.fn.onBarChange((i, on, lo, hi) => moves.push(`${i} ${on} ${lo.toString(16)} ${hi.toString(16)}`));
    dev.write(CONFIG + 0x18, Uint8Array.of(0x00, 0x00, 0x00, 0xfe, 0x01, 0x00, 0x00, 0x00));
    wr(dev, CONFIG + Header.COMMAND, 0x6, 2);
    expect(model.fn.barAddressLo(2)).toBe(0xfe000000);
    expect(model.fn.barAddressHi(2)).toBe(1);
    expect(model.fn.barMapped(2)).toBe(true);
    expect(moves.at(-1)).toBe('2 true fe000000 1');
  });

  it('updates the command register through a 1-byte write to its upper byte', () => {
    const { model, dev } = open();
    wr(dev, CONFIG + Header.COMMAND + 1, 0x04, 1);
    expect(model.fn.command).toBe(0x0400);
    wr(dev, CONFIG + Header.COMMAND, 0xffff, 2);
    expect(model.fn.command).toBe(0x0506);
  });

  it('reaches capabilities: MSI-X enable in message control, PASID enable in extended space', () => {
    const { model, dev } = open();
    wr(dev, CONFIG + 0x42, 0x8000, 2);
    expect(model.msix?.enabled).toBe(true);
    wr(dev, CONFIG + 0x126, PasidControl.ENABLE, 2);
    expect(rd(dev, CONFIG + 0x126, 2)).toBe(PasidControl.ENABLE);
  });

  it('rejects an access past the end of config space with EINVAL, touching nothing', () => {
    const { model, dev } = open();
    const spy = vi.spyOn(model.fn.config, 'write');
    expect(() => dev.write(CONFIG + 0xffe, new Uint8Array(4))).toThrow(VfioError);
    expect(() => open({ conventional: true }).dev.read(CONFIG + 0x100, new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(spy).not.toHaveBeenCalled();
  });
});
