import { describe, expect, it } from 'vitest';
import { VfioDevice, configPieceSize, regionOffset } from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

const CONFIG = regionOffset(7);
const BAR0 = regionOffset(0);
const BAR2 = regionOffset(2);

function open(): { model: TestDevice; dev: VfioDevice } {
  const model = new TestDevice({ extraRegions: true });
  const dev = new VfioDevice(model);
  model.log.length = 0;
  return { model, dev };
}

/** Expects EINVAL, no handler call and an untouched buffer. */
function rejected(model: TestDevice, call: () => number, buf: Uint8Array): void {
  const copy = buf.slice();
  expect(call).toThrow(expect.objectContaining({ code: 'EINVAL', errno: 22 }));
  expect(model.log).toEqual([]);
  expect(buf).toEqual(copy);
}

describe('region read/write (pread/pwrite on the device handle)', () => {
  it('reads the config-space IDs at 0x700_0000_0000 and returns the byte count', () => {
    const { dev } = open();
    const buf = new Uint8Array(4);
    expect(dev.read(CONFIG, buf)).toBe(4);
    expect([...buf]).toEqual([0x86, 0x80, 0x25, 0x0b]);
  });

  it('writes and reads back BAR0 registers of each allowed width', () => {
    const { model, dev } = open();
    expect(dev.write(BAR0 + 0x10, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(8);
    expect(dev.write(BAR0 + 0x18, Uint8Array.of(9, 10, 11, 12))).toBe(4);
    expect(dev.write(BAR0 + 0x1c, Uint8Array.of(13, 14))).toBe(2);
    expect(dev.write(BAR0 + 0x1e, Uint8Array.of(15))).toBe(1);
    const out = new Uint8Array(8);
    dev.read(BAR0 + 0x18, out);
    expect([...out]).toEqual([9, 10, 11, 12, 13, 14, 15, 0]);
    expect(model.log).toEqual(['bar0 w 8 @0x10', 'bar0 w 4 @0x18', 'bar0 w 2 @0x1c', 'bar0 w 1 @0x1e', 'bar0 r 8 @0x18']);
  });

  it('accepts an access ending exactly at the end of a region', () => {
    const { dev } = open();
    expect(dev.read(BAR0 + 0xff8, new Uint8Array(8))).toBe(8);
    expect(dev.read(CONFIG + 0xff, new Uint8Array(1))).toBe(1);
  });

  describe('rejections: EINVAL, nothing done', () => {
    it('BAR0 access of 3 bytes', () => {
      const { model, dev } = open();
      const buf = Uint8Array.of(1, 2, 3);
      rejected(model, () => dev.write(BAR0, buf), buf);
      rejected(model, () => dev.read(BAR0, buf), buf);
    });

    it('BAR0 access of 16 bytes (not split)', () => {
      const { model, dev } = open();
      const buf = new Uint8Array(16);
      rejected(model, () => dev.read(BAR0, buf), buf);
    });

    it('BAR0 access that is not naturally aligned', () => {
      const { model, dev } = open();
      rejected(model, () => dev.write(BAR0 + 4, new Uint8Array(8)), new Uint8Array(8));
      rejected(model, () => dev.read(BAR0 + 1, new Uint8Array(2)), new Uint8Array(2));
    });

    it('access crossing the end of the region', () => {
      const { model, dev } = open();
      rejected(model, () => dev.read(BAR0 + 0x1000, new Uint8Array(4)), new Uint8Array(4));
      rejected(model, () => dev.read(CONFIG + 0xfe, new Uint8Array(4)), new Uint8Array(4));
    });

    it('access to an absent region', () => {
      const { model, dev } = open();
      rejected(model, () => dev.read(regionOffset(1), new Uint8Array(4)), new Uint8Array(4));
      rejected(model, () => dev.write(regionOffset(8), new Uint8Array(4)), new Uint8Array(4));
    });

    it('access past the last region or at a negative or fractional position', () => {
      const { model, dev } = open();
      rejected(model, () => dev.read(regionOffset(10), new Uint8Array(4)), new Uint8Array(4));
      rejected(model, () => dev.read(-4, new Uint8Array(4)), new Uint8Array(4));
      rejected(model, () => dev.read(CONFIG + 0.5, new Uint8Array(4)), new Uint8Array(4));
    });

    it('write to a read-only region', () => {
      const { model, dev } = open();
      rejected(model, () => dev.write(regionOffset(9), new Uint8Array(4)), new Uint8Array(4));
    });

    it('empty access', () => {
      const { model, dev } = open();
      rejected(model, () => dev.read(CONFIG, new Uint8Array(0)), new Uint8Array(0));
    });

    it('BAR2 trapped write that is neither 8 nor 64 bytes', () => {
      const { model, dev } = open();
      rejected(model, () => dev.write(BAR2, new Uint8Array(32)), new Uint8Array(32));
      rejected(model, () => dev.write(BAR2 + 8, new Uint8Array(64)), new Uint8Array(64));
    });
  });

  it('serves BAR2 trapped reads of any size with all ones and 64-byte writes', () => {
    const { model, dev } = open();
    const buf = new Uint8Array(3);
    dev.read(BAR2 + 5, buf);
    expect([...buf]).toEqual([0xff, 0xff, 0xff]);
    expect(dev.write(BAR2 + 0x1040, new Uint8Array(64))).toBe(64);
    expect(model.log).toEqual(['bar2 r 3 @0x5', 'bar2 w 64 @0x1040']);
  });

  describe('config space: any length, split into dword-bounded naturally aligned pieces', () => {
    it('splits a 7-byte read at 1 into 1@1, 2@2, 4@4', () => {
      const { model, dev } = open();
      dev.read(CONFIG + 1, new Uint8Array(7));
      expect(model.log).toEqual(['cfg r 1 @0x1', 'cfg r 2 @0x2', 'cfg r 4 @0x4']);
    });

    it('splits a 10-byte write at 3 into 1, 4, 4, 1 without crossing a dword', () => {
      const { model, dev } = open();
      dev.write(CONFIG + 3, new Uint8Array(10));
      expect(model.log).toEqual(['cfg w 1 @0x3', 'cfg w 4 @0x4', 'cfg w 4 @0x8', 'cfg w 1 @0xc']);
    });

    it('honours the write mask through a split write', () => {
      const { dev } = open();
      dev.write(CONFIG + 2, Uint8Array.of(0xaa, 0xaa, 0xff, 0xff));
      const out = new Uint8Array(4);
      dev.read(CONFIG, out);
      expect([...out]).toEqual([0x86, 0x80, 0x25, 0x0b]);
      dev.read(CONFIG + 4, out);
      expect([...out]).toEqual([0x06, 0x04, 0, 0]);
    });

    it('picks 4, 2 or 1 as vfio-pci does', () => {
      expect([configPieceSize(0, 8), configPieceSize(0, 3), configPieceSize(2, 8), configPieceSize(1, 8), configPieceSize(6, 1)]).toEqual([4, 2, 2, 1, 1]);
    });
  });
});
