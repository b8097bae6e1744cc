/** BAR0 capability registers of the vdev (vidxd-device.md §4): derived from the parent and the backing WQ, read-only. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPCAP } from '../../src/dsa/index.js';
import { createVdev, DWQ, Guest, openGuest, parentRig, SWQ } from './fixtures.js';

/** Offsets and sizes (dwords) of the capability registers. */
const CAPS: readonly [string, number, number][] = [
  ['VERSION', 0x00, 1], ['GENCAP', 0x10, 2], ['WQCAP', 0x20, 2], ['GRPCAP', 0x30, 2], ['ENGCAP', 0x38, 2], ['OPCAP', 0x40, 8],
  ['OFFSETS', 0x60, 4], ['CMDCAP', 0xb0, 1],
];

function capDwords(g: Guest): number[] {
  return CAPS.flatMap(([, off, n]) => Array.from({ length: n }, (_, k) => g.r32(off + 4 * k)));
}

describe('capability registers', () => {
  it('dedicated vdev on WQ 0: the parent\'s VERSION/GENCAP/OPCAP, one 16-entry dedicated WQ, one group of 2 engines', () => {
    const rig = parentRig();
    const g = new Guest(rig, createVdev(rig, DWQ).uuid);
    expect(g.vdev.wq.id).toBe(0);
    expect(g.r32(0x00)).toBe(0x100);
    // Parent GENCAP 0x40_915F0107 with cmd_cap 1, config_en 0, max_ims_mult 0, no block on fault (WQ 0 has none).
    expect(g.r64(0x10)).toEqual([0x015f0116, 0x40]);
    expect(g.r64(0x20)).toEqual([0x00010010, 1 << 17]);
    expect(g.r64(0x30)).toEqual([1, 0]);
    expect(g.r64(0x38)).toEqual([2, 0]);
    expect(Array.from({ length: 8 }, (_, k) => g.r32(0x40 + 4 * k))).toEqual([...DEFAULT_OPCAP]);
    expect(Array.from({ length: 4 }, (_, k) => g.r32(0x60 + 4 * k))).toEqual([0x00050004, 0x3, 0, 0]);
    expect(g.r32(0xb0)).toBe(0x7ffe);
  });

  it('block on fault is advertised only when the backing WQ allows it', () => {
    const rig = parentRig();
    createVdev(rig, DWQ);
    const second = new Guest(rig, createVdev(rig, DWQ).uuid);
    expect(second.vdev.wq.id).toBe(1);
    expect(second.r32(0x10)).toBe(0x015f0117);
    expect(second.r64(0x20)).toEqual([0x00010008, 1 << 17]);
  });

  it('shared vdev on WQ 2: shared mode, the WQ\'s size, the group\'s engines', () => {
    const rig = parentRig();
    const g = new Guest(rig, createVdev(rig, SWQ).uuid);
    expect(g.vdev.wq.id).toBe(2);
    expect(g.r64(0x10)).toEqual([0x015f0116, 0x40]);
    expect(g.r64(0x20)).toEqual([0x00010020, 1 << 16]);
    expect(g.r64(0x38)).toEqual([2, 0]);
  });

  it('follows another parent profile (OPCAP, transfer and batch sizes, engines)', () => {
    const rig = parentRig({
      profile: { opcap: [0x0000027f, 1, 0, 0, 0, 0, 0, 0], maxTransferShift: 21, maxBatchShift: 5, version: 0x200 },
      config: { groups: [{ id: 0, engines: [0, 1, 2] }], wqs: [{ id: 0, group: 0, mode: 'shared', size: 64, mediated: true }] },
    });
    const g = new Guest(rig, createVdev(rig, SWQ).uuid);
    expect(g.r32(0x00)).toBe(0x200);
    expect([g.r32(0x40), g.r32(0x44)]).toEqual([0x27f, 1]);
    expect((g.r32(0x10) >>> 16) & 0x1f).toBe(21);
    expect((g.r32(0x10) >>> 21) & 0xf).toBe(5);
    expect(g.r32(0x38)).toBe(3);
    expect(g.r32(0x20) & 0xffff).toBe(64);
  });

  it.each([
    ['dedicated', DWQ],
    ['shared', SWQ],
  ] as const)('ignores every write of every size to the %s vdev\'s capability registers', (_m, type) => {
    const g = openGuest(parentRig(), type);
    const before = capDwords(g);
    for (const [, off, n] of CAPS) {
      for (let b = 0; b < 4 * n; b++) g.write(0, off + b, 0xff, 1);
      for (let k = 0; k < n; k++) g.w32(off + 4 * k, 0xffffffff);
      const q = new Uint8Array(8).fill(0xff);
      if (n >= 2) g.dev.writeRegion(0, off, q);
    }
    expect(capDwords(g)).toEqual(before);
  });
});
