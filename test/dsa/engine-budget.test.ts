/**
 * The engine's work budget per step: a descriptor that has not completed when its step's budget is
 * spent yields at a resume point and continues later with exactly the result of one uninterrupted run
 * (memory, records, CRCs, delta records, faults, errors, interrupts), a batch at the same element; the
 * device runs a big batch over many steps (a bounded, deterministic count), in automatic mode from
 * scheduled runs rather than inside the submission.
 */
import { describe, expect, it } from 'vitest';
import {
  Command, Desc, DescriptorEngine, ExecContext, Flag, Opcode, wqMaskOperand, YIELDED, writeDescAddr, writeDescHeader,
} from '../../src/dsa/index.js';
import { Iommu, Perm } from '../../src/memory/index.js';
import { anyDescriptor, describeDescriptor, type DescriptorSource, OPCODES, wellFormed } from '../fuzz/descriptors.js';
import { MAPPABLE_END, MEM_SIZE } from '../fuzz/layout.js';
import { WatchedMemory } from '../fuzz/watched-memory.js';
import { Prng } from '../util/prng.js';
import { RecordingErrors, RecordingInterrupts } from './harness.js';
import { desc, memmove, rig } from './device-fixtures.js';

interface Outcome {
  readonly memory: Uint8Array;
  readonly statuses: number[];
  readonly interrupts: number[];
  readonly errors: unknown[];
  readonly readbacks: number[];
  /** Steps (execute + continue calls) per descriptor. */
  readonly steps: number[];
}

/**
 * Runs `count` seeded descriptors (from `make`) on one engine with `budget`, each stepped until it
 * completes. The generator only writes memory (lists, records cleared) and the engine takes nothing
 * from the PRNG, so two runs with the same seed see the same descriptors whatever the budget.
 */
function run(seed: number, budget: number, count: number, make: (src: DescriptorSource, i: number) => Uint8Array, prs = false): Outcome {
  const r = new Prng(seed);
  const memory = new WatchedMemory('guest', MEM_SIZE, 1, r);
  const iommu = new Iommu();
  const space = iommu.create(1);
  // Mapped in pieces, one page left out: runs end inside operations and faults happen mid-way.
  space.map(0, 0x6000, memory.memory, 0, Perm.RW);
  space.map(0x6000, 0x3000, memory.memory, 0x6000, Perm.RW);
  space.map(0xa000, MAPPABLE_END - 0xa000, memory.memory, 0xa000, Perm.RW);
  const interrupts = new RecordingInterrupts();
  const errors = new RecordingErrors();
  const readbacks: number[] = [];
  const ctx = new ExecContext();
  ctx.space = space;
  ctx.pasid = 1;
  ctx.pasidEnabled = true;
  ctx.priv = true;
  ctx.interrupts = interrupts;
  ctx.errors = errors;
  ctx.readback = (_p, op) => readbacks.push(op);
  if (prs) {
    // Page requests map the missing page back (idempotent: a second request for it finds it mapped).
    ctx.prsEnabled = true;
    ctx.faults = (_p, iova) => {
      if (iova >= 0x9000 && iova < 0xa000) {
        space.map(0x9000, 0x1000, memory.memory, 0x9000, Perm.RW);
        return true;
      }
      return false;
    };
  }
  const engine = new DescriptorEngine();
  engine.budget = budget;
  const src: DescriptorSource = { r, pasid: 1, handles: [1, 2, 3], memory };
  const statuses: number[] = [];
  const steps: number[] = [];
  for (let i = 0; i < count; i++) {
    if (prs) space.unmap(0x9000, 0x1000);
    const d = make(src, i);
    let n = 1;
    let st = engine.execute(d, 0, ctx);
    while (st === YIELDED) {
      const held = engine.takeHeld();
      if (held === null) throw new Error('a yielded descriptor is not held');
      st = engine.continue(held, ctx);
      n++;
      if (n > 100_000) throw new Error(`descriptor ${i} makes no progress: ${describeDescriptor(d)}`);
    }
    expect(engine.held).toBeNull();
    statuses.push(st);
    steps.push(n);
  }
  return { memory: memory.bytes.slice(), statuses, interrupts: interrupts.raised.slice(), errors: errors.reports.slice(), readbacks, steps };
}

function expectSame(a: Outcome, b: Outcome): void {
  expect(b.statuses).toEqual(a.statuses);
  expect(Buffer.from(b.memory).equals(Buffer.from(a.memory))).toBe(true);
  expect(b.interrupts).toEqual(a.interrupts);
  expect(b.errors).toEqual(a.errors);
  expect(b.readbacks).toEqual(a.readbacks);
}

/** Data operations (everything but NOOP and DRAIN), well-formed; every fourth one a batch of them. */
const DATA_OPS = OPCODES.filter((o) => o !== Opcode.NOOP && o !== Opcode.DRAIN);

