import { describe, expect, it } from 'vitest';
import { Cr, Desc, engineCaps, Flag, Opcode, Status } from '../../src/dsa/index.js';
import { Perm } from '../../src/memory/index.js';
import { CR_IOVA, Harness } from './harness.js';

describe('completion record and routing (§3, §4.1) with NOOP', () => {
  it('writes a CR of status 0x01 and zeros when CRAV and RCR are set', () => {
    const h = new Harness();
    h.mem.bytes.fill(0xee, CR_IOVA, CR_IOVA + 32);
    expect(h.start(Opcode.NOOP).exec()).toBe(Status.SUCCESS);
    const cr = h.cr();
    expect(cr.status).toBe(1);
    expect([...cr.raw.subarray(1)].every((b) => b === 0)).toBe(true);
    expect(h.engine.crWritten).toBe(true);
    expect(h.errors.reports).toHaveLength(0);
  });

  it('writes no CR for a success when RCR = 0', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, Flag.CRAV).exec()).toBe(Status.SUCCESS);
    expect(h.cr().status).toBe(0);
    expect(h.engine.crWritten).toBe(false);
  });

  it('writes the CR for an error even when RCR = 0', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, Flag.CRAV).u8(20, 1).exec()).toBe(Status.NOZERO_RESERVE);
    expect(h.cr().status).toBe(Status.NOZERO_RESERVE);
    expect(h.errors.reports).toHaveLength(0);
  });

  it('routes an error without CRAV to SWERROR with every descriptor field', () => {
    const h = new Harness();
    h.ctx.wqIndex = 5;
    h.ctx.pasid = 0x12345;
    expect(h.start(0x0a, 0).exec()).toBe(Status.BAD_OPCODE);
    expect(h.errors.reports).toHaveLength(1);
    expect(h.errors.reports[0]).toMatchObject({
      code: 0x10,
      descValid: true,
      wqIndexValid: true,
      batchMember: false,
      rw: false,
      priv: true,
      opcode: 0x0a,
      pasid: 0x12345,
      wqIndex: 5,
      batchIndex: 0,
      errorInfo: 0,
    });
    expect(h.engine.errorReported).toBe(true);
  });

  it('reports nothing for a success without CRAV', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, 0).exec()).toBe(Status.SUCCESS);
    expect(h.errors.reports).toHaveLength(0);
  });

  it('raises the interrupt strictly after the CR write', () => {
    const h = new Harness();
    let statusAtRaise = -1;
    h.ctx.interrupts = {
      validate: () => true,
      raise: (handle) => {
        expect(handle).toBe(9);
        statusAtRaise = h.mem.bytes[CR_IOVA]!;
      },
    };
    h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).u16(Desc.INT_HANDLE, 9).exec();
    expect(statusAtRaise).toBe(1);
    expect(h.engine.interruptRaised).toBe(true);
  });

  it('raises the interrupt of a descriptor completed without a CR (CRAV = 0)', () => {
    const h = new Harness();
    h.start(Opcode.NOOP, Flag.RCI).u16(Desc.INT_HANDLE, 3).exec();
    expect(h.interrupts.raised).toEqual([3]);
  });

  it('passes portal type, PASID enable and PASID to the handle check', () => {
    const h = new Harness();
    const seen: unknown[] = [];
    h.ctx.ims = true;
    h.ctx.pasid = 77;
    h.interrupts.valid = (handle, ims, pe, pasid) => {
      seen.push([handle, ims, pe, pasid]);
      return true;
    };
    h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).u16(Desc.INT_HANDLE, 300).exec();
    expect(seen).toEqual([[300, true, true, 77]]);
  });

  it('answers an invalid handle with 0x19 in the CR and in SWERROR, without an interrupt', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).u16(Desc.INT_HANDLE, 100).exec()).toBe(0x19);
    expect(h.cr().status).toBe(0x19);
    expect(h.interrupts.raised).toEqual([]);
    expect(h.errors.reports).toHaveLength(1);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x19, errorInfo: 100 });
  });

  it('can skip the SWERROR copy of 0x19 (configurable)', () => {
    const h = new Harness({ caps: engineCaps({ logInvalidHandle: false }) });
    h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).u16(Desc.INT_HANDLE, 100).exec();
    expect(h.cr().status).toBe(0x19);
    expect(h.errors.reports).toHaveLength(0);
  });

  it('still raises the interrupt after a failed flag check when the handle is valid', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI | Flag.CHECK_RESULT).u16(Desc.INT_HANDLE, 4).exec()).toBe(0x11);
    expect(h.interrupts.validated).toEqual([4]);
    expect(h.interrupts.raised).toEqual([4]);
  });

  it('silently drops the interrupt after a failed check when the handle is invalid', () => {
    const h = new Harness();
    expect(h.start(0x0b, Flag.CRAV | Flag.RCR | Flag.RCI).u16(Desc.INT_HANDLE, 99).exec()).toBe(0x10);
    expect(h.cr().status).toBe(0x10);
    expect(h.interrupts.raised).toEqual([]);
  });

  it('reserves RCI for a user-mode PASID submission without user interrupts (0x11, no interrupt)', () => {
    const h = new Harness();
    h.ctx.priv = false;
    h.ctx.userInterruptsEnabled = false;
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.RCI);
    expect(h.interrupts.raised).toEqual([]);
    h.ctx.userInterruptsEnabled = true;
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).exec()).toBe(1);
    h.ctx.userInterruptsEnabled = false;
    h.ctx.pasidEnabled = false;
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).exec()).toBe(1);
  });
});

