/**
 * Guest bugs (vidxd-device.md §4, §11): 100,000 seeded random config, BAR0 and BAR2 accesses of every
 * size per type never throw (but the VFIO EINVAL the spec requires for a bad size or offset, counted),
 * never change read-only state (checked against the register table and the config space's masks),
 * and never affect a second vdev of the same parent — on the same shared WQ for the shared type.
 */
import { describe, expect, it } from 'vitest';
import { Command, resetValue, Status } from '../../src/dsa/index.js';
import { VfioError } from '../../src/vfio/index.js';
import { VDEV_BLOCKS } from '../../src/vidxd/index.js';
import { memmove, noop } from '../dsa/device-fixtures.js';
import { Prng } from '../util/prng.js';
import { createVdev, DWQ, Guest, parentRig, SWQ } from './fixtures.js';

const ACCESSES = 100_000;
const BAR0_SPOTS = [0x00, 0x10, 0x20, 0x60, 0x80, 0x88, 0x90, 0x98, 0xa0, 0xa0, 0xa0, 0xa8, 0xb0, 0xc0, 0xc8, 0x300, 0x308, 0x400, 0x428, 0x500, 0x508, 0x518, 0x600, 0x60c, 0x61c, 0x700];
const CONFIG_SPOTS = [0x04, 0x04, 0x06, 0x0c, 0x10, 0x14, 0x18, 0x3c, 0x40, 0x42, 0x44, 0x48, 0x50, 0x58, 0x78, 0x100, 0x106, 0x110, 0x114, 0x116, 0x11c, 0x120, 0x126];

/** Every read-only, non-status field of the vdev's table that differs from its reset value, as `REG.field@dword`. */
function roViolations(g: Guest): string[] {
  const regs = g.vdev.regs;
  const bad: string[] = [];
  for (const block of VDEV_BLOCKS[g.vdev.mode]) {
    const n = block.count(regs.context);
    for (let i = 0; i < n; i++) {
      for (const reg of block.registers) {
        if (reg.window !== undefined) continue;
        const base = block.base(regs.context) + i * block.stride + reg.offset;
        for (const f of reg.fieldList) {
          if (f.access !== 'RO' || f.status) continue;
          const words = f.width > 32 ? f.width >>> 5 : 1;
          for (let k = 0; k < words; k++) {
            const dword = g.r32(base + 4 * ((f.lo >>> 5) + k));
            const got = f.width > 32 ? dword : (dword >>> (f.lo & 31)) & (f.width === 32 ? 0xffffffff : (1 << f.width) - 1);
            if (got >>> 0 !== resetValue(f, regs.context, k)) bad.push(`${reg.name}.${f.name}@${k}`);
          }
        }
      }
    }
  }
  const image = new Uint8Array(0x1000);
  g.dev.readRegion(7, 0, image);
  if (!g.vdev.pci.config.matchesReadOnly(image)) bad.push('config space');
  return bad;
}

/** Everything the guest of `g` can observe, as numbers: config space, BAR0, memory checksum, interrupt counts, queued work. */
function observe(g: Guest): number[] {
  const out: number[] = [];
  for (let o = 0; o < 0x1000; o += 4) out.push(g.cfg(o));
  for (let o = 0; o < 0x2000; o += 4) out.push(g.r32(o));
  let sum = 0;
  for (let i = 0; i < g.mem.bytes.length; i++) sum = (sum * 31 + (g.mem.bytes[i] as number)) >>> 0;
  out.push(sum, ...g.fds.map((f) => f.count), g.vdev.occupancy);
  return out;
}

/** A random value to write: often a command for CMD, else random bits. */
function value(r: Prng, offset: number): number {
  if (offset === 0xa0 && r.chance(0.7)) {
    const code = r.range(0, 16);
    const operand = r.chance(0.5) ? r.range(0, 3) : r.u32() & 0xfffff;
    return ((code << 20) | operand | (r.chance(0.3) ? 0x80000000 : 0)) >>> 0;
  }
  return r.u32();
}

/** A driver's bring-up written blindly (no status checks): keeps the fuzz visiting Enabled states with an enabled WQ. */
function bringUp(r: Prng, g: Guest): void {
  g.setCfg(0x04, 0x0006, 2);
  g.svmOn();
  g.setCfg(0x42, 0x8000, 2);
  g.w32(0x88, r.below(4));
  g.w32(0xc0, 3);
  g.wqcfgPasid(7, true, r.chance(0.3));
  g.w32(0xa0, Command.ENABLE_DEVICE << 20);
  g.w32(0xa0, Command.ENABLE_WQ << 20);
  if (r.chance(0.5)) g.w32(0xa0, ((Command.REQUEST_INT_HANDLE << 20) | 1) >>> 0);
}

