/** WQ objects of the host driver: owners, PASID binding, drain, abort, reset and occupancy. */
import { describe, expect, it } from 'vitest';
import { Desc, Flag, Opcode, Status, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { HostError, type WqOwner } from '../../src/host/index.js';
import { IoAddressSpace } from '../../src/memory/index.js';
import { hostRig, TWO_GROUPS } from './host-fixtures.js';

function move(src: number, dst: number, size: number, cr: number): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  writeDescHeader(v, 0, Opcode.MEMMOVE, Flag.CRAV | Flag.RCR);
  writeDescAddr(v, 0, Desc.SRC, src);
  writeDescAddr(v, 0, Desc.DST, dst);
  writeDescAddr(v, 0, Desc.CR_ADDR, cr);
  v.setUint32(Desc.XFER_SIZE, size, true);
  return b;
}

function up() {
  const r = hostRig();
  r.host.probe();
  r.host.load(TWO_GROUPS);
  return r;
}

function code(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof HostError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('WQ objects', () => {
  it('a dedicated WQ has one owner at a time', () => {
    const { host } = up();
    const a: WqOwner = {};
    const b: WqOwner = {};
    const wq = host.wq(2);
    wq.claim(a);
    expect(code(() => wq.claim(b))).toBe('EBUSY');
    expect(code(() => wq.release(b))).toBe('EINVAL');
    wq.release(a);
    wq.claim(b);
    expect(wq.owner).toBe(b);
    expect(code(() => host.wq(99))).toBe('ENOENT');
  });

  it('a shared WQ routes each PASID to one owner', () => {
    const { host } = up();
    const wq = host.wq(3);
    wq.attachPasid(5, {});
    expect(code(() => wq.attachPasid(5, {}))).toBe('EBUSY');
    wq.attachPasid(6, {});
    expect(wq.attachedPasids()).toEqual([5, 6]);
    wq.detachPasid(5);
    expect(wq.attachedPasids()).toEqual([6]);
    expect(code(() => host.wq(2).attachPasid(1, {}))).toBe('EINVAL');
    expect(code(() => wq.bindPasid(1))).toBe('EINVAL');
  });

  it('bindPasid reprograms a dedicated WQ (disable, WQCFG, enable) so its descriptors use the new PASID', () => {
    const { dev, mem, host, spaces } = up();
    const wq = host.wq(2);
    spaces[2]?.unmap(0, 0x10000);
    wq.bindPasid(3, false);
    expect([wq.enabled, wq.pasid, wq.priv]).toEqual([true, 3, false]);
    mem.bytes.fill(9, 0x1000, 0x1010);
    wq.portal().submit(move(0x1000, 0x2000, 16, 0x8000));
    dev.runUntilIdle();
    expect([mem.bytes[0x8000], mem.bytes[0x200f]]).toEqual([Status.SUCCESS, 9]);
    wq.bindPasid(null);
    expect(dev.bar0.read32(host.wqcfgOffset(2) + 8) & (1 << 28)).toBe(0);
  });

  it('drain waits for queued work, abort drops it; per PASID on a shared WQ', () => {
    const { dev, mem, host } = up();
    const d = host.wq(0);
    d.portal().submit(move(0x1000, 0x2000, 8, 0x8000));
    expect(d.occupancy).toBe(1);
    d.drain();
    expect([d.occupancy, mem.bytes[0x8000]]).toEqual([0, Status.SUCCESS]);
    d.portal().submit(move(0x1000, 0x2000, 8, 0x8020));
    d.abort();
    expect([d.occupancy, mem.bytes[0x8020]]).toEqual([0, 0]);

    const s = host.wq(1);
    s.portal().enqcmd(move(0x1000, 0x2000, 8, 0x8040), 0, 1);
    s.portal().enqcmd(move(0x1000, 0x2000, 8, 0x8060), 0, 2);
    s.portal().enqcmd(move(0x1000, 0x2000, 8, 0x8080), 0, 1);
    expect([s.occupancy, s.occupancyOf(1), s.occupancyOf(2)]).toEqual([3, 2, 1]);
    s.abort(2);
    expect([s.occupancyOf(1), s.occupancyOf(2)]).toEqual([2, 0]);
    s.drain(1);
    expect([mem.bytes[0x8040], mem.bytes[0x8060], mem.bytes[0x8080], s.occupancy]).toEqual([1, 0, 1, 0]);
    expect(dev.commandActive).toBe(false);
  });

  it('reset abandons queued work and disables the WQ; enable brings it back', () => {
    const { mem, host } = up();
    const wq = host.wq(0);
    wq.portal().submit(move(0x1000, 0x2000, 8, 0x8000));
    wq.reset();
    expect([wq.enabled, mem.bytes[0x8000]]).toEqual([false, 0]);
    wq.enable();
    expect(wq.enabled).toBe(true);
  });

  it('a command that never completes throws ETIMEDOUT instead of hanging, and is not left active: the work it waited for is abandoned', () => {
    const r = hostRig({}, {}, { wait: () => {}, maxPolls: 5 });
    r.host.probe();
    r.host.load(TWO_GROUPS);
    r.host.wq(0).portal().submit(move(0x1000, 0x2000, 8, 0x8000));
    r.host.wq(2).portal().submit(move(0x1000, 0x3000, 8, 0x8020));
    expect(code(() => r.host.wq(0).drain())).toBe('ETIMEDOUT');
    // The parent takes commands again; WQ 0's descriptor is gone without a record, WQ 2's is untouched.
    expect([r.dev.commandActive, r.host.commandActive, r.host.wq(0).occupancy, r.host.wq(2).occupancy]).toEqual([false, false, 0, 1]);
    r.host.wq(0).drain();
    r.dev.runUntilIdle();
    expect([r.mem.bytes[0x8000], r.mem.bytes[0x8020]]).toEqual([0, Status.SUCCESS]);
  });
});

describe('PASID allocation', () => {
  it('allocates the lowest free PASID, attaches the space, and frees it', () => {
    const r = hostRig();
    r.host.probe();
    const space = new IoAddressSpace();
    const pasid = r.host.allocatePasid(space);
    expect(pasid).toBe(4);
    expect(r.dev.iommu.space(4)).toBe(space);
    r.host.freePasid(4);
    expect(r.dev.iommu.space(4)).toBeNull();
    expect(code(() => r.host.freePasid(1))).toBe('EINVAL');
  });

  it('answers ENOSPC when the PASID width is used up', () => {
    const r = hostRig({ pasidWidth: 3 });
    r.host.probe();
    for (let i = 0; i < 4; i++) r.host.allocatePasid(new IoAddressSpace());
    expect(code(() => r.host.allocatePasid(new IoAddressSpace()))).toBe('ENOSPC');
  });
});
