/** The host driver routes the device's interrupts: software errors to the owner of the WQ or PASID, completions to handlers, halts to listeners. */
import { describe, expect, it } from 'vitest';
import { Command, Desc, Flag, Opcode, SoftwareErrorCode, Status, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { HostError, type SoftwareErrorRecord, type WqOwner } from '../../src/host/index.js';
import { hostRig, TWO_GROUPS } from './host-fixtures.js';

function noop(cr: number, handle?: number): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  writeDescHeader(v, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR | (handle === undefined ? 0 : Flag.RCI));
  writeDescAddr(v, 0, Desc.CR_ADDR, cr);
  if (handle !== undefined) v.setUint16(Desc.INT_HANDLE, handle, true);
  return b;
}

/** A descriptor with an unsupported opcode and no completion record: its error goes to SWERR. */
function bad(): Uint8Array {
  const b = new Uint8Array(64);
  writeDescHeader(new DataView(b.buffer), 0, 0x7f, 0);
  return b;
}

function up(profile = {}) {
  const r = hostRig(profile);
  r.host.probe();
  r.host.load(TWO_GROUPS);
  return r;
}

class Owner implements WqOwner {
  readonly errors: SoftwareErrorRecord[] = [];
  onError(e: SoftwareErrorRecord): void {
    this.errors.push(e);
  }
}

describe('software-error routing', () => {
  it('a dedicated WQ\'s drop (SWERR 0x53) reaches the WQ\'s owner and SWERR is acknowledged', () => {
    const { dev, host } = up();
    const wq = host.wq(2);
    const owner = new Owner();
    wq.claim(owner);
    const p = wq.portal();
    for (let i = 0; i < 16; i++) p.submit(noop(0x8000));
    p.submit(noop(0x8000));
    expect(owner.errors.map((e) => [e.code, e.wqIndex, e.pasid, e.opcode, e.descValid])).toEqual([[SoftwareErrorCode.DWQ_FULL, 2, 2, Opcode.NOOP, true]]);
    expect(dev.bar0.read32(0xc0) & 3).toBe(0);
    expect(dev.bar0.read32(0x98)).toBe(0);
  });

  it('a shared WQ\'s error reaches the owner of the descriptor\'s PASID, not another PASID\'s owner', () => {
    const { dev, host } = up();
    const wq = host.wq(3);
    const a = new Owner();
    const b = new Owner();
    wq.attachPasid(1, a);
    wq.attachPasid(3, b);
    wq.portal().enqcmd(bad(), 0, 3);
    dev.runUntilIdle();
    expect([a.errors.length, b.errors.map((e) => [e.code, e.pasid])]).toEqual([0, [[Status.BAD_OPCODE, 3]]]);
  });

  it('errors nobody owns go to the device\'s error listeners', () => {
    const { dev, host } = up();
    const seen: number[] = [];
    host.onError((e) => seen.push(e.code));
    host.wq(0).portal().submit(bad());
    dev.runUntilIdle();
    expect(seen).toEqual([Status.BAD_OPCODE]);
  });

  it('a halt reaches the halt listeners (once bus mastering is back and the vector can be sent)', () => {
    const { dev, host } = up();
    let halts = 0;
    const seen: number[] = [];
    host.onHalt(() => halts++);
    host.onError((e) => seen.push(e.code));
    dev.pci.config.write(4, 2, 2);
    expect(halts).toBe(0);
    dev.pci.config.write(4, 2, 6);
    expect([halts, seen]).toEqual([1, [SoftwareErrorCode.PCI_CFG]]);
  });
});

