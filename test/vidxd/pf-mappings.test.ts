/**
 * The PF as vfio-pci presents it: a mapping of BAR0 (around the MSI-X table and PBA) is a direct handle
 * on the model's register file; one mapping of BAR2 reaches every WQ's portal by page; and whoever owns
 * MSI-X delivery — a host driver, then a pass-through handle, then a host driver again — finds it as
 * the device's wiring left it.
 */
import { describe, expect, it } from 'vitest';
import { Command, DsaDevice, MappedRegisters, PORTAL_STRIDE, PortalWindow, Status, SubmitStatus } from '../../src/dsa/index.js';
import { IdxdHost, type SoftwareErrorRecord } from '../../src/host/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { regionOffset, VfioDevice, VfioIoas } from '../../src/vfio/index.js';
import { type PfMapping, pfVfioOps } from '../../src/vidxd/index.js';
import { memmove } from '../dsa/device-fixtures.js';
import { errnoOf } from '../util/errno.js';

const BAR0 = regionOffset(0);
const BAR2 = regionOffset(2);

function open(): { model: DsaDevice; dev: VfioDevice<PfMapping> } {
  const model = new DsaDevice();
  return { model, dev: new VfioDevice<PfMapping>(pfVfioOps(model)) };
}

describe('a mapping of the PF\'s BAR0', () => {
  it('is a direct handle on the same register file, at offsets relative to the mapping', () => {
    const { model, dev } = open();
    const low = dev.mmap(BAR0, 0x9000);
    expect(low).toBeInstanceOf(MappedRegisters);
    const regs = low as MappedRegisters;
    expect(regs.read32(0)).toBe(0x100); // VERSION
    regs.write32(0x88, 3); // GENCTRL through the mapping …
    const buf = new Uint8Array(4);
    dev.readRegion(0, 0x88, buf);
    expect(new DataView(buf.buffer).getUint32(0, true)).toBe(3); // … is GENCTRL through the region
    expect(model.bar0.read32(0x88)).toBe(3);
    const q = new Uint8Array(8);
    regs.readInto(0x10, q); // GENCAP as one readq
    expect([new DataView(q.buffer).getUint32(0, true), new DataView(q.buffer).getUint32(4, true)]).toEqual([model.bar0.read32(0x10), model.bar0.read32(0x14)]);
    const high = dev.mmap(BAR0 + 0xb000, 0x5000) as MappedRegisters;
    expect([high.offset, high.size, high.read32(0x10000 - 0xb000)]).toEqual([0xb000, 0x5000, 0]); // past the mapping: nothing
  });

  it('cannot cover the pages of the MSI-X table (0x9000) or PBA (0xa000)', () => {
    const { dev } = open();
    for (const [at, len] of [[0x9000, 0x1000], [0xa000, 0x1000], [0x8000, 0x2000], [0, 0x10000]] as const) {
      expect(errnoOf(() => dev.mmap(BAR0 + at, len))).toBe('EINVAL');
    }
  });

  it('answers all ones once the user turns memory decode off, as the region does', () => {
    const { dev } = open();
    const regs = dev.mmap(BAR0, 0x1000) as MappedRegisters;
    dev.writeRegion(7, 0x04, Uint8Array.of(0, 0));
    expect(regs.read32(0)).toBe(0xffffffff);
  });
});