describe('the engine\'s work budget per step', () => {
  it.each([64, 200, 4096])('gives every data operation the result of an unbudgeted run with a budget of %i bytes (seeded differential)', (budget) => {
    for (const seed of [1, 2, 3]) {
      const make = (src: DescriptorSource, i: number): Uint8Array => wellFormed(src, DATA_OPS[i % DATA_OPS.length] as number);
      const whole = run(seed, Number.POSITIVE_INFINITY, 240, make);
      const sliced = run(seed, budget, 240, make);
      expectSame(whole, sliced);
      expect(whole.steps.every((n) => n === 1)).toBe(true);
      // The budget bit: many descriptors took several steps.
      expect(sliced.steps.filter((n) => n > 1).length).toBeGreaterThan(budget < 1000 ? 40 : 3);
    }
  });

  it('gives mutated descriptors, noise and batches the same results too, and with page requests served mid-operation', () => {
    for (const seed of [11, 12]) {
      const make = (src: DescriptorSource): Uint8Array => anyDescriptor(src).bytes;
      expectSame(run(seed, Number.POSITIVE_INFINITY, 400, make), run(seed, 64, 400, make));
      const bof = (src: DescriptorSource, i: number): Uint8Array => {
        const d = wellFormed(src, DATA_OPS[i % DATA_OPS.length] as number);
        d[Desc.FLAGS + 0] = (d[Desc.FLAGS + 0] as number) | Flag.BOF;
        return d;
      };
      expectSame(run(seed, Number.POSITIVE_INFINITY, 200, bof, true), run(seed, 128, 200, bof, true));
    }
  });

  it('runs a batch over a deterministic number of steps, resuming the same element, in order', () => {
    // 16 elements of 4 KiB copies with a budget of 4 KiB: each step takes 4 KiB of work (64 bytes per element read).
    const make = (src: DescriptorSource): Uint8Array => {
      const list = 0x1000;
      for (let k = 0; k < 16; k++) {
        const e = new Uint8Array(64);
        const v = new DataView(e.buffer);
        writeDescHeader(v, 0, k % 2 === 0 ? Opcode.MEMMOVE : Opcode.COPY_CRC, Flag.CRAV | Flag.RCR);
        writeDescAddr(v, 0, Desc.CR_ADDR, 32 * k);
        writeDescAddr(v, 0, Desc.SRC, 0xa000 + 0x100 * k);
        writeDescAddr(v, 0, Desc.DST, 0x4000 + 0x1000 * (k % 4));
        v.setUint32(Desc.XFER_SIZE, 0x1000, true);
        src.memory.cpuWrite(list + 64 * k, e);
      }
      const b = new Uint8Array(64);
      const v = new DataView(b.buffer);
      writeDescHeader(v, 0, Opcode.BATCH, Flag.CRAV | Flag.RCR);
      writeDescAddr(v, 0, Desc.CR_ADDR, 0x800);
      writeDescAddr(v, 0, Desc.SRC, list);
      v.setUint32(Desc.XFER_SIZE, 16, true);
      return b;
    };
    const whole = run(5, Number.POSITIVE_INFINITY, 1, make);
    const sliced = run(5, 4096, 1, make);
    expectSame(whole, sliced);
    // Work: 16 × (64 + 4096) bytes; each step takes its 4096-byte budget: ceil(66560 / 4096) = 17 steps.
    expect(sliced.steps).toEqual([17]);
    expect(sliced.statuses).toEqual([1]);
    // Later elements overwrite earlier ones' destinations: order kept means the last writers' bytes.
    expect(Buffer.from(sliced.memory.subarray(0x4000, 0x8000)).equals(Buffer.from(whole.memory.subarray(0x4000, 0x8000)))).toBe(true);
    // Element 15 wrote 0x7000 last (from 0xaf00), after element 11 (from 0xab00).
    expect(Buffer.from(sliced.memory.subarray(0x7000, 0x8000)).equals(Buffer.from(sliced.memory.subarray(0xab00, 0xbb00)))).toBe(false);
    expect(Buffer.from(sliced.memory.subarray(0x7000, 0x8000)).equals(Buffer.from(sliced.memory.subarray(0xaf00, 0xbf00)))).toBe(true);
  });

  it('refuses a budget below 64 bytes or not an integer, and takes Infinity for none', () => {
    const e = new DescriptorEngine();
    expect(() => (e.budget = 63)).toThrow(RangeError);
    expect(() => (e.budget = 100.5)).toThrow(RangeError);
    expect(() => (e.budget = Number.NaN)).toThrow(RangeError);
    e.budget = Number.POSITIVE_INFINITY;
    expect(e.budget).toBe(Number.POSITIVE_INFINITY);
    expect(() => rig({}, { workBudget: 8 })).toThrow(RangeError);
  });
});