describe('descriptors discarded before execution (0x1B, 0x1A, 0x1D)', () => {
  it('0x1B: misaligned CR address goes to SWERROR only, no interrupt', () => {
    const h = new Harness();
    h.crIova = CR_IOVA + 16;
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).exec()).toBe(0x1b);
    expect(h.mem.bytes[CR_IOVA + 16]).toBe(0);
    expect(h.interrupts.raised).toEqual([]);
    expect(h.interrupts.validated).toEqual([]);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x1b, descValid: true, opcode: 0 });
  });

  it('0x1A: unmapped CR address goes to SWERROR with the CR address and R/W = write', () => {
    const h = new Harness();
    h.hole(CR_IOVA);
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).exec()).toBe(0x1a);
    expect(h.interrupts.raised).toEqual([]);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x1a, rw: true, addressLo: CR_IOVA, addressHi: 0 });
  });

  it('0x1A: a read-only CR page is not writable', () => {
    const h = new Harness();
    h.hole(CR_IOVA);
    h.remap(CR_IOVA, 4096, Perm.READ);
    expect(h.start(Opcode.NOOP).exec()).toBe(0x1a);
  });

  it('0x1A: a CR address at or above 2^53 is reported exactly', () => {
    const h = new Harness();
    h.start(Opcode.NOOP).u64(Desc.CR_ADDR, 0xffffffe0, 0xfedcba98);
    expect(h.exec()).toBe(0x1a);
    expect(h.errors.reports[0]).toMatchObject({ addressLo: 0xffffffe0, addressHi: 0xfedcba98 });
  });

  it('0x1A is checked even for a success that would write no CR (RCR = 0)', () => {
    const h = new Harness();
    h.hole(CR_IOVA);
    expect(h.start(Opcode.NOOP, Flag.CRAV).exec()).toBe(0x1a);
  });

  it('with PRS the CR page is requested first: resolved -> CR written, refused -> 0x1A', () => {
    const h = new Harness();
    h.hole(CR_IOVA);
    h.ctx.prsEnabled = true;
    const requests: [number, number, boolean][] = [];
    h.ctx.faults = (pasid, iova, write) => {
      requests.push([pasid, iova, write]);
      h.remap(iova & ~4095);
      return true;
    };
    expect(h.start(Opcode.NOOP).exec()).toBe(1);
    expect(requests).toEqual([[1, CR_IOVA, true]]);
    expect(h.cr().status).toBe(1);
    h.hole(CR_IOVA);
    h.ctx.faults = () => false;
    expect(h.start(Opcode.NOOP).exec()).toBe(0x1a);
  });

  it('0x1D: Priv = 1 on a shared WQ without privileged mode; allowed with it or on a dedicated WQ', () => {
    const h = new Harness();
    h.ctx.shared = true;
    h.ctx.priv = true;
    expect(h.start(Opcode.NOOP).exec()).toBe(0x1d);
    expect(h.cr().status).toBe(0);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x1d, priv: true });
    h.ctx.privModeEnabled = true;
    expect(h.start(Opcode.NOOP).exec()).toBe(1);
    h.ctx.privModeEnabled = false;
    h.ctx.shared = false;
    expect(h.start(Opcode.NOOP).exec()).toBe(1);
  });

  it('checks 0x1B before 0x1A before 0x1D', () => {
    const h = new Harness();
    h.ctx.shared = true;
    h.hole(CR_IOVA);
    h.crIova = CR_IOVA + 8;
    expect(h.start(Opcode.NOOP).exec()).toBe(0x1b);
    h.crIova = CR_IOVA;
    expect(h.start(Opcode.NOOP).exec()).toBe(0x1a);
    h.remap(CR_IOVA);
    expect(h.start(Opcode.NOOP).exec()).toBe(0x1d);
  });
});

describe('CR field layout', () => {
  it('writes the invalid-flags bitmask at bytes 16–18 for 0x11', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | (1 << 6) | (1 << 15) | (1 << 23)).exec()).toBe(0x11);
    const cr = h.cr();
    expect(cr.invalidFlags).toBe((1 << 6) | (1 << 15) | (1 << 23));
    expect(cr.raw[Cr.INVALID_FLAGS + 3]).toBe(0);
    expect(cr.result).toBe(0);
    expect(cr.bc).toBe(0);
    expect(cr.faultAddr).toBe(0);
  });
});
