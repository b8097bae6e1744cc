/**
 * Random register and portal accesses (seeded): 100 000 reads and writes of 1, 2, 4, 8 (and, in
 * BAR2, 64) bytes at any offset of BAR0 and BAR2 of a configured, enabled device never throw and
 * never change a read-only field by writing to it; the constant read-only fields never change at all.
 */
import { describe, expect, it } from 'vitest';
import { Command, DeviceState, SubmitStatus } from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';
import { rig } from './device-fixtures.js';
import { type FieldPiece, fieldPieces, pieceName, readPiece } from './table-walk.js';

const ACCESSES = 100_000;

describe('register and portal fuzz', () => {
  it('100 000 random accesses never throw and never change a read-only field', () => {
    const rng = new Prng(0x5eed4);
    const r = rig({}, { mode: 'automatic' }).pciUp().errorsOn();
    const bringUp = (): void => {
      r.cmd(Command.RESET_DEVICE);
      r.group(0, [0, 1], [0, 1]).group(1, [2, 3], [2]);
      r.dwq(0, 16).swq(1, 32).dwq(2, 8, { pasidEn: 1, pasid: 1, priv: 1 }).swq(3, 16, { wqThresh: 4 }).up([0, 1, 2, 3]);
    };
    bringUp();
    const dev = r.dev;
    const pieces = fieldPieces(dev);
    const constant = pieces.filter((p) => p.field.access === 'RO' && !p.field.status);
    const before = constant.map((p) => readPiece(dev, p));
    const roByDword = new Map<number, FieldPiece[]>();
    for (const p of pieces) {
      if (p.field.access !== 'RO' || p.reg.hooked) continue;
      const list = roByDword.get(p.dwordOffset) ?? [];
      list.push(p);
      roByDword.set(p.dwordOffset, list);
    }
    const bar0 = dev.layout.bar0Size;
    const bar2 = dev.layout.bar2Size;
    const buf = new Uint8Array(64);
    const changed: string[] = [];
    let writes = 0;
    let accepted = 0;
    for (let i = 0; i < ACCESSES; i++) {
      if (i % 2000 === 1999 && dev.state !== DeviceState.ENABLED && !dev.commandActive) bringUp();
      const inBar2 = rng.chance(0.3);
      const size = inBar2 ? rng.pick([1, 2, 4, 8, 64, 64]) : rng.pick([1, 2, 4, 8]);
      const span = inBar2 ? bar2 : rng.chance(0.6) ? 0x1000 : bar0;
      const offset = rng.chance(0.8) ? rng.below(span / size) * size : rng.below(span);
      const data = buf.subarray(0, size);
      if (rng.chance(0.5)) {
        if (inBar2) dev.bar2.read(offset, data);
        else dev.bar0.readInto(offset, data);
        continue;
      }
      rng.fill(data);
      if (inBar2) {
        if (dev.bar2.write(offset, data) === SubmitStatus.ACCEPTED) accepted++;
        continue;
      }
      writes++;
      const touched: FieldPiece[] = [];
      for (let d = offset & ~3; d < offset + size; d += 4) touched.push(...(roByDword.get(d) ?? []));
      const old = touched.map((p) => readPiece(dev, p));
      dev.bar0.writeFrom(offset, data);
      touched.forEach((p, k) => {
        if (readPiece(dev, p) !== old[k]) changed.push(`${pieceName(p)} by a ${size}-byte write at 0x${offset.toString(16)}`);
      });
    }
    expect(writes).toBeGreaterThan(ACCESSES / 4);
    expect(accepted).toBeGreaterThan(500);
    expect(changed).toEqual([]);
    expect(constant.filter((p, k) => readPiece(dev, p) !== before[k]).map(pieceName)).toEqual([]);
  });
});
