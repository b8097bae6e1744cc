/**
 * No descriptor that waits for memory reached only by messages can write later than it may: an
 * abort, a WQ reset or disable, a device reset or a halt abandons it (no record, no interrupt, no
 * write, its late answers ignored); an unmap of its range or a port that refuses makes it complete
 * as over an unmapped page; and one PASID's waiting descriptor never delays or touches another's.
 */
import { describe, expect, it } from 'vitest';
import { Command, Cr, Desc, Flag, Opcode, Status, wqMaskOperand } from '../../src/dsa/index.js';
import { Command as PciCommand } from '../../src/pci/index.js';
import { desc, memmove, noop, rig } from './device-fixtures.js';
import { drive, remotePasid } from './remote-fixtures.js';

const up = () => rig().pciUp().errorsOn().group(0, [0, 1], [0, 1]).dwq(0, 8).swq(1, 8).up([0, 1]);
const portWrites = (calls: readonly { kind: string }[]): number => calls.filter((c) => c.kind === 'write').length;

describe('abandoning a waiting descriptor', () => {
  const teardowns: [string, (r: ReturnType<typeof up>) => void][] = [
    ['Abort WQ', (r) => expect(r.cmd(Command.ABORT_WQ, wqMaskOperand(0))).toBe(0)],
    ['Abort PASID', (r) => expect(r.cmd(Command.ABORT_PASID, 0)).toBe(0)],
    ['Reset WQ', (r) => expect(r.cmd(Command.RESET_WQ, wqMaskOperand(0))).toBe(0)],
    ['Reset Device', (r) => expect(r.cmd(Command.RESET_DEVICE)).toBe(0)],
    ['a device reset', (r) => r.dev.reset()],
    ['a halt (bus mastering cleared)', (r) => r.dev.pci.config.write(4, 2, PciCommand.MEMORY)],
  ];
  for (const [name, teardown] of teardowns) {
    it(`${name}: no record, no interrupt, no write, the late answer ignored`, () => {
      const r = up();
      const { port, region } = remotePasid(r, 0);
      // Dedicated WQ 0 without PASID: effective PASID 0. Abort PASID 0 names no dedicated WQ without PASID,
      // so for that case the descriptor runs on the shared WQ with PASID 0.
      const shared = name === 'Abort PASID';
      // (A user-mode ENQCMD may not ask for an interrupt without GENCFG.user_int_en.)
      const d = memmove(0x10000, 0x20000, 0x100, shared ? { cr: 0x8000 } : { cr: 0x8000, handle: 2 });
      if (shared) r.dev.portal(1).enqcmd(d, 0, 0);
      else r.dev.portal(0).movdir64b(d);
      r.dev.runUntilIdle();
      // The record page arrives; the source and destination pages do not yet.
      port.answerReads(1);
      r.dev.runUntilIdle();
      expect(port.reads.length).toBe(2);
      expect(r.dev.occupancy(shared ? 1 : 0)).toBe(1);
      const vectorsBefore = r.vectors.length;
      teardown(r);
      expect(r.dev.occupancy(shared ? 1 : 0)).toBe(0);
      expect(r.dev.waiting).toBe(0);
      port.answerReads();
      r.dev.runUntilIdle();
      expect([port.reads.length, portWrites(port.calls), r.status(0x8000)]).toEqual([0, 0, 0]);
      expect(r.vectors.slice(vectorsBefore).filter((v) => v === 2)).toEqual([]);
      expect(region.inflight).toBe(0);
    });
  }

  it('an abandoned committing descriptor sends nothing more and raises nothing; its sent writes finish', () => {
    const r = up();
    // The record is ordinary memory: it would be written after the remote data is acknowledged.
    const { port } = remotePasid(r, 0, { from: 0x8000, to: 0x9000 });
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x100, { cr: 0x8000, handle: 2 }));
    for (let i = 0; i < 3; i++) {
      r.dev.runUntilIdle();
      port.answerReads();
    }
    r.dev.runUntilIdle();
    expect(port.writes.length).toBe(1);
    expect(r.cmd(Command.ABORT_WQ, wqMaskOperand(0))).toBe(0);
    expect(r.dev.occupancy(0)).toBe(0);
    port.answerWrites();
    expect([r.status(0x8000), r.vectors.includes(2)]).toEqual([0, false]);
  });

  it('an abort from a page-request service while the descriptor runs again drops it: nothing committed, nothing raised', () => {
    const r = rig().pciUp().errorsOn().group(0, [0], [0]).dwq(0, 8, { bof: 1 }).up([0]);
    const { port, space } = remotePasid(r, 0);
    space.unmap(0x20000, 0x1000);
    let requests = 0;
    r.dev.pageRequests = () => {
      requests++;
      expect(r.cmd(Command.ABORT_WQ, wqMaskOperand(0))).toBe(0);
      return false;
    };
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x100, { cr: 0x8000, handle: 2, flags: Flag.CRAV | Flag.RCR | Flag.BOF }));
    r.dev.runUntilIdle();
    port.answerReads();
    r.dev.runUntilIdle();
    port.answerReads();
    r.dev.runUntilIdle();
    expect([requests, r.dev.occupancy(0), r.dev.waiting, port.reads.length, portWrites(port.calls), r.status(0x8000), r.vectors.includes(2)]).toEqual([
      1, 0, 0, 0, 0, 0, false,
    ]);
    // The engine and its pool are sound: the next descriptor completes.
    r.dev.pageRequests = null;
    r.dev.portal(0).movdir64b(noop(0x8040));
    drive(r.dev, port);
    expect(r.status(0x8040)).toBe(Status.SUCCESS);
  });

  it('Disable WQ waits for a waiting descriptor, then disables the WQ', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    r.dev.portal(0).movdir64b(noop(0x8000));
    r.dev.runUntilIdle();
    r.cmd(Command.DISABLE_WQ, wqMaskOperand(0));
    r.dev.runUntilIdle();
    expect(r.dev.commandActive).toBe(true);
    drive(r.dev, port);
    expect([r.dev.commandActive, r.status(0x8000), r.dev.wqs[0]?.enabled]).toEqual([false, Status.SUCCESS, false]);
  });
});

