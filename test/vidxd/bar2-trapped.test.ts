/** BAR2 of the vdev (vidxd-device.md §7.1, §7.3, §11.11; vfio-uapi.md §3.3–3.4, §4): region info, mmap rules, the trapped path. */
import { describe, expect, it } from 'vitest';
import { Status } from '../../src/dsa/index.js';
import { decodeRegionInfo, encodeRegionInfo, regionOffset, VfioError } from '../../src/vfio/index.js';
import { memmove, noop } from '../dsa/device-fixtures.js';
import { DWQ, openGuest, parentRig, SWQ } from './fixtures.js';

const BAR2 = regionOffset(2);

function errno(body: () => unknown): string {
  try {
    body();
  } catch (e) {
    if (e instanceof VfioError) return e.code;
    throw e;
  }
  return 'none';
}

describe('BAR2 region info', () => {
  it('dedicated: READ|WRITE|MMAP|CAPS with both portal pages as sparse areas', () => {
    const g = openGuest(parentRig(), DWQ);
    const info = g.dev.getRegionInfo(2);
    expect([info.size, info.flags, info.offset]).toEqual([0x2000, 0xf, BAR2]);
    expect(info.caps).toEqual([{ id: 1, areas: [{ offset: 0, size: 0x1000 }, { offset: 0x1000, size: 0x1000 }] }]);
    expect(g.dev.getRegionInfo(3)).toMatchObject({ size: 0, flags: 0 });
  });

  it('shared: only the limited page is mappable', () => {
    const g = openGuest(parentRig(), SWQ);
    expect(g.dev.getRegionInfo(2).caps).toEqual([{ id: 1, areas: [{ offset: 0x1000, size: 0x1000 }] }]);
  });

  it('encodes to the 0x50 / 0x40 byte replies of vfio-uapi.md §3.3 and the worked example of §4.3', () => {
    const d = openGuest(parentRig(), DWQ).dev.getRegionInfo(2);
    const bytes = encodeRegionInfo(d, 0x50);
    expect(bytes.length).toBe(0x50);
    const v = new DataView(bytes.buffer);
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)]).toEqual([0x50, 0xf, 2, 0x20]);
    expect([...bytes.subarray(0x20, 0x30)]).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodeRegionInfo(bytes).caps).toEqual(d.caps);
    const s = openGuest(parentRig(), SWQ).dev.getRegionInfo(2);
    const short = encodeRegionInfo(s, 32);
    expect(new DataView(short.buffer).getUint32(0, true)).toBe(0x40);
  });
});

