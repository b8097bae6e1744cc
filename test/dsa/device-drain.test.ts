/** A DRAIN descriptor completes only after the earlier descriptors in its scope: its whole dedicated WQ, or its PASID on a shared WQ. */
import { describe, expect, it } from 'vitest';
import { Opcode, Status } from '../../src/dsa/index.js';
import { desc, noop, rig } from './device-fixtures.js';

const drain = (cr: number) => desc(Opcode.DRAIN, {}, { cr });

describe('DRAIN descriptor', () => {
  it('on a dedicated WQ completes after every descriptor accepted before it', () => {
    const r = rig().pciUp().group(0, [0], [0, 1]).dwq(0, 8).up([0]);
    const p = r.dev.portal(0);
    p.movdir64b(noop(0x8000));
    p.movdir64b(noop(0x8020));
    p.movdir64b(drain(0x8040));
    const seen: number[][] = [];
    while (r.dev.step()) seen.push([r.status(0x8000), r.status(0x8020), r.status(0x8040)]);
    expect(seen).toEqual([[1, 0, 0], [1, 1, 0], [1, 1, Status.SUCCESS]]);
  });

  it('on a shared WQ it does not wait for descriptors accepted after it, of any PASID', () => {
    const r = rig().pciUp().group(0, [0], [0]).swq(0, 8).up([0]);
    const p = r.dev.portal(0);
    p.enqcmd(noop(0x8000), 0, 1);
    p.enqueue(drain(0x8020), 0, 1, true);
    p.enqcmd(noop(0x8040), 0, 2);
    r.dev.step();
    r.dev.step();
    expect([r.status(0x8000), r.status(0x8020), r.status(0x8040)]).toEqual([1, Status.SUCCESS, 0]);
  });
});
