/** Manual (deterministic) and automatic execution give the same results for the same submissions. */
import { describe, expect, it } from 'vitest';
import { Desc, type ExecutionMode, GENCFG, MSIX_PERM, Opcode } from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';
import { desc, memmove, MEM_SIZE, noop, type Rig, rig } from './device-fixtures.js';

/** A seeded workload over a dedicated WQ (0), a shared WQ (1) and a dedicated PASID WQ (2) in two groups. */
function workload(mode: ExecutionMode, schedule?: (run: () => void) => void): Rig {
  const r = rig({}, { mode, ...(schedule === undefined ? {} : { schedule }) }).pciUp().errorsOn();
  r.group(0, [0, 1], [0, 1]).group(1, [2], [2]).dwq(0, 32).swq(1, 32).dwq(2, 32, { pasidEn: 1, pasid: 2 });
  r.write(GENCFG, 0, { userIntEn: 1 });
  r.write(MSIX_PERM, 2, { pasidEn: 1, pasid: 1 });
  r.write(MSIX_PERM, 3, { pasidEn: 1, pasid: 2 });
  r.up([0, 1, 2]);
  const rng = new Prng(0xd5a);
  rng.fill(r.mem.bytes.subarray(0, 0x10000));
  for (let i = 0; i < 60; i++) {
    const q = rng.below(3);
    const src = rng.below(0x10000 - 4096);
    const dst = 0x40000 + i * 4096;
    const cr = 0x80000 + i * 32;
    const handle = q + 1;
    const d = rng.chance(0.7)
      ? memmove(src, dst, rng.range(1, 4096), { cr, handle })
      : rng.chance(0.5) ? desc(Opcode.FILL, { [Desc.SRC]: rng.u32(), [Desc.DST]: dst, [Desc.XFER_SIZE]: rng.range(1, 4096) }, { cr })
        : noop(cr, { handle });
    if (q === 1) r.dev.portal(1).enqcmd(d, 0, 1 + rng.below(2));
    else r.dev.portal(q).movdir64b(d);
  }
  return r;
}

/** Destinations and records of two rigs are byte-identical (and not all zero). */
function same(a: Rig, b: Rig): boolean {
  const x = Buffer.from(a.mem.bytes.subarray(0x40000, MEM_SIZE));
  return x.some((v) => v !== 0) && x.equals(Buffer.from(b.mem.bytes.subarray(0x40000, MEM_SIZE)));
}

describe('execution modes', () => {
  it('deterministic mode runs nothing until stepped; automatic mode has run everything on return', () => {
    const manual = workload('deterministic');
    expect(manual.dev.occupancy(0) + manual.dev.occupancy(1) + manual.dev.occupancy(2)).toBe(60);
    const auto = workload('automatic');
    expect(auto.dev.occupancy(0) + auto.dev.occupancy(1) + auto.dev.occupancy(2)).toBe(0);
    expect(manual.dev.runUntilIdle()).toBe(60);
  });

  it('both modes leave the same memory, records and interrupts', () => {
    const manual = workload('deterministic');
    manual.dev.runUntilIdle();
    const auto = workload('automatic');
    expect(same(manual, auto)).toBe(true);
    expect([...manual.vectors].sort()).toEqual([...auto.vectors].sort());
    expect(manual.vectors.length).toBeGreaterThan(10);
    expect(new Set(manual.vectors)).toEqual(new Set([0, 1, 2, 3]));
    expect(manual.swerr()).toEqual(auto.swerr());
  });

  it('automatic mode with a scheduler runs queued work when the scheduled task runs', () => {
    const tasks: (() => void)[] = [];
    const r = workload('automatic', (t) => tasks.push(t));
    expect(tasks.length).toBe(1);
    expect(r.dev.idle).toBe(false);
    tasks.shift()?.();
    expect(r.dev.idle).toBe(true);
    expect(same(r, workload('automatic'))).toBe(true);
  });
});
