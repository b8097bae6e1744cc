import { describe, expect, it } from 'vitest';
import { Desc, DescriptorEngine, ExecContext, Flag, Opcode, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { GuestMemory, Iommu, Perm } from '../../src/memory/index.js';
import { RecordingErrors } from './harness.js';

/** PASID A maps [0, 64 KiB) onto memory [0, 64 KiB); PASID B maps IOVA 0x100000.. onto memory [64 KiB, 128 KiB). */
function setup() {
  const mem = new GuestMemory(0x20000);
  const iommu = new Iommu();
  iommu.create(1).map(0, 0x10000, mem, 0, Perm.RW);
  iommu.create(2).map(0x100000, 0x10000, mem, 0x10000, Perm.RW);
  const secret = mem.bytes.subarray(0x10000);
  secret.fill(0x5e);
  const ctx = new ExecContext();
  ctx.pasid = 1;
  ctx.space = iommu.space(1);
  const errors = new RecordingErrors();
  ctx.errors = errors;
  const desc = new Uint8Array(64);
  const v = new DataView(desc.buffer);
  return { mem, ctx, desc, v, errors, secret, engine: new DescriptorEngine() };
}

describe('PASID isolation', () => {
  it('a descriptor of PASID A cannot read or write memory mapped only for PASID B', () => {
    const { mem, ctx, desc, v, engine, secret } = setup();
    // Read B's IOVA as a source: not mapped in A.
    writeDescHeader(v, 0, Opcode.MEMMOVE, Flag.CRAV | Flag.RCR);
    writeDescAddr(v, 0, Desc.CR_ADDR, 0x1000);
    writeDescAddr(v, 0, Desc.SRC, 0x100000);
    writeDescAddr(v, 0, Desc.DST, 0x2000);
    v.setUint32(32, 64, true);
    expect(engine.execute(desc, 0, ctx)).toBe(0x03);
    expect(mem.bytes.subarray(0x2000, 0x2040).every((b) => b === 0)).toBe(true);
    // Write to B's IOVA: not mapped in A.
    writeDescAddr(v, 0, Desc.SRC, 0x2000);
    writeDescAddr(v, 0, Desc.DST, 0x100000);
    expect(engine.execute(desc, 0, ctx)).toBe(0x83);
    expect(secret.every((b) => b === 0x5e)).toBe(true);
  });

  it('the completion record address is translated in the descriptor PASID', () => {
    const { ctx, desc, v, engine, secret, errors } = setup();
    writeDescHeader(v, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR);
    writeDescAddr(v, 0, Desc.CR_ADDR, 0x100000);
    expect(engine.execute(desc, 0, ctx)).toBe(0x1a);
    expect(errors.reports[0]!.code).toBe(0x1a);
    expect(secret.every((b) => b === 0x5e)).toBe(true);
  });

  it('a batch list and its elements are read and executed in the batch PASID', () => {
    const { mem, ctx, desc, v, engine, secret } = setup();
    // A list placed in B's memory at B's IOVA: unreadable for A.
    writeDescHeader(v, 0, Opcode.BATCH, Flag.CRAV | Flag.RCR);
    writeDescAddr(v, 0, Desc.CR_ADDR, 0x1000);
    writeDescAddr(v, 0, Desc.SRC, 0x100000);
    v.setUint32(32, 2, true);
    expect(engine.execute(desc, 0, ctx)).toBe(0x06);
    // A list in A's memory whose element targets B's IOVA (even claiming PASID 2 in bytes 0–3).
    const ev = new DataView(mem.buffer, 0x3000, 128);
    writeDescHeader(ev, 0, Opcode.FILL, Flag.CRAV | Flag.RCR, 2, true);
    writeDescAddr(ev, 0, Desc.CR_ADDR, 0x1020);
    writeDescAddr(ev, 0, Desc.DST, 0x100000);
    ev.setUint32(32, 64, true);
    writeDescHeader(ev, 64, Opcode.NOOP, Flag.CRAV | Flag.RCR, 2, true);
    writeDescAddr(ev, 64, Desc.CR_ADDR, 0x100040);
    writeDescAddr(v, 0, Desc.SRC, 0x3000);
    expect(engine.execute(desc, 0, ctx)).toBe(0x05);
    expect(mem.bytes[0x1020]).toBe(0x83);
    expect(secret.every((b) => b === 0x5e)).toBe(true);
  });

  it('a PASID with no address space faults on every access', () => {
    const { ctx, desc, v, engine, errors } = setup();
    ctx.space = null;
    writeDescHeader(v, 0, Opcode.MEMMOVE, 0);
    writeDescAddr(v, 0, Desc.SRC, 0x0);
    writeDescAddr(v, 0, Desc.DST, 0x2000);
    v.setUint32(32, 64, true);
    expect(engine.execute(desc, 0, ctx)).toBe(0x03);
    writeDescHeader(v, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR);
    writeDescAddr(v, 0, Desc.CR_ADDR, 0x1000);
    expect(engine.execute(desc, 0, ctx)).toBe(0x1a);
    expect(errors.reports.map((e) => e.code)).toEqual([0x03, 0x1a]);
  });
});
