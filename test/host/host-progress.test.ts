/** Execution progress per WQ, and PASIDs reserved without an address space and re-pointed later (what a mediating owner needs). */
import { describe, expect, it } from 'vitest';
import { Desc, Flag, Opcode, Status, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { HostError } from '../../src/host/index.js';
import { GuestMemory, IoAddressSpace, Perm } from '../../src/memory/index.js';
import { hostRig, TWO_GROUPS } from './host-fixtures.js';

function noop(cr: number): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  writeDescHeader(v, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR);
  writeDescAddr(v, 0, Desc.CR_ADDR, cr);
  return b;
}

function up() {
  const r = hostRig();
  r.host.probe();
  r.host.load(TWO_GROUPS);
  return r;
}

describe('HostWq.onProgress', () => {
  it('runs after each descriptor of that WQ has executed, not for other WQs, until removed', () => {
    const { dev, mem, host } = up();
    const seen: string[] = [];
    const off = host.wq(0).onProgress(() => seen.push(`wq0 status ${mem.bytes[0x8000]}`));
    host.wq(1).onProgress(() => seen.push('wq1'));
    host.wq(0).portal().submit(noop(0x8000));
    host.wq(0).portal().submit(noop(0x8000));
    host.wq(3).portal().enqcmd(noop(0x9000), 0, 1);
    expect(seen).toEqual([]);
    dev.runUntilIdle();
    expect(seen).toEqual([`wq0 status ${Status.SUCCESS}`, `wq0 status ${Status.SUCCESS}`]);
    off();
    host.wq(0).portal().submit(noop(0x8000));
    dev.runUntilIdle();
    expect(seen.length).toBe(2);
  });

  it('throws ENODEV when the device reports no progress', () => {
    const { dev, host } = up();
    Reflect.set(dev, 'onProgress', undefined);
    expect(() => host.wq(0).onProgress(() => {})).toThrow(HostError);
  });
});

describe('PASIDs without an address space', () => {
  it('allocatePasid(null) reserves a PASID whose DMA faults; setPasidSpace points it at a space, or back at none', () => {
    const { dev, host } = up();
    const p = host.allocatePasid(null);
    expect(p).toBe(4); // 1–3 already have spaces in the rig
    expect(dev.iommu.space(p)).toBeNull();
    expect(host.allocatePasid(null)).toBe(5);
    const mem = new GuestMemory(0x10000);
    const space = new IoAddressSpace();
    space.map(0, 0x10000, mem, 0, Perm.RW);
    host.setPasidSpace(p, space);
    expect(dev.iommu.space(p)).toBe(space);
    const wq = host.wq(3);
    wq.portal().enqcmd(noop(0x100), 0, p);
    dev.runUntilIdle();
    expect(mem.bytes[0x100]).toBe(Status.SUCCESS);
    host.setPasidSpace(p, null);
    expect(dev.iommu.space(p)).toBeNull();
    expect(() => host.setPasidSpace(77, space)).toThrow(HostError);
    host.freePasid(p);
    expect(host.allocatePasid(null)).toBe(4);
  });
});
