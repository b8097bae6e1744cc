import { describe, expect, it } from 'vitest';
import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_GET_INFO,
  VfioDevice,
  VfioIoctl,
  decodeDeviceInfo,
  encodeDeviceInfo,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
}

describe('VFIO_DEVICE_GET_INFO', () => {
  it('reports RESET|PCI, nine regions and five IRQ indices', () => {
    const dev = new VfioDevice(new TestDevice());
    expect(dev.getInfo()).toEqual({ flags: VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_PCI, numRegions: 9, numIrqs: 5 });
  });

  it('counts a device-specific region in num_regions', () => {
    expect(new VfioDevice(new TestDevice({ extraRegions: true })).getInfo().numRegions).toBe(10);
  });

  it('leaves RESET out for a device without reset', () => {
    expect(new VfioDevice(new TestDevice({ noReset: true })).getInfo().flags).toBe(VFIO_DEVICE_FLAGS_PCI);
  });

  it('encodes the 16-byte vfio-user reply of the spec byte for byte', () => {
    const info = new VfioDevice(new TestDevice()).getInfo();
    expect(encodeDeviceInfo(info, 16)).toEqual(bytes('10 00 00 00 03 00 00 00 09 00 00 00 05 00 00 00'));
  });

  it('writes min(argsz, 24) bytes with cap_offset and pad zero', () => {
    const info = { flags: 3, numRegions: 9, numIrqs: 5 };
    expect(encodeDeviceInfo(info, 24)).toEqual(bytes('18 00 00 00 03 00 00 00 09 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00'));
    expect(encodeDeviceInfo(info, 100).length).toBe(24);
    expect(encodeDeviceInfo(info, 20).length).toBe(20);
  });

  it('round-trips through decode', () => {
    const raw = encodeDeviceInfo({ flags: 3, numRegions: 9, numIrqs: 5 }, 24);
    expect(decodeDeviceInfo(raw)).toEqual({ argsz: 24, flags: 3, numRegions: 9, numIrqs: 5, capOffset: 0 });
  });

  it('rejects argsz below 16 with EINVAL', () => {
    expect(() => encodeDeviceInfo({ flags: 3, numRegions: 9, numIrqs: 5 }, 15)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: 22 }));
  });

  describe('through the ioctl front end', () => {
    it('fills the caller buffer in place and returns 0', () => {
      const io = new VfioIoctl(new VfioDevice(new TestDevice()));
      const arg = new Uint8Array(24);
      arg.set([24], 0);
      expect(io.ioctl(VFIO_DEVICE_GET_INFO, arg)).toBe(0);
      expect(decodeDeviceInfo(arg)).toEqual({ argsz: 24, flags: 3, numRegions: 9, numIrqs: 5, capOffset: 0 });
    });

    it('answers argsz 15 with EINVAL and writes nothing', () => {
      const io = new VfioIoctl(new VfioDevice(new TestDevice()));
      const arg = new Uint8Array(24);
      arg[0] = 15;
      expect(() => io.ioctl(VFIO_DEVICE_GET_INFO, arg)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect([...arg.subarray(1)].every((b) => b === 0)).toBe(true);
    });

    it('answers a buffer shorter than minsz with EFAULT', () => {
      const io = new VfioIoctl(new VfioDevice(new TestDevice()));
      expect(() => io.ioctl(VFIO_DEVICE_GET_INFO, new Uint8Array(12))).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    });
  });
});
