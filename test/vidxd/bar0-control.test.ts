/** BAR0 control and status registers of the vdev (vidxd-device.md §4, §5.1 step 1, §11.8) and the BAR0 access rules. */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/dsa/index.js';
import { VfioError } from '../../src/vfio/index.js';
import { VDEV_INTCAUSE } from '../../src/vidxd/index.js';
import { noop } from '../dsa/device-fixtures.js';
import { DWQ, type Guest, openGuest, PARENT_CONFIG, parentRig, SWQ } from './fixtures.js';

function einval(body: () => unknown): void {
  let err: unknown = null;
  try {
    body();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(VfioError);
  expect((err as VfioError).code).toBe('EINVAL');
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('control registers of a %s vdev', (_m, type) => {
  const guest = (): Guest => openGuest(parentRig(), type);

  it('GENCFG: rdbuf_limit writable while Disabled, ignored while Enabled; user_int_en reads the parent\'s bit and ignores writes', () => {
    const g = guest();
    expect(g.r32(0x80)).toBe(0x1000);
    g.w32(0x80, 0xffffffff);
    expect(g.r32(0x80)).toBe(0x10ff);
    g.w32(0x80, 0);
    expect(g.r32(0x80)).toBe(0x1000);
    g.up();
    g.w32(0x80, 0x10);
    expect(g.r32(0x80)).toBe(0x1000);
    expect(g.cmd(Command.DISABLE_DEVICE)).toBe(0);
    g.w32(0x80, 0x10);
    expect(g.r32(0x80)).toBe(0x1010);
  });

  it('GENCFG: a parent without user interrupts shows user_int_en 0, and a write of 1 does not stick', () => {
    const g = openGuest(parentRig({ config: { ...PARENT_CONFIG, userInterrupts: false } }), type);
    expect(g.r32(0x80)).toBe(0);
    g.w32(0x80, 0x1000);
    expect(g.r32(0x80)).toBe(0);
  });

  it('GENCFG: ENABLE_DEVICE refuses a non-zero rdbuf_limit with 0x11 (the vdev\'s GRPCAP has no read-buffer limit), as the model does', () => {
    const g = guest();
    expect(g.r32(0x30) & (1 << 17)).toBe(0);
    g.w32(0x80, 0x08);
    expect(() => g.up()).toThrow(/ENABLE_DEVICE: CMDSTS 0x11/);
    expect(g.r32(0x90) & 3).toBe(0);
    g.w32(0x80, 0);
    g.up();
    expect(g.r32(0x90) & 3).toBe(1);
  });

  it('GENCTRL: bits 0 and 1 read-write, the rest reserved', () => {
    const g = guest();
    g.w32(0x88, 0xffffffff);
    expect(g.r32(0x88)).toBe(3);
    g.write(0, 0x88, 0x2, 1);
    expect(g.r32(0x88)).toBe(2);
  });

  it('GENSTS: read-only state and reset type', () => {
    const g = guest();
    g.w32(0x90, 0xffffffff);
    expect(g.r32(0x90)).toBe(0);
    g.up();
    g.w32(0x90, 0);
    expect(g.r32(0x90)).toBe(1);
  });

  it('INTCAUSE: every cause is write-1-to-clear, bit 31 included (§11.8)', () => {
    const g = guest();
    g.pciOn();
    g.w32(0x88, 3);
    g.cmd(Command.DRAIN_ALL, 0, true); // completes at once: cause 1
    g.w32(0xa0, Command.DRAIN_ALL << 20); // another command: fine, no cause
    g.setCfg(0x04, 0, 2); // not enabled: no halt
    expect(g.r32(0x98)).toBe(0x2);
    const r = g.vdev.regs;
    for (const f of [VDEV_INTCAUSE.fields.softwareError, VDEV_INTCAUSE.fields.halt, VDEV_INTCAUSE.fields.handlesRevoked]) r.set(VDEV_INTCAUSE, f, 0, 1);
    expect(g.r32(0x98)).toBe(0x80000013);
    g.w32(0x98, 0x80000000);
    expect(g.r32(0x98)).toBe(0x13);
    g.write(0, 0x98, 0x12, 1);
    expect(g.r32(0x98)).toBe(0x1);
    g.w32(0x98, 0);
    expect(g.r32(0x98)).toBe(0x1);
    g.w32(0x98, 0xffffffff);
    expect(g.r32(0x98)).toBe(0);
  });

  it('CMD: only a 4-byte write at 0xA0 starts a command; anything else is EINVAL and changes nothing (§5.1 step 1)', () => {
    const g = guest();
    g.pciOn();
    const cmd = (Command.ENABLE_DEVICE << 20) >>> 0;
    for (const [off, size] of [[0xa0, 1], [0xa1, 1], [0xa2, 1], [0xa3, 1], [0xa0, 2], [0xa2, 2]] as const) {
      einval(() => g.write(0, off, cmd >>> (8 * (off - 0xa0)), size));
    }
    einval(() => g.dev.writeRegion(0, 0xa0, Uint8Array.of(0, 0, 0x10, 0, 0, 0, 0, 0)));
    expect([g.r32(0x90), g.r32(0xa0), g.r32(0xa8)]).toEqual([0, 0, 0]);
    g.w32(0xa0, cmd);
    expect([g.r32(0x90), g.r32(0xa0), g.r32(0xa8)]).toEqual([1, cmd, 0]);
    g.w32(0xa4, 0xffffffff); // the reserved dword after CMD takes any write and keeps nothing
    expect(g.r32(0xa4)).toBe(0);
  });

  it('CMDSTS and CMDCAP are read-only; CMDCAP lists exactly commands 1–14', () => {
    const g = guest();
    g.cmd(0x1f);
    expect(g.r32(0xa8)).toBe(0x01);
    g.w32(0xa8, 0xffffffff);
    g.w32(0xb0, 0);
    expect([g.r32(0xa8), g.r32(0xb0)]).toEqual([0x01, 0x7ffe]);
  });

  it('SWERR: valid and overflow are write-1-to-clear, the other fields read-only', () => {
    const g = guest().up();
    g.submit(noop(0x3000, { pasid: 7 }));
    expect(g.cmd(Command.DRAIN_ALL)).toBe(0x80000000); // waits: the descriptor has not run
    g.w32(0xa0, (Command.DRAIN_ALL << 20) >>> 0); // while active: SWERR 0x52
    expect(g.swerr()).toEqual([0x5201, 0, 0, 0, 0, 0, 0, 0]);
    g.w32(0xa0, (Command.DRAIN_ALL << 20) >>> 0); // again: overflow
    expect(g.r32(0xc0)).toBe(0x5203);
    for (let k = 0; k < 8; k++) g.w32(0xc0 + 4 * k, k === 0 ? 0xfffffffc : 0xffffffff);
    expect(g.r32(0xc0)).toBe(0x5203);
    g.write(0, 0xc0, 0x2, 1);
    expect(g.r32(0xc0)).toBe(0x5201);
    g.w32(0xc0, 1);
    expect(g.swerr()).toEqual([0x5200, 0, 0, 0, 0, 0, 0, 0]); // the record stays readable until the next error
  });

  it('reserved offsets read 0 and ignore writes of every size', () => {
    const g = guest();
    const reserved = [0x04, 0x08, 0x0c, 0x18, 0x70, 0x84, 0x8c, 0x94, 0x9c, 0xa4, 0xac, 0xb4, 0xe0, 0x100, 0x2fc, 0x310, 0x440, 0x520, 0x620, 0x708, 0x800, 0x1ffc];
    for (const off of reserved) {
      g.w32(off, 0xffffffff);
      g.write(0, off, 0xff, 1);
      g.write(0, off + 2, 0xffff, 2);
    }
    expect(reserved.map((o) => g.r32(o))).toEqual(reserved.map(() => 0));
  });

  it('refuses accesses of another size, misaligned or outside the 8 KiB region with EINVAL at the VFIO layer', () => {
    const g = guest();
    einval(() => g.dev.readRegion(0, 0x90, new Uint8Array(3)));
    einval(() => g.dev.writeRegion(0, 0x88, new Uint8Array(16)));
    einval(() => g.dev.readRegion(0, 0x92, new Uint8Array(4)));
    einval(() => g.dev.writeRegion(0, 0x8c, new Uint8Array(8)));
    einval(() => g.dev.readRegion(0, 0x2000, new Uint8Array(4)));
    einval(() => g.dev.readRegion(1, 0, new Uint8Array(4)));
    expect(g.dev.getRegionInfo(0)).toMatchObject({ size: 0x2000, flags: 0x3 });
    expect(g.dev.getRegionInfo(1)).toMatchObject({ size: 0, flags: 0 });
  });
});