describe('completion interrupts', () => {
  it('a completion vector without a handler stays pending; with one, it is delivered when the vector is unmasked', () => {
    const { dev, host } = up();
    const wq = host.wq(0);
    wq.portal().submit(noop(0x8000, wq.interruptHandle));
    dev.runUntilIdle();
    expect(dev.msix.isPending(1)).toBe(true);
    let n = 0;
    wq.onCompletion(() => n++);
    const ctl = host.info.msix.tableOffset + 16 * wq.vector + 12;
    dev.bar0.write32(ctl, 1);
    dev.bar0.write32(ctl, 0);
    expect([n, dev.msix.isPending(1)]).toEqual([1, false]);
    expect(() => host.setVectorHandler(0, null)).toThrow(/EINVAL/);
  });

  it('IMS handles: allocated entries carry the PASID, route to their handler, and are freed', () => {
    const { dev, mem, host } = up();
    const got: string[] = [];
    const h1 = host.allocInterruptHandle(() => got.push('one'), 1);
    const h3 = host.allocInterruptHandle(() => got.push('three'), 3);
    expect([h1.entry, h3.entry, h1.handle]).toEqual([0, 1, 0]);
    const ims = host.wq(3).portal({ ims: true });
    ims.enqueue(noop(0x8000, h1.handle), 0, 1, true);
    ims.enqueue(noop(0x8020, h3.handle), 0, 3, true);
    ims.enqueue(noop(0x8040, h3.handle), 0, 1, true);
    dev.runUntilIdle();
    expect(got).toEqual(['one', 'three']);
    expect([mem.bytes[0x8000], mem.bytes[0x8020], mem.bytes[0x8040]]).toEqual([Status.SUCCESS, Status.SUCCESS, Status.INT_HANDLE_INVAL]);
    host.freeInterruptHandle(h1);
    expect(() => host.freeInterruptHandle(h1)).toThrow(HostError);
    expect(host.allocInterruptHandle(() => {}, null).entry).toBe(0);
  });

  it('a recycled IMS entry never delivers its previous owner\'s pending interrupt to the next owner', () => {
    const { dev, host } = up();
    const got: string[] = [];
    const a = host.allocInterruptHandle(() => got.push('a'), 1);
    // Masked while A's interrupt arrives: it stays pending in the entry.
    const ctl = dev.layout.ims + a.entry * 16 + 12;
    dev.bar0.write32(ctl, dev.bar0.read32(ctl) | 1);
    dev.irq.raise(a.handle, true);
    host.freeInterruptHandle(a);
    const b = host.allocInterruptHandle(() => got.push('b'), 2);
    expect(b.entry).toBe(a.entry);
    expect(got).toEqual([]);
    dev.irq.raise(b.handle, true);
    expect(got).toEqual(['b']);
  });

  it('a handle freed while a command is active reaches nobody, even once its entry is allocated again: only the new owner\'s own handle reaches it', () => {
    const { dev, host } = up({ commandCapabilities: true });
    const a = host.allocInterruptHandle(() => {}, 1);
    // A drain waits for a queued descriptor: the command stays active, as when its callback frees the handle.
    host.wq(0).portal().submit(noop(0x8000));
    dev.bar0.write32(0xa0, (Command.DRAIN_ALL << 20) >>> 0);
    expect(host.commandActive).toBe(true);
    host.freeInterruptHandle(a);
    dev.runUntilIdle();
    expect(host.commandActive).toBe(false);
    const got: number[] = [];
    let raised = -1;
    const b = host.allocInterruptHandle(() => got.push(raised), 1);
    expect(b.entry).toBe(a.entry);
    for (raised = 0; raised < 4; raised++) if (dev.irq.validate(raised, true, true, 1)) dev.irq.raise(raised, true);
    expect(got).toEqual([b.handle]);
  });

  it('with GENCAP.cmd_cap, handles come from REQUEST_INT_HANDLE for WQ vectors and IMS entries alike', () => {
    const { dev, host } = up({ commandCapabilities: true });
    const got: string[] = [];
    const wq = host.wq(0);
    wq.onCompletion(() => got.push('msix'));
    const h = host.allocInterruptHandle(() => got.push('ims'), null);
    expect([wq.interruptHandle, h.handle]).toEqual([0, 0]);
    wq.portal().submit(noop(0x8000, wq.interruptHandle));
    wq.portal({ ims: true }).submit(noop(0x8020, h.handle));
    dev.runUntilIdle();
    expect(got).toEqual(['msix', 'ims']);
    host.freeInterruptHandle(h);
    wq.disable();
    expect(wq.interruptHandle).toBe(wq.vector);
  });
});
