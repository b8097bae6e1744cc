/**
 * Bring-up like the Linux driver: probe, configure 2 groups / 4 WQs (dedicated and shared),
 * enable, then submit MEMMOVE and BATCH through portals and get completion records and MSI-X
 * interrupts routed to the WQs' handlers — in manual and in automatic mode.
 */
import { describe, expect, it } from 'vitest';
import {
  CMD, Cr, Desc, DeviceState, type ExecutionMode, fieldOf, Flag, INTCAUSE, Opcode, Status, SubmitStatus, writeDescAddr, writeDescHeader,
} from '../../src/dsa/index.js';
import { hostRig, TWO_GROUPS } from './host-fixtures.js';

function descriptor(opcode: number, o: { src?: number; dst?: number; size?: number; cr: number; handle?: number; pasid?: number; priv?: boolean }): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  writeDescHeader(v, 0, opcode, Flag.CRAV | Flag.RCR | (o.handle === undefined ? 0 : Flag.RCI), o.pasid ?? 0, o.priv ?? false);
  writeDescAddr(v, 0, Desc.CR_ADDR, o.cr);
  if (o.src !== undefined) writeDescAddr(v, 0, Desc.SRC, o.src);
  if (o.dst !== undefined) writeDescAddr(v, 0, Desc.DST, o.dst);
  v.setUint32(Desc.XFER_SIZE, o.size ?? 0, true);
  if (o.handle !== undefined) v.setUint16(Desc.INT_HANDLE, o.handle, true);
  return b;
}

function bringUp(mode: ExecutionMode) {
  const rig = hostRig({}, { mode });
  rig.host.probe();
  rig.host.load(TWO_GROUPS);
  return rig;
}

describe('bring-up like the Linux driver', () => {
  it('configures two groups and four WQs and enables them all', () => {
    const { dev, host } = bringUp('deterministic');
    expect(dev.state).toBe(DeviceState.ENABLED);
    expect(host.wqs.filter((w) => w.enabled).map((w) => w.id)).toEqual([0, 1, 2, 3]);
    expect(host.wqs.map((w) => (w.configured ? [w.mode, w.size, w.threshold, w.engines] : null)).slice(0, 5)).toEqual([
      ['dedicated', 16, 0, 2], ['shared', 32, 24, 2], ['dedicated', 16, 0, 1], ['shared', 32, 32, 1], null,
    ]);
    expect(host.mediatedWqs().map((w) => w.name)).toEqual(['wq2', 'swq-mdev']);
    expect(dev.bar0.read32(host.wqcfgOffset(2) + 8) >>> 8 & 0xfffff).toBe(2);
  });

  for (const mode of ['deterministic', 'automatic'] as const) {
    it(`runs a MEMMOVE on the dedicated WQ and a BATCH on the shared WQ with records and MSI-X interrupts (${mode})`, () => {
      const { dev, mem, host } = bringUp(mode);
      const seen: string[] = [];
      const dwq = host.wq(0);
      const swq = host.wq(1);
      dwq.onCompletion(() => seen.push(`wq0:${mem.bytes[0x8000]}`));
      swq.onCompletion(() => seen.push(`wq1:${mem.bytes[0x8100]}`));
      swq.setVectorPasid(1);
      for (let i = 0; i < 4096; i++) mem.bytes[0x10000 + i] = (i * 7) & 0xff;

      const move = descriptor(Opcode.MEMMOVE, { src: 0x10000, dst: 0x20000, size: 4096, cr: 0x8000, handle: dwq.interruptHandle });
      expect(dwq.portal().submit(move)).toBe(SubmitStatus.ACCEPTED);

      const list = 0x30000;
      mem.bytes.set(descriptor(Opcode.MEMMOVE, { src: 0x10000, dst: 0x21000, size: 100, cr: 0x8020 }), list);
      mem.bytes.set(descriptor(Opcode.FILL, { src: 0x0002030405060708, dst: 0x22000, size: 64, cr: 0x8040 }), list + 64);
      mem.bytes.set(descriptor(Opcode.NOOP, { cr: 0x8060, handle: swq.interruptHandle }), list + 128);
      const batch = descriptor(Opcode.BATCH, { src: list, size: 3, cr: 0x8100, handle: swq.interruptHandle, pasid: 1, priv: true });
      expect(swq.portal({ limited: true }).enqcmds(batch)).toBe(SubmitStatus.ACCEPTED);

      if (mode === 'deterministic') {
        expect(seen).toEqual([]);
        expect(dwq.occupancy + swq.occupancy).toBe(2);
        expect(dev.runUntilIdle()).toBe(2);
      }
      expect([0x8000, 0x8020, 0x8040, 0x8060, 0x8100].map((a) => mem.bytes[a])).toEqual([1, 1, 1, 1, 1]);
      expect(mem.view.getUint32(0x8100 + Cr.BYTES_COMPLETED, true)).toBe(3);
      expect(Buffer.from(mem.bytes.subarray(0x20000, 0x21000)).equals(Buffer.from(mem.bytes.subarray(0x10000, 0x11000)))).toBe(true);
      expect(Array.from(mem.bytes.subarray(0x21000, 0x21004))).toEqual([0, 7, 14, 21]);
      expect(Array.from(mem.bytes.subarray(0x22000, 0x22008))).toEqual([8, 7, 6, 5, 4, 3, 2, 0]);
      expect(seen).toEqual(['wq0:1', 'wq1:0', 'wq1:1']);
      expect(dev.msix.isPending(1) || dev.msix.isPending(2)).toBe(false);
      expect(mem.bytes[0x8100] === Status.SUCCESS && dwq.occupancy === 0).toBe(true);
    });
  }

  it('disables WQs and the device, waiting for queued descriptors, then resets', () => {
    const { dev, mem, host } = bringUp('deterministic');
    host.wq(0).portal().submit(descriptor(Opcode.NOOP, { cr: 0x8000 }));
    host.disable();
    expect(mem.bytes[0x8000]).toBe(Status.SUCCESS);
    expect(dev.state).toBe(DeviceState.DISABLED);
    expect(host.wqs.some((w) => w.enabled)).toBe(false);
    host.resetDevice();
    expect(host.wq(0).configured).toBe(false);
    expect(dev.bar0.read32(0x88)).toBe(3);
  });
});

describe('commands the driver polls', () => {
  it('ask for no completion interrupt: every CMD write of probe, load, drain, abort and disable has int_req 0', () => {
    const rig = hostRig();
    const cmds: number[] = [];
    const write32 = rig.dev.bar0.write32.bind(rig.dev.bar0);
    rig.dev.bar0.write32 = (offset: number, value: number): void => {
      if (offset === CMD.offset) cmds.push(value);
      write32(offset, value);
    };
    rig.host.probe();
    rig.host.load(TWO_GROUPS);
    rig.host.wq(0).drain();
    rig.host.wq(1).abort(1);
    rig.host.disable();
    expect(cmds.length).toBeGreaterThan(10);
    expect(cmds.filter((v) => fieldOf(v, CMD.fields.intReq) !== 0)).toEqual([]);
    expect(fieldOf(rig.dev.bar0.read32(INTCAUSE.offset), INTCAUSE.fields.commandCompletion)).toBe(0);
  });
});
