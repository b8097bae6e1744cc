import { describe, expect, it } from 'vitest';
import { specFunction } from './fixtures.js';

/** Guest-writable and RW1C bits of docs/spec/vidxd-device.md §3, register by register. */
const WRITABLE: readonly { offset: number; size: number; wmask: number; w1c: number }[] = [
  { offset: 0x04, size: 2, wmask: 0x0506, w1c: 0 }, // MEM, BME, SERR, INTx disable
  { offset: 0x06, size: 2, wmask: 0, w1c: 0xf900 }, // status bits 8, 11..15
  { offset: 0x0c, size: 1, wmask: 0xff, w1c: 0 }, // cache line size
  { offset: 0x10, size: 4, wmask: 0xffffe000, w1c: 0 }, // BAR0 (8 KiB, 64-bit)
  { offset: 0x14, size: 4, wmask: 0xffffffff, w1c: 0 },
  { offset: 0x18, size: 4, wmask: 0xffffe000, w1c: 0 }, // BAR2
  { offset: 0x1c, size: 4, wmask: 0xffffffff, w1c: 0 },
  { offset: 0x3c, size: 1, wmask: 0xff, w1c: 0 }, // interrupt line
  { offset: 0x42, size: 2, wmask: 0xc000, w1c: 0 }, // MSI-X enable, function mask
  { offset: 0x58, size: 2, wmask: 0xf9ff, w1c: 0 }, // PCIe device control (bit 15, Initiate FLR, is write-only: it reads 0)
  { offset: 0x5a, size: 2, wmask: 0, w1c: 0x000f }, // PCIe device status errors
  { offset: 0x106, size: 2, wmask: 0x801f, w1c: 0 }, // ATS enable, STU
  { offset: 0x114, size: 2, wmask: 0x0003, w1c: 0 }, // PRI enable, reset
  { offset: 0x116, size: 2, wmask: 0, w1c: 0x0003 }, // PRI response failure, UPRGI
  { offset: 0x11c, size: 4, wmask: 0xffffffff, w1c: 0 }, // PRI allocation (RW per PCIe)
  { offset: 0x126, size: 2, wmask: 0x0005, w1c: 0 }, // PASID enable, privileged-mode enable
];

describe('the virtual device config space of vidxd-device.md §3', () => {
  it('links MSI-X 0x40 -> PCIe 0x50 and ATS 0x100 -> PRI 0x110 -> PASID 0x120', () => {
    const { fn } = specFunction();
    const c = fn.config;
    expect([c.read(0x34, 1), c.read(0x40, 1), c.read(0x41, 1), c.read(0x50, 1), c.read(0x51, 1)]).toEqual([0x40, 0x11, 0x50, 0x10, 0]);
    expect([c.read(0x100, 4), c.read(0x110, 4), c.read(0x120, 4)]).toEqual([0x1101000f, 0x12010013, 0x0001001b]);
    expect(c.read(0x48, 4)).toBe(0x700); // the PBA dword sits at 0x48
    expect(fn.validate()).toEqual([]);
  });

  it('has exactly the guest-writable and RW1C bits the spec lists, and nothing else', () => {
    const { fn } = specFunction();
    const expectedW = new Uint8Array(4096);
    const expectedC = new Uint8Array(4096);
    for (const r of WRITABLE) {
      for (let i = 0; i < r.size; i++) {
        expectedW[r.offset + i] = r.wmask >>> (8 * i);
        expectedC[r.offset + i] = r.w1c >>> (8 * i);
      }
    }
    const diffs: string[] = [];
    for (let b = 0; b < 4096; b++) {
      const w = fn.config.writeMask(b, 1);
      const c = fn.config.w1cMask(b, 1);
      if (w !== expectedW[b] || c !== expectedC[b]) diffs.push(`0x${b.toString(16)}: w=${w.toString(16)} w1c=${c.toString(16)}`);
    }
    expect(diffs).toEqual([]);
  });

  it('reads unlisted bytes as 0', () => {
    const { fn } = specFunction();
    for (const off of [0x20, 0x24, 0x28, 0x30, 0x38, 0x4c, 0x90, 0xfc, 0x130, 0xffc]) {
      fn.config.write(off, 4, 0xffffffff);
      expect(fn.config.read(off, 4)).toBe(0);
    }
  });
});
