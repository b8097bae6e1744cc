/**
 * Guest memory that disappears while mapped — its ArrayBuffer detached (transferred away), or a
 * resizable ArrayBuffer shrunk below the mapping — translates as unmapped: a descriptor touching it
 * ends with a page fault (0x03 reading, 0x83 writing, dsa-operations.md §5) at the first missing page,
 * a completion record there is SWERR 0x1A, and nothing throws or "succeeds" on memory that is gone.
 */
import { describe, expect, it } from 'vitest';
import { Cr, Flag, Status } from '../../src/dsa/index.js';
import { GuestMemory, IoAddressSpace, Perm } from '../../src/memory/index.js';
import { memmove, rig, type Rig } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, parentRig } from '../vidxd/fixtures.js';

const FAR = 0x100000; // IOVA of the memory that will disappear (beyond the rig's own memory)
const SIZE = 0x20000;

/** Detaches `buf` (as a transfer to a worker would). */
function detach(buf: ArrayBuffer): void {
  structuredClone(buf, { transfer: [buf] });
  expect(buf.byteLength).toBe(0);
}

/** A resizable ArrayBuffer of `size` bytes (may shrink to 0). */
function resizable(size: number): ArrayBuffer & { resize(n: number): void } {
  return new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(size, { maxByteLength: size });
}

/** A rig with dedicated WQ 0 up, and `mem` mapped RW at {@link FAR} in PASID 0's space. */
function setup(mem: GuestMemory): Rig {
  const r = rig().pciUp().group(0, [0], [0]).dwq(0, 8).up([0]);
  r.space(0).map(FAR, SIZE, mem, 0, Perm.RW);
  return r;
}

/** Runs `d` on WQ 0 and returns [status, bytes completed, fault address] of its record at `cr`. */
function run(r: Rig, d: Uint8Array, cr: number): [number, number, number] {
  r.dev.portal(0).movdir64b(d);
  expect(() => r.dev.runUntilIdle()).not.toThrow();
  const v = r.mem.view;
  return [r.status(cr), v.getUint32(cr + Cr.BYTES_COMPLETED, true), v.getUint32(cr + Cr.FAULT_ADDR, true)];
}

describe('a detached ArrayBuffer', () => {
  it('faults reads (0x03) and writes (0x83) at the mapping, never a TypeError', () => {
    const buf = new ArrayBuffer(SIZE);
    const mem = new GuestMemory(buf);
    const r = setup(mem);
    // Warm the translation cache on the mapping first, so a stale cached run would be used.
    expect(run(r, memmove(FAR, 0x2000, 0x100, { cr: 0x1000 }), 0x1000)[0]).toBe(Status.SUCCESS);
    detach(buf);
    r.mem.bytes.fill(0x77, 0x3000, 0x3100);
    expect(run(r, memmove(FAR, 0x4000, 0x100, { cr: 0x1020 }), 0x1020)).toEqual([Status.PAGE_FAULT_NOBOF, 0, FAR]);
    expect(run(r, memmove(0x3000, FAR + 0x800, 0x100, { cr: 0x1040 }), 0x1040)).toEqual([Status.PAGE_FAULT_NOBOF | 0x80, 0, FAR + 0x800]);
    expect(r.dev.occupancy(0)).toBe(0);
  });

  it('a completion record in it is SWERR 0x1A (the record address does not translate)', () => {
    const buf = new ArrayBuffer(SIZE);
    const r = setup(new GuestMemory(buf));
    detach(buf);
    r.dev.portal(0).movdir64b(memmove(0x3000, 0x4000, 0x40, { cr: FAR + 0x40, flags: Flag.CRAV | Flag.RCR }));
    expect(() => r.dev.runUntilIdle()).not.toThrow();
    expect(r.swerrField('error')).toBe(Status.CRA_XLAT);
  });

  it('in a vdev\'s IOAS: the guest\'s descriptor faults and the VMM\'s step returns', () => {
    const rig2 = parentRig();
    const g = new Guest(rig2, createVdev(rig2, DWQ).uuid).up();
    const buf = new ArrayBuffer(SIZE);
    g.ioas.map({ iova: 0x200000, size: SIZE, memory: new GuestMemory(buf), offset: 0, flags: 3 });
    detach(buf);
    g.submit(memmove(0x1000, 0x200000, 0x100, { cr: 0x3000 }));
    expect(() => rig2.dev.runUntilIdle()).not.toThrow();
    expect(g.status(0x3000)).toBe(Status.PAGE_FAULT_NOBOF | 0x80);
  });
});

