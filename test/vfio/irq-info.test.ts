import { describe, expect, it } from 'vitest';
import { VFIO_DEVICE_GET_IRQ_INFO, VfioDevice, VfioIoctl, decodeIrqInfo, encodeIrqInfo } from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

describe('VFIO_DEVICE_GET_IRQ_INFO', () => {
  const dev = new VfioDevice(new TestDevice({ msixVectors: 3 }));

  it('reports the five vfio-pci indices with their counts and flags', () => {
    expect([0, 1, 2, 3, 4].map((i) => dev.getIrqInfo(i))).toEqual([
      { index: 0, flags: 0x7, count: 0 },
      { index: 1, flags: 0x9, count: 0 },
      { index: 2, flags: 0x9, count: 3 },
      { index: 3, flags: 0x9, count: 1 },
      { index: 4, flags: 0x9, count: 1 },
    ]);
  });

  it('reports INTx count 1 when the device has a pin', () => {
    expect(new VfioDevice(new TestDevice({ intx: true })).getIrqInfo(0).count).toBe(1);
  });

  it('rejects index 5 with EINVAL', () => {
    expect(() => dev.getIrqInfo(5)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('encodes argsz, flags, index, count as four little-endian u32', () => {
    expect([...encodeIrqInfo({ index: 2, flags: 0x9, count: 3 }, 16)]).toEqual([16, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    expect(decodeIrqInfo(encodeIrqInfo({ index: 2, flags: 0x9, count: 3 }, 16))).toEqual({ argsz: 16, index: 2, flags: 0x9, count: 3 });
  });

  it('answers the ioctl in place, and argsz 15 or index 5 with EINVAL', () => {
    const io = new VfioIoctl(dev);
    const arg = Uint8Array.from([16, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    io.ioctl(VFIO_DEVICE_GET_IRQ_INFO, arg);
    expect(decodeIrqInfo(arg)).toEqual({ argsz: 16, index: 2, flags: 0x9, count: 3 });
    arg[0] = 15;
    expect(() => io.ioctl(VFIO_DEVICE_GET_IRQ_INFO, arg)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const bad = Uint8Array.from([16, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => io.ioctl(VFIO_DEVICE_GET_IRQ_INFO, bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