describe('a mapping of the PF\'s BAR2', () => {
  it('covers every portal page in one mapping and reaches the portal of each page', () => {
    const { model, dev } = open();
    const win = dev.mmap(BAR2, 0x20000);
    expect(win).toBeInstanceOf(PortalWindow);
    const w = win as PortalWindow;
    for (const q of [0, 3, 7]) {
      for (let page = 0; page < 4; page++) {
        const p = w.portalAt(q * PORTAL_STRIDE + page * 0x1000 + 0x40);
        expect([p?.wq, p?.limited, p?.ims]).toEqual([q, (page & 1) === 1, page >= 2]);
        expect(p).toBe(model.bar2.portalAt(q * PORTAL_STRIDE + page * 0x1000));
      }
    }
    const part = dev.mmap(BAR2 + 3 * PORTAL_STRIDE, 0x2000) as PortalWindow;
    expect([part.portalAt(0)?.wq, part.portalAt(0x1000)?.limited, part.portalAt(0x2000)]).toEqual([3, true, null]);
  });

  it('submits at any slot of a page to that page\'s WQ, and nothing off a slot boundary', () => {
    const { model, dev } = open();
    const mem = new GuestMemory(1 << 16);
    const ioas = new VfioIoas();
    ioas.map({ iova: 0, size: mem.size, memory: mem, offset: 0, flags: 3 });
    dev.attachIoas(ioas);
    // WQ 2, dedicated, 8 entries, engine 0 in group 0, through the register mapping.
    const regs = dev.mmap(BAR0, 0x9000) as MappedRegisters;
    dev.writeRegion(7, 0x04, Uint8Array.of(0x06, 0));
    regs.write32(0x400, 1 << 2);
    regs.write32(0x420, 1);
    regs.write32(0x800 + 2 * 32, 8);
    regs.write32(0x800 + 2 * 32 + 8, 0x11); // dedicated, priority 1
    regs.write32(0x800 + 2 * 32 + 12, 31 | (10 << 5));
    regs.write32(0xa0, Command.ENABLE_DEVICE << 20);
    regs.write32(0xa0, (Command.ENABLE_WQ << 20) | 2);
    expect([regs.read32(0xa8) & 0xff, model.wqs[2]?.enabled]).toEqual([0, true]);
    const w = dev.mmap(BAR2, 0x20000) as PortalWindow;
    mem.bytes.fill(0x5a, 0x1000, 0x1100);
    expect(w.movdir64b(2 * PORTAL_STRIDE + 0x7c0, memmove(0x1000, 0x2000, 0x100, { cr: 0x3000 }))).toBe(SubmitStatus.ACCEPTED);
    expect(w.submitAt(2 * PORTAL_STRIDE + 0x20, memmove(0x1000, 0x4000, 0x100, { cr: 0x3020 }))).toBe(SubmitStatus.IGNORED);
    expect(w.movdir64b(0, memmove(0x1000, 0x4000, 0x100, { cr: 0x3020 }))).toBe(SubmitStatus.IGNORED); // WQ 0 is not enabled
    expect(model.runUntilIdle()).toBe(1);
    expect([mem.bytes[0x3000], mem.bytes[0x20ff], mem.bytes[0x3020]]).toEqual([Status.SUCCESS, 0x5a, 0]);
  });
});

describe('one owner of MSI-X delivery at a time', () => {
  it('a host driver probing the device after a pass-through handle was opened and closed gets vector 0', () => {
    const model = new DsaDevice();
    new IdxdHost(model, { wait: () => model.runUntilIdle() }).probe();
    const pf = new VfioDevice<PfMapping>(pfVfioOps(model));
    expect(model.msix.sinkAttached).toBe(true);
    pf.close();
    expect(model.msix.sinkAttached).toBe(false);
    const host = new IdxdHost(model, { wait: () => model.runUntilIdle() });
    host.probe(); // MSI-X delivery goes to this driver now (its polled commands raise nothing on vector 0)
    expect([model.msix.isPending(0), model.bar0.read32(0x98)]).toEqual([false, 0]); // delivered; the handler cleared INTCAUSE
    host.load({ groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 4 }] });
    const errors: SoftwareErrorRecord[] = [];
    host.onError((e) => errors.push(e));
    const bad = new Uint8Array(64);
    bad[7] = 0x7f; // an unsupported opcode, no completion record: a software error on vector 0
    model.portal(0).movdir64b(bad);
    model.runUntilIdle();
    expect(errors.map((e) => [e.code, e.wqIndex])).toEqual([[Status.BAD_OPCODE, 0]]);
    expect(model.msix.isPending(0)).toBe(false);
  });
});
