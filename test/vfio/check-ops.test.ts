import { describe, expect, it } from 'vitest';
import { VFIO_DEVICE_FLAGS_PCI, VfioDevice, VfioError, type RegionOps, type VfioDeviceOps } from '../../src/vfio/index.js';

function device(regions: RegionOps[], extra: Partial<VfioDeviceOps> = {}): VfioDeviceOps {
  return { flags: VFIO_DEVICE_FLAGS_PCI, regions, irqs: [], ...extra };
}

const read = (_o: number, b: Uint8Array): void => void b.fill(0);

describe('building a device: malformed tables are programming errors (plain Error)', () => {
  const cases: [string, VfioDeviceOps][] = [
    ['READ without a read handler', device([{ size: 0x100, flags: 1 }])],
    ['an absent region with flags', device([{ size: 0, flags: 1, read }])],
    ['CAPS given by hand', device([{ size: 0x100, flags: 1 | 8, read }])],
    ['a sparse area outside the region', device([{ size: 0x1000, flags: 5, read, mmap: () => 0, sparseAreas: [{ offset: 0x800, size: 0x1000 }] }])],
    ['sparse areas without MMAP', device([{ size: 0x1000, flags: 1, read, sparseAreas: [{ offset: 0, size: 0x1000 }] }])],
    ['a device-specific vfio-pci region without a type', device([...Array.from({ length: 9 }, () => ({ size: 0, flags: 0 })), { size: 0x10, flags: 1, read }])],
    ['access sizes of zero', device([{ size: 0x100, flags: 1, read, readSizes: 0 }])],
    ['an exclusive notification index', device([], { irqs: [{ count: 1, flags: 1, exclusive: true, role: 'request' }] })],
    ['two request indices', device([], { irqs: [{ count: 1, flags: 1, role: 'request' }, { count: 1, flags: 1, role: 'request' }] })],
    ['unknown IRQ flag bits', device([], { irqs: [{ count: 1, flags: 0x10 }] })],
    ['migration flags without STOP_COPY', device([], { migration: { flags: 4, arc: () => undefined } })],
  ];
  for (const [what, ops] of cases) {
    it(what, () => {
      let caught: unknown;
      try {
        new VfioDevice(ops);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(Error);
      expect(caught).not.toBeInstanceOf(VfioError);
    });
  }

  it('accepts a minimal well-formed device', () => {
    expect(() => new VfioDevice(device([{ size: 0x100, flags: 1, read }]))).not.toThrow();
  });
});