/** A device with WQ 0 dedicated (32) on engine 0, a work budget, and a batch of `count` 64 KiB copies queued. */
function bigBatch(options: { workBudget?: number; mode?: 'automatic'; schedule?: (run: () => void) => void }, count: number) {
  const r = rig({}, options).pciUp().errorsOn();
  r.group(0, [0], [0]).dwq(0, 32);
  const list = 0x1000;
  for (let k = 0; k < count; k++) {
    r.mem.bytes.set(memmove(0x10000, 0x20000 + 0x10000 * (k % 8), 0x10000, { cr: 0x8000 + 32 * k }), list + 64 * k);
  }
  for (let i = 0; i < 0x10000; i++) r.mem.bytes[0x10000 + i] = (i * 7) & 0xff;
  const batch = desc(Opcode.BATCH, { [Desc.SRC]: list, [Desc.XFER_SIZE]: count }, { cr: 0xa000 });
  return { r, batch };
}

describe('the device\'s work budget', () => {
  it('runs a batch of 32 × 64 KiB copies over many steps with a 64 KiB budget; the next descriptor completes after it', () => {
    const { r, batch } = bigBatch({ workBudget: 0x10000 }, 32);
    r.up([0]);
    expect(r.dev.workBudget).toBe(0x10000);
    r.dev.portal(0).movdir64b(batch);
    r.dev.portal(0).movdir64b(memmove(0x10000, 0xb0000, 64, { cr: 0xa020 }));
    let steps = 0;
    let batchDoneAt = -1;
    let nextDoneAt = -1;
    while (r.dev.step()) {
      steps++;
      if (batchDoneAt < 0 && r.status(0xa000) !== 0) batchDoneAt = steps;
      if (nextDoneAt < 0 && r.status(0xa020) !== 0) nextDoneAt = steps;
      // Work in flight keeps its WQ entry.
      if (batchDoneAt < 0) expect(r.dev.occupancy(0)).toBe(2);
    }
    // 32 × (64 + 65536) bytes at 65536 per step: 33 steps for the batch, 1 for the next descriptor.
    expect(batchDoneAt).toBe(33);
    expect(nextDoneAt).toBe(34);
    expect(steps).toBe(34);
    expect(r.status(0xa000)).toBe(1);
    expect(r.mem.bytes[0x8000 + 32 * 31]).toBe(1);
    expect(Buffer.from(r.bytes(0x20000, 0x10000)).equals(Buffer.from(r.bytes(0x10000, 0x10000)))).toBe(true);
  });

  it('with the default budget (4 MiB) the same batch runs in one step; Infinity lifts the limit', () => {
    const { r, batch } = bigBatch({}, 32);
    r.up([0]);
    r.dev.portal(0).movdir64b(batch);
    expect(r.dev.runUntilIdle()).toBe(1);
    expect(r.status(0xa000)).toBe(1);
    const big = bigBatch({ workBudget: Number.POSITIVE_INFINITY }, 128);
    big.r.up([0]);
    big.r.dev.portal(0).movdir64b(big.batch);
    expect(big.r.dev.runUntilIdle()).toBe(1);
    const capped = bigBatch({}, 128);
    capped.r.up([0]);
    capped.r.dev.portal(0).movdir64b(capped.batch);
    // 128 × 64 KiB = 8 MiB (+ 8 KiB of list) at 4 MiB per step.
    expect(capped.r.dev.runUntilIdle()).toBe(3);
  });

  it('in automatic mode runs one budget inside the submission and the rest from scheduled runs', () => {
    const queue: (() => void)[] = [];
    const { r, batch } = bigBatch({ workBudget: 0x10000, mode: 'automatic', schedule: (f) => queue.push(f) }, 16);
    r.up([0]);
    r.dev.portal(0).movdir64b(batch);
    // The submission ran nothing itself (the scheduler runs the device), then each run one budget.
    let runs = 0;
    while (queue.length > 0) {
      (queue.shift() as () => void)();
      runs++;
      if (r.status(0xa000) === 0) expect(r.mem.bytes[0x8000 + 32 * Math.min(15, runs)]).toBe(0);
    }
    expect(r.status(0xa000)).toBe(1);
    // One scheduled run for the submission, then one per continuation: 17 budgets of work.
    expect(runs).toBe(17);
  });

  it('abandons a yielded descriptor on Abort WQ: nothing more of it is written, no record', () => {
    const { r, batch } = bigBatch({ workBudget: 0x10000 }, 8);
    r.up([0]);
    r.dev.portal(0).movdir64b(batch);
    expect(r.dev.step()).toBe(true);
    expect(r.dev.occupancy(0)).toBe(1);
    const before = r.bytes(0x20000, 0x80000).slice();
    expect(r.cmd(Command.ABORT_WQ, wqMaskOperand(0))).toBe(0);
    expect(r.dev.occupancy(0)).toBe(0);
    while (r.dev.step());
    expect(Buffer.from(r.bytes(0x20000, 0x80000)).equals(Buffer.from(before))).toBe(true);
    expect(r.status(0xa000)).toBe(0);
  });
});