describe('a page that can no longer be had', () => {
  it('an unmap of the range while the descriptor waits makes it fault there, as an unmapped page', () => {
    const r = up();
    const { port, space } = remotePasid(r, 0);
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x2000, { cr: 0x8000 }));
    r.dev.runUntilIdle();
    // Waiting for its pages: the source's second page is unmapped meanwhile.
    expect(port.reads.map((q) => q.iova)).toContain(0x10000);
    space.unmap(0x11000, 0x1000);
    drive(r.dev, port);
    const v = r.mem.view;
    expect([r.status(0x8000), v.getUint32(0x8000 + Cr.BYTES_COMPLETED, true), v.getUint32(0x8000 + Cr.FAULT_ADDR, true)]).toEqual([
      Status.PAGE_FAULT_NOBOF, 0x1000, 0x11000,
    ]);
  });

  it('a port that refuses the page makes the descriptor complete with a page fault at it', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    r.dev.portal(0).movdir64b(desc(Opcode.CRCGEN, { [Desc.SRC]: 0x10000, [Desc.XFER_SIZE]: 0x100 }, { cr: 0x8000 }));
    r.dev.runUntilIdle();
    // The record page is given, the source refused.
    expect(port.reads.map((q) => q.iova)).toEqual([0x8000, 0x10000]);
    port.answerReads(1);
    port.refuseReads();
    drive(r.dev, port);
    const v = r.mem.view;
    expect([r.status(0x8000), v.getUint32(0x8000 + Cr.FAULT_ADDR, true)]).toEqual([Status.PAGE_FAULT_NOBOF, 0x10000]);
  });

  it('a record page the port refuses is 0x1A in SWERR, no record, no interrupt', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: 2 }));
    r.dev.runUntilIdle();
    port.refuseReads();
    drive(r.dev, port);
    expect([r.swerrField('error'), r.status(0x8000), r.vectors.includes(2), r.dev.occupancy(0)]).toEqual([Status.CRA_XLAT, 0, false, 0]);
  });
});

describe('isolation between PASIDs', () => {
  it('a descriptor waiting on one PASID never delays another PASID of the same shared WQ, nor writes its memory', () => {
    const r = up();
    const a = remotePasid(r, 1);
    const p = r.dev.portal(1);
    r.mem.bytes.fill(0x44, 0x40000, 0x40100);
    expect(p.enqcmd(memmove(0x10000, 0x20000, 0x100, { cr: 0x8000 }), 0, 1)).toBe(0);
    for (let i = 0; i < 6; i++) expect(p.enqcmd(memmove(0x40000, 0x50000 + 0x100 * i, 0x100, { cr: 0x9000 + 32 * i }), 0, 2)).toBe(0);
    r.dev.runUntilIdle();
    // PASID 2 (ordinary memory) ran to completion; PASID 1 still waits for its first page.
    expect(Array.from({ length: 6 }, (_, i) => r.status(0x9000 + 32 * i))).toEqual([1, 1, 1, 1, 1, 1]);
    expect([r.dev.occupancy(1, 1), r.dev.occupancy(1, 2), a.port.reads.length > 0]).toEqual([1, 0, true]);
    // Aborting PASID 2 leaves PASID 1's waiting descriptor alone, and the other way round.
    expect(r.cmd(Command.ABORT_PASID, 2)).toBe(0);
    expect(r.dev.occupancy(1, 1)).toBe(1);
    drive(r.dev, a.port);
    expect(r.status(0x8000)).toBe(Status.SUCCESS);
    expect(a.port.calls.every((c) => c.iova < 0x40000)).toBe(true);
  });
});