describe('BAR2 mmap (§11.11)', () => {
  it('maps whole pages of one area only, shared only', () => {
    const g = openGuest(parentRig(), DWQ);
    expect(g.dev.mmap(BAR2, 0x1000)).toBe(g.dev.mmap(BAR2, 0x1000));
    expect(g.dev.mmap(BAR2 + 0x1000, 0x1000)).not.toBe(g.dev.mmap(BAR2, 0x1000));
    expect(errno(() => g.dev.mmap(BAR2, 0x2000))).toBe('EINVAL');
    expect(errno(() => g.dev.mmap(BAR2 + 0x800, 0x1000))).toBe('EINVAL');
    expect(errno(() => g.dev.mmap(BAR2, 0x800))).toBe('EINVAL');
    expect(errno(() => g.dev.mmap(BAR2, 0x1000, false))).toBe('EINVAL');
    expect(errno(() => g.dev.mmap(regionOffset(0), 0x1000))).toBe('EINVAL');
    const s = openGuest(parentRig(), SWQ);
    expect(errno(() => s.dev.mmap(BAR2, 0x1000))).toBe('EINVAL');
    expect(s.dev.mmap(BAR2 + 0x1000, 0x1000).limited).toBe(true);
  });

  it('hands out the backing WQ\'s IMS portals: unlimited on page 0, limited on page 1', () => {
    const g = openGuest(parentRig(), DWQ);
    const [p0, p1] = [g.portal(0), g.portal(1)];
    expect([p0.wq, p0.ims, p0.limited, p1.ims, p1.limited]).toEqual([g.vdev.wq.id, true, false, true, true]);
  });
});

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('the trapped BAR2 path of a %s vdev', (_m, type) => {
  it('reads all ones at every size', () => {
    const g = openGuest(parentRig(), type);
    for (const n of [1, 2, 4, 8, 64, 3]) {
      const buf = new Uint8Array(n);
      g.dev.readRegion(2, 0x1000 - n, buf);
      expect(buf.every((b) => b === 0xff)).toBe(true);
    }
  });

  it('submits a 64-byte write at a slot with the mapped path\'s rules', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up({ pasid: 6, pasidEn: true });
    const h = g.handle(1);
    g.mem.bytes.fill(0x77, 0x1000, 0x1080);
    g.dev.writeRegion(2, 0x1040, memmove(0x1000, 0x2000, 0x80, { cr: 0x3000, handle: h, pasid: 6 }));
    g.dev.writeRegion(2, 0x0fc0, noop(0x3020, { pasid: 6 }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.status(0x3020), g.mem.bytes[0x207f], g.fds[1]?.count]).toEqual([Status.SUCCESS, Status.SUCCESS, 0x77, 1]);
  });

  it('assembles aligned 8-byte writes per 64-byte slot and submits once the slot is complete', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up({ pasid: 6, pasidEn: true });
    const a = noop(0x3000, { pasid: 6 });
    const b = noop(0x3020, { pasid: 6 });
    // Interleave two slots, out of order, one qword written twice.
    for (const k of [7, 0, 3, 3, 1, 2, 4, 5]) g.dev.writeRegion(2, 0x1000 + 8 * k, a.subarray(8 * k, 8 * k + 8));
    for (const k of [0, 1, 2, 3, 4, 5, 6]) g.dev.writeRegion(2, 0x1080 + 8 * k, b.subarray(8 * k, 8 * k + 8));
    expect(g.vdev.occupancy).toBe(0);
    g.dev.writeRegion(2, 0x1000 + 8 * 6, a.subarray(48, 56));
    expect(g.vdev.occupancy).toBe(1);
    g.dev.writeRegion(2, 0x1080 + 8 * 7, b.subarray(56, 64));
    expect(g.vdev.occupancy).toBe(2);
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.status(0x3020)]).toEqual([Status.SUCCESS, Status.SUCCESS]);
  });

  it('refuses other sizes and misaligned pieces with EINVAL, and drops writes while the WQ is disabled', () => {
    const rig = parentRig();
    const g = openGuest(rig, type);
    expect(errno(() => g.dev.writeRegion(2, 0x1000, new Uint8Array(4)))).toBe('EINVAL');
    expect(errno(() => g.dev.writeRegion(2, 0x1004, new Uint8Array(8)))).toBe('EINVAL');
    expect(errno(() => g.dev.writeRegion(2, 0x1020, new Uint8Array(64)))).toBe('EINVAL');
    expect(errno(() => g.dev.writeRegion(2, 0x1fc0, new Uint8Array(128)))).toBe('EINVAL');
    g.dev.writeRegion(2, 0x1000, noop(0x3000, { pasid: 6 }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.vdev.occupancy, g.swerrCode()]).toEqual([0, 0, -1]);
  });

  it('forgets half-assembled slots on VFIO reset', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up({ pasid: 6, pasidEn: true });
    const a = noop(0x3000, { pasid: 6 });
    for (let k = 0; k < 7; k++) g.dev.writeRegion(2, 0x1000 + 8 * k, a.subarray(8 * k, 8 * k + 8));
    g.dev.reset();
    g.up({ pasid: 6, pasidEn: true });
    g.dev.writeRegion(2, 0x1038, a.subarray(56, 64));
    expect(g.vdev.occupancy).toBe(0);
  });
});
