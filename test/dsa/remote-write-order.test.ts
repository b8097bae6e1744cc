/**
 * Rule (b) of memory reached only by messages: the guest never sees a completion-record status
 * before the data it reports. Writes reach the port in the order the device made them, the record
 * after its data and its status byte after its other bytes; interrupts and software errors wait for
 * the write-back to be acknowledged, and an attempt that was unwound raises nothing (so nothing is
 * raised twice).
 */
import { describe, expect, it } from 'vitest';
import { Desc, Opcode, Status, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { desc, memmove, rig } from './device-fixtures.js';
import { drive, remotePasid } from './remote-fixtures.js';

const up = () => rig().pciUp().errorsOn().group(0, [0], [0]).dwq(0, 8).up([0]);
const hex = (n: number): string => n.toString(16);
const writes = (calls: readonly { kind: string; iova: number; length: number }[]): string[] =>
  calls.filter((c) => c.kind === 'write').map((c) => `${hex(c.iova)}+${hex(c.length)}`);

/** A batch list of `elements` at `list` in `mem`, and the batch descriptor. */
function batch(mem: Uint8Array, list: number, elements: Uint8Array[], cr: number, handle?: number): Uint8Array {
  elements.forEach((e, i) => mem.set(e, list + 64 * i));
  return desc(Opcode.BATCH, { [Desc.SRC]: list, [Desc.XFER_SIZE]: elements.length }, { cr, handle });
}

describe('write-back order over remote memory', () => {
  it('a DUALCAST writes both destinations, then the record: bytes 1–31, then the status byte', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    r.dev.portal(0).movdir64b(desc(Opcode.DUALCAST, { [Desc.SRC]: 0x10000, [Desc.DST]: 0x20000, [Desc.DST2]: 0x31000, [Desc.XFER_SIZE]: 0x1800 }, { cr: 0x8000 }));
    drive(r.dev, port);
    expect(r.status(0x8000)).toBe(Status.SUCCESS);
    expect(writes(port.calls)).toEqual(['20000+1800', '31000+1800', '8001+1f', '8000+1']);
  });

  it('a batch writes each element\'s data then its record, in element order, and the batch record last', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    const els = [
      memmove(0x10000, 0x20000, 0x100, { cr: 0x9000 }),
      desc(Opcode.FILL, { [Desc.SRC]: 0x5a5a, [Desc.DST]: 0x22000, [Desc.XFER_SIZE]: 0x80 }, { cr: 0x9020 }),
      memmove(0x10000, 0x24000, 0x40, { cr: 0x9040 }),
    ];
    r.dev.portal(0).movdir64b(batch(r.mem.bytes, 0x30000, els, 0x8000));
    drive(r.dev, port);
    expect([r.status(0x9000), r.status(0x9020), r.status(0x9040), r.status(0x8000)]).toEqual([1, 1, 1, 1]);
    expect(writes(port.calls)).toEqual([
      '20000+100', '9001+1f', '9000+1',
      '22000+80', '9021+1f', '9020+1',
      '24000+40', '9041+1f', '9040+1',
      '8001+1f', '8000+1',
    ]);
  });

  it('a record in ordinary memory is written only after the remote data it reports is acknowledged', () => {
    const r = up();
    // The record page is ordinary memory, the data remote.
    const { port } = remotePasid(r, 0, { from: 0x8000, to: 0x9000 });
    r.mem.bytes.fill(0x77, 0x10000, 0x10400);
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x400, { cr: 0x8000 }));
    r.dev.runUntilIdle();
    port.answerReads();
    r.dev.runUntilIdle();
    port.answerReads();
    r.dev.runUntilIdle();
    expect(writes(port.calls)).toEqual(['20000+400']);
    expect(r.status(0x8000)).toBe(0);
    port.answerWrites();
    expect([r.status(0x8000), r.mem.bytes[0x203ff]]).toEqual([Status.SUCCESS, 0x77]);
  });
});

describe('interrupts and software errors over remote memory', () => {
  it('the completion interrupt comes after the record is acknowledged, once', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    let statusAtInterrupt = -1;
    r.dev.setMsixDelivery((v) => {
      statusAtInterrupt = r.status(0x8000);
      r.vectors.push(v);
      return true;
    });
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x100, { cr: 0x8000, handle: 3 }));
    r.dev.runUntilIdle();
    for (let i = 0; i < 3; i++) {
      port.answerReads();
      r.dev.runUntilIdle();
    }
    expect([port.writes.length > 0, r.vectors]).toEqual([true, []]);
    port.answerWrites();
    expect([r.vectors, statusAtInterrupt]).toEqual([[3], Status.SUCCESS]);
  });

  it('element interrupts of a batch whose later element waits are raised once, after the whole batch is written back', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    const seen: { vector: number; statuses: number[] }[] = [];
    r.dev.setMsixDelivery((v) => {
      seen.push({ vector: v, statuses: [r.status(0x9000), r.status(0x9020), r.status(0x8000)] });
      return true;
    });
    // Element 1 reads a page element 0 did not touch: the batch is unwound after element 0 completed.
    const els = [memmove(0x10000, 0x20000, 0x40, { cr: 0x9000, handle: 1 }), memmove(0x50000, 0x60000, 0x40, { cr: 0x9020, handle: 2 })];
    r.dev.portal(0).movdir64b(batch(r.mem.bytes, 0x30000, els, 0x8000, 4));
    let parks = 0;
    for (;;) {
      r.dev.runUntilIdle();
      if (port.reads.length === 0) break;
      parks++;
      expect(seen).toEqual([]);
      port.answerReads();
    }
    // The batch's record and list, then element 0's pages, then element 1's (after element 0 completed).
    expect(parks).toBe(3);
    expect(seen).toEqual([]);
    port.answerWrites();
    expect(seen).toEqual([
      { vector: 1, statuses: [1, 1, 1] },
      { vector: 2, statuses: [1, 1, 1] },
      { vector: 4, statuses: [1, 1, 1] },
    ]);
  });

  it('a fault without a record is reported in SWERR only after the bytes before it are written back', () => {
    const r = up();
    const { port, space } = remotePasid(r, 0);
    space.unmap(0x21000, 0x1000);
    r.mem.bytes.fill(0x31, 0x10000, 0x12000);
    const d = new Uint8Array(64);
    const v = new DataView(d.buffer);
    writeDescHeader(v, 0, Opcode.MEMMOVE, 0);
    writeDescAddr(v, 0, Desc.SRC, 0x10000);
    writeDescAddr(v, 0, Desc.DST, 0x20000);
    v.setUint32(Desc.XFER_SIZE, 0x2000, true);
    r.dev.portal(0).movdir64b(d);
    for (let i = 0; i < 2; i++) {
      r.dev.runUntilIdle();
      port.answerReads();
    }
    r.dev.runUntilIdle();
    expect([r.swerrField('valid'), r.vectors]).toEqual([0, []]);
    expect(writes(port.calls)).toEqual(['20000+1000']);
    port.answerWrites();
    expect([r.swerrField('valid'), r.swerrField('error'), r.mem.bytes[0x20fff]]).toEqual([1, Status.PAGE_FAULT_NOBOF, 0x31]);
  });
});