describe('the translation cache after a detach or a shrink', () => {
  // The cached hit compares its view's length (a detached buffer's view reads 0) and never holds a
  // resizable buffer: checked after enough hits for the optimizing compiler to have taken the path.
  const HOT = 200_000;

  it('a hit on a detached buffer misses and translates as unmapped, after the path is hot', () => {
    const buf = new ArrayBuffer(SIZE);
    const space = new IoAddressSpace();
    space.map(0, SIZE, new GuestMemory(buf), 0, Perm.RW);
    const out = { bytes: new Uint8Array(0), offset: 0 };
    let n = 0;
    for (let i = 0; i < HOT; i++) n += space.translate(0x3000 + (i & 0xff), 0x100, (i & 1) === 0, out);
    expect(n).toBe(HOT * 0x100);
    detach(buf);
    expect([space.translate(0x3000, 0x100, false, out), space.translate(0x3000, 0x100, true, out)]).toEqual([0, 0]);
  });

  it('a resizable buffer is never cached: a shrink is seen at the next translation, after the path is hot', () => {
    const buf = resizable(SIZE);
    const space = new IoAddressSpace();
    space.map(0, SIZE, new GuestMemory(buf), 0, Perm.RW);
    const out = { bytes: new Uint8Array(0), offset: 0 };
    let n = 0;
    for (let i = 0; i < HOT; i++) n += space.translate(0x3000 + (i & 0xff), 0x100, false, out);
    expect(n).toBe(HOT * 0x100);
    buf.resize(0x3000);
    expect(space.translate(0x3000, 0x100, false, out)).toBe(0);
    expect(space.translate(0x2000, 0x100, false, out)).toBe(0x100);
  });
});

describe('a resizable ArrayBuffer shrunk below its mapping', () => {
  it('faults at the first page no longer backed; bytes before it complete', () => {
    const buf = resizable(SIZE);
    const mem = new GuestMemory(buf);
    const r = setup(mem);
    mem.bytes.fill(0x5a);
    expect(run(r, memmove(FAR + 0x10000, 0x8000, 0x100, { cr: 0x1000 }), 0x1000)[0]).toBe(Status.SUCCESS);
    buf.resize(0x6800); // pages 0..5 whole, page 6 partly, the rest gone
    // A copy out of the gone part: nothing completes.
    expect(run(r, memmove(FAR + 0x10000, 0x8000, 0x100, { cr: 0x1020 }), 0x1020)).toEqual([Status.PAGE_FAULT_NOBOF, 0, FAR + 0x10000]);
    // A copy into memory that straddles the end: the whole pages complete, the partial page faults.
    r.mem.bytes.fill(0x33, 0x9000, 0xb000);
    expect(run(r, memmove(0x9000, FAR + 0x5000, 0x2000, { cr: 0x1040 }), 0x1040)).toEqual([Status.PAGE_FAULT_NOBOF | 0x80, 0x1000, FAR + 0x6000]);
    expect([...mem.bytes.subarray(0x5000, 0x5004)]).toEqual([0x33, 0x33, 0x33, 0x33]);
    expect([...mem.bytes.subarray(0x6000, 0x6004)]).toEqual([0x5a, 0x5a, 0x5a, 0x5a]);
  });

  it('translates as unmapped in the address space itself (one length check per run)', () => {
    const buf = resizable(SIZE);
    const space = new IoAddressSpace();
    space.map(0, SIZE, new GuestMemory(buf), 0, Perm.RW);
    const out = { bytes: new Uint8Array(0), offset: 0 };
    expect(space.translate(0x3000, 0x100, false, out)).toBe(0x100);
    buf.resize(0x2000);
    expect(space.translate(0x3000, 0x100, false, out)).toBe(0);
    expect(space.translate(0x1000, 0x3000, true, out)).toBe(0x1000);
    // A page only partly left is gone, even for bytes still inside the buffer.
    buf.resize(0x2800);
    expect(space.translate(0x2100, 0x10, false, out)).toBe(0);
    expect(space.translate(0x1ff0, 0x100, false, out)).toBe(0x10);
    buf.resize(0);
    expect(space.translate(0, 0x10, false, out)).toBe(0);
  });
});
