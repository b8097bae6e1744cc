/**
 * Submissions made while a descriptor executes — from the page-request service or an interrupt
 * handler, which run inside the step — never disturb the descriptor being executed, even when they
 * fill its WQ to the brim: the engine executes in place, in the ring slot it took the descriptor
 * from, and the ring's spare slot keeps that slot out of the submissions' reach.
 */
import { describe, expect, it } from 'vitest';
import { Desc, Flag, Opcode, SubmitStatus } from '../../src/dsa/index.js';
import { desc, memmove, noop, rig } from './device-fixtures.js';

const SIZE = 4;
const SRC = 0x10000;
const DST = 0x20000;
const HOLE = DST + 0x1000;

describe('re-entrant submission while a descriptor executes', () => {
  it('a page-request service that fills the WQ leaves the blocked MEMMOVE intact', () => {
    const r = rig({ totalWqSize: SIZE }).pciUp();
    r.group(0, [0], [0]).dwq(0, SIZE, { bof: 1 }).up([0]);
    for (let i = 0; i < 0x2000; i++) r.mem.bytes[SRC + i] = (i * 7 + 3) & 0xff;
    r.space(0).unmap(HOLE, 0x1000);
    const move = memmove(SRC, DST, 0x2000, { cr: 0x40000, flags: Flag.CRAV | Flag.RCR | Flag.BOF });
    const wq = r.dev.wqs[0]!;
    const at = wq.base + wq.head * 64;
    let accepted = 0;
    let intact = false;
    r.dev.pageRequests = (_pasid, iova) => {
      // Fill every slot the WQ has with NOOPs, then resolve the fault.
      for (let i = 0; i < SIZE; i++) if (r.dev.portal(0).movdir64b(noop(0x30000 + 32 * i)) === SubmitStatus.ACCEPTED) accepted++;
      // The descriptor being executed is still in the slot it was taken from (the ring's spare slot).
      intact = wq.bytes.subarray(at, at + 64).every((b, k) => b === move[k]);
      r.space(0).map(iova, 0x1000, r.mem, iova, 3);
      return true;
    };
    r.dev.portal(0).movdir64b(move);
    expect(r.dev.step()).toBe(true);
    expect([accepted, intact]).toEqual([SIZE, true]);
    expect(r.status(0x40000)).toBe(1);
    expect(r.bytes(DST, 0x2000)).toEqual(r.bytes(SRC, 0x2000));
    expect(r.dev.runUntilIdle()).toBe(SIZE);
    for (let i = 0; i < SIZE; i++) expect(r.status(0x30000 + 32 * i)).toBe(1);
  });

  it('an interrupt handler that refills the WQ does not change the record or the interrupt of the descriptor that raised it', () => {
    const r = rig({ totalWqSize: SIZE }).pciUp();
    r.group(0, [0], [0]).dwq(0, SIZE).up([0]);
    const seen: number[] = [];
    let refills = 0;
    r.dev.setMsixDelivery((v) => {
      seen.push(v);
      // Each FILL's interrupt tops the WQ up with NOOPs that name another vector.
      if (v === 1) {
        while (r.dev.portal(0).movdir64b(desc(Opcode.NOOP, {}, { cr: 0x30000 + 32 * refills, handle: 2 })) === SubmitStatus.ACCEPTED) refills++;
        // The one that did not fit was dropped (SWERR 0x53), as a full dedicated WQ does.
      }
      return true;
    });
    for (let i = 0; i < SIZE; i++) r.dev.portal(0).movdir64b(desc(Opcode.FILL, { [Desc.SRC]: 0x5a5a5a5a, [Desc.DST]: DST + 0x100 * i, [Desc.XFER_SIZE]: 0x100 }, { cr: 0x40000 + 32 * i, handle: 1 }));
    expect(r.dev.occupancy(0)).toBe(SIZE);
    expect(r.dev.runUntilIdle()).toBe(SIZE + refills);
    expect(refills).toBe(SIZE);
    expect(seen).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    for (let i = 0; i < SIZE; i++) {
      expect(r.status(0x40000 + 32 * i)).toBe(1);
      expect(r.status(0x30000 + 32 * i)).toBe(1);
      // The 8-byte pattern 0x000000005a5a5a5a, little-endian.
      expect(r.bytes(DST + 0x100 * i, 0x100).every((b, k) => b === ((k & 7) < 4 ? 0x5a : 0))).toBe(true);
    }
  });
});
