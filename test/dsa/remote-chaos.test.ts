/**
 * Seeded interleavings over memory reached only by messages: several streams (a dedicated WQ and two
 * PASIDs of a shared WQ over remote memory, a third PASID over ordinary memory) get descriptors,
 * steps, fetch answers in any order, refusals, aborts and unmaps in random order. Whatever happens: no
 * completion record is written twice, no write reaches the peer for a range while it is unmapped, and
 * once everything is answered the device holds nothing — every descriptor that was not aborted has
 * its record, and nothing is left in flight.
 */
import { describe, expect, it } from 'vitest';
import { Command, Opcode, Desc, wqMaskOperand } from '../../src/dsa/index.js';
import { Perm, RemoteRegion } from '../../src/memory/index.js';
import { Prng } from '../util/prng.js';
import { desc, memmove, noop, rig } from './device-fixtures.js';
import { remotePasid } from './remote-fixtures.js';

const UNMAPPABLE = 0x40000; // [0x40000, 0x50000) may be unmapped and mapped back
const CR_BASE = 0x8000;

function chaos(seed: number, steps: number): void {
  const r = new Prng(seed);
  const dev = rig().pciUp().errorsOn().group(0, [0, 1], [0, 1]).dwq(0, 16).swq(1, 16).up([0, 1]);
  const a = remotePasid(dev, 0);
  const b = remotePasid(dev, 1);
  const c = remotePasid(dev, 2);
  const ports = [a.port, b.port, c.port];
  const spaces = [a.space, b.space, c.space];
  const unmapped = [false, false, false];
  let cr = CR_BASE;
  /** CR address → PASID stream and whether an abort may have dropped it. */
  const submitted = new Map<number, { pasid: number; droppable: boolean }>();
  const statusWrites = new Map<number, number>();
  const violations: string[] = [];
  /** Ranges each port refused to fetch: a record page among them is 0x1A (SWERR, no record). */
  const refused: [number, number][][] = [[], [], []];
  for (const p of ports) {
    const write = p.write.bind(p);
    p.write = (iova, bytes, done) => {
      const k = ports.indexOf(p);
      if (unmapped[k] === true && iova < UNMAPPABLE + 0x10000 && iova + bytes.length > UNMAPPABLE) violations.push(`write to unmapped 0x${iova.toString(16)}`);
      if (bytes.length === 1 && submitted.has(iova)) statusWrites.set(iova, (statusWrites.get(iova) ?? 0) + 1);
      write(iova, bytes, done);
    };
  }
  const portal0 = dev.dev.portal(0);
  const portal1 = dev.dev.portal(1);
  for (let step = 0; step < steps; step++) {
    const k = r.below(100);
    if (k < 30) {
      const pasid = r.below(4);
      const at = cr;
      cr += 32;
      if (cr >= 0x10000) cr = CR_BASE;
      submitted.delete(at);
      statusWrites.delete(at);
      dev.mem.bytes.fill(0, at, at + 32);
      const src = 0x10000 + r.below(0x40) * 0x400;
      const dst = r.chance(0.2) ? UNMAPPABLE + r.below(0x3c) * 0x400 : 0x20000 + r.below(0x40) * 0x400;
      const d = r.chance(0.3) ? noop(at, { pasid }) : r.chance(0.5) ? memmove(src, dst, 1 + r.below(0x2000), { cr: at, pasid })
        : desc(Opcode.FILL, { [Desc.SRC]: r.u32(), [Desc.DST]: dst, [Desc.XFER_SIZE]: 1 + r.below(0x1000) }, { cr: at, pasid });
      const st = pasid === 0 ? portal0.movdir64b(d) : portal1.enqcmd(d, 0, pasid);
      if (st === 0) submitted.set(at, { pasid, droppable: false });
    } else if (k < 55) {
      dev.dev.runUntilIdle(1 + r.below(4));
    } else if (k < 80) {
      const p = ports[r.below(3)]!;
      if (p.reads.length > 0) {
        const i = r.below(p.reads.length);
        const [req] = p.reads.splice(i, 1);
        if (r.chance(0.05)) {
          refused[ports.indexOf(p)]!.push([req!.iova, req!.iova + req!.length]);
          req!.done(null);
        } else {
          req!.done(p.memory.slice(req!.iova, req!.iova + req!.length));
        }
      }
      if (r.chance(0.5)) p.answerWrites(1 + r.below(3));
    } else if (k < 81) {
      const pasid = r.below(3);
      if (pasid === 0) dev.cmd(Command.ABORT_WQ, wqMaskOperand(0));
      else dev.cmd(Command.ABORT_PASID, pasid);
      for (const [at, s] of submitted) if (s.pasid === pasid && dev.mem.bytes[at] === 0) s.droppable = true;
    } else if (k < 88) {
      const i = r.below(3);
      if (unmapped[i] === true) {
        spaces[i]!.mapRemote(new RemoteRegion(ports[i]!, UNMAPPABLE, 0x10000, Perm.RW));
        unmapped[i] = false;
      } else {
        spaces[i]!.unmap(UNMAPPABLE, 0x10000);
        unmapped[i] = true;
      }
    } else {
      for (const p of ports) p.answerWrites();
    }
  }
  // Answer everything.
  for (let i = 0; i < 2000; i++) {
    dev.dev.runUntilIdle();
    let pending = false;
    for (const p of ports) {
      if (p.reads.length > 0 || p.writes.length > 0) {
        pending = true;
        p.answerReads();
        p.answerWrites();
      }
    }
    if (!pending && dev.dev.idle) break;
  }
  expect(violations).toEqual([]);
  for (const [at, n] of statusWrites) expect(n, `record 0x${at.toString(16)} written once`).toBeLessThanOrEqual(1);
  expect([dev.dev.occupancy(0), dev.dev.occupancy(1), dev.dev.waiting]).toEqual([0, 0, 0]);
  for (const p of ports) expect([p.reads.length, p.writes.length]).toEqual([0, 0]);
  for (const [at, s] of submitted) {
    const lost = s.droppable || (s.pasid < 3 && refused[s.pasid]!.some(([from, to]) => at >= from && at < to));
    if (!lost) expect(dev.mem.bytes[at], `record 0x${at.toString(16)} of PASID ${s.pasid}`).not.toBe(0);
  }
  expect(submitted.size).toBeGreaterThan(300);
  expect([...submitted.keys()].filter((at) => dev.mem.bytes[at] === 1).length).toBeGreaterThan(150);
}

describe('remote memory under seeded interleavings', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: records once, nothing written while unmapped, nothing left in flight`, () => chaos(0xc4a0_0000 + seed, 3000), 60_000);
  }
});