function access(r: Prng, g: Guest, rig: ReturnType<typeof parentRig>): void {
  const kind = r.below(1000);
  if (kind < 300) {
    const size = r.pick([1, 2, 4, 4, 4, 3, 8, 0]);
    const offset = r.chance(0.7) ? r.pick(CONFIG_SPOTS) + r.range(0, 3) : r.below(0x1010);
    const buf = new Uint8Array(size);
    if (r.chance(0.4)) g.dev.readRegion(7, offset, buf);
    else {
      // Mostly keep memory decode and bus mastering on, so the rest of the device stays reachable.
      const v = offset <= 0x04 && offset + size > 0x04 && r.chance(0.9) ? r.u32() | (0x06 << (8 * (0x04 - offset))) : r.u32();
      for (let i = 0; i < size; i++) buf[i] = (v >>> (8 * (i & 3))) & 0xff;
      g.dev.writeRegion(7, offset, buf);
    }
  } else if (kind < 800) {
    const size = r.pick([1, 2, 4, 4, 4, 4, 8, 8, 3, 16]);
    const offset = r.chance(0.85) ? r.pick(BAR0_SPOTS) + (r.chance(0.8) ? 0 : r.pick([1, 2, 4])) : r.below(0x2010);
    const buf = new Uint8Array(size);
    if (r.chance(0.4)) g.dev.readRegion(0, offset, buf);
    else {
      const v = value(r, offset);
      for (let i = 0; i < size; i++) buf[i] = (i < 4 ? v >>> (8 * i) : r.u32()) & 0xff;
      g.dev.writeRegion(0, offset, buf);
    }
  } else if (kind < 985) {
    const size = r.pick([64, 64, 64, 8, 8, 1, 2, 4, 16, 32]);
    const offset = r.chance(0.9) ? r.below(0x2000 / size) * size : r.below(0x2040);
    if (r.chance(0.2)) {
      g.dev.readRegion(2, offset, new Uint8Array(size));
    } else if (size === 64 && r.chance(0.6)) {
      // A plausible descriptor: NOOP or MEMMOVE with the guest's PASID or a random one, records anywhere.
      const pasid = r.chance(0.8) ? 7 : r.u32() & 0xfffff;
      const cr = r.chance(0.8) ? r.below(0x100000 / 32) * 32 : r.u32();
      const d = r.chance(0.5) ? noop(cr, { pasid, handle: r.chance(0.5) ? r.below(4) : undefined }) : memmove(r.below(0x100000), r.below(0x100000), r.below(0x2000), { cr, pasid });
      g.dev.writeRegion(2, offset, d);
    } else {
      g.dev.writeRegion(2, offset, r.bytes(size));
    }
  } else {
    bringUp(r, g);
  }
  if (r.chance(0.03)) rig.dev.step();
}

describe.each([
  ['dedicated', DWQ, 0x5eed0001],
  ['shared', SWQ, 0x5eed0002],
] as const)('100,000 random guest accesses to a %s vdev', (_m, type, seed) => {
  it('never throw but EINVAL, never change read-only state, never affect another vdev', () => {
    const rig = parentRig({
      config: {
        groups: [{ id: 0, engines: [0, 1] }, { id: 1, engines: [2] }],
        wqs: [
          { id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true },
          { id: 1, group: 0, mode: 'dedicated', size: 16, mediated: true },
          { id: 2, group: 1, mode: 'shared', size: 64, mediated: true },
        ],
        userInterrupts: true,
      },
    });
    const target = new Guest(rig, createVdev(rig, type).uuid).up({ pasid: 7, pasidEn: true });
    // Witnesses: the other type, and one of the same type (for the shared type: on the same WQ).
    const witnesses = [new Guest(rig, createVdev(rig, DWQ).uuid), new Guest(rig, createVdev(rig, SWQ).uuid)].map((w) => w.up({ pasid: 7, pasidEn: true }));
    if (type === SWQ) expect(witnesses[1]?.vdev.wq).toBe(target.vdev.wq);
    const handles = witnesses.map((w) => w.handle(1));
    witnesses.forEach((w, k) => w.submit(noop(0x3000, { pasid: 7, handle: handles[k] })));
    rig.dev.runUntilIdle();
    const before = witnesses.map(observe);
    expect(roViolations(target)).toEqual([]);

    const r = new Prng(seed);
    let einval = 0;
    const violations = new Set<string>();
    for (let n = 0; n < ACCESSES; n++) {
      try {
        access(r, target, rig);
      } catch (e) {
        if (!(e instanceof VfioError) || e.code !== 'EINVAL') throw e;
        einval++;
      }
      if (n % 10_000 === 9_999) for (const v of roViolations(target)) violations.add(v);
    }
    rig.dev.runUntilIdle();
    for (const v of roViolations(target)) violations.add(v);
    expect([...violations]).toEqual([]);
    expect(einval).toBeGreaterThan(1000);
    expect(einval).toBeLessThan(ACCESSES / 2);
    expect(witnesses.map(observe)).toEqual(before);

    // The witnesses still work, and the target recovers with a VFIO reset.
    witnesses.forEach((w, k) => w.submit(memmove(0x3000, 0x5000, 32, { cr: 0x6000, pasid: 7, handle: handles[k] })));
    rig.dev.runUntilIdle();
    for (const w of witnesses) expect([w.status(0x6000), w.fds[1]?.count]).toEqual([Status.SUCCESS, 2]);
    target.dev.reset();
    target.up({ pasid: 7, pasidEn: true });
    target.submit(noop(0x7000, { pasid: 7 }));
    rig.dev.runUntilIdle();
    expect(target.status(0x7000)).toBe(Status.SUCCESS);
    expect(target.cmd(Command.DRAIN_ALL)).toBe(0);
  });
});
