/**
 * The fast path of the descriptor checks against the rule-by-rule checker. `checkDescriptor`
 * (compiled pre-check of #4/#5, per-word reserved masks of #7, shared #8–#14) must agree with
 * `checkDescriptorFull` on every descriptor: same status, same Invalid Flags, same interrupt-handle
 * calls and answer, same decoded operands. 100,000 seeded random descriptors, built to reach every
 * check (mostly well-formed, with one thing wrong at a time), in random submission contexts and
 * capability sets. Also checks that the pre-check covers the common flag patterns.
 */
import { describe, expect, it } from 'vitest';
import { checkDescriptor, checkDescriptorFull } from '../../src/dsa/engine/checks.js';
import { CompiledOps } from '../../src/dsa/engine/compiled-ops.js';
import { Frame } from '../../src/dsa/engine/frame.js';
import {
  CACHE_CONTROL_FLAGS,
  DEFAULT_ENGINE_CAPS,
  Desc,
  type EngineCaps,
  engineCaps,
  ExecContext,
  Flag,
  type InterruptSink,
  OP_SPECS,
  Opcode,
  SPR_STRICT_OPCAP,
} from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';

/** Interrupt sink that answers from a seeded rule and records every question. */
class Handles implements InterruptSink {
  readonly asked: number[] = [];
  validate(handle: number): boolean {
    this.asked.push(handle);
    return handle % 5 !== 3;
  }
  raise(): void {}
}

/** What one checker produced for one descriptor. */
interface Outcome {
  status: number;
  invalidFlags: number;
  handleState: number;
  epoch: number;
  asked: number[];
  present: number;
  slots: number[];
}

const CAPS: readonly [string, EngineCaps][] = [
  ['default (Sapphire Rapids)', DEFAULT_ENGINE_CAPS],
  [
    'every optional feature',
    engineCaps({
      crc64: true,
      fill16: true,
      drainReadback: true,
      batchContinuation: true,
      batch1: true,
      durableWrite: true,
      cacheControl3: true,
      cflushKeepLines: false,
      overlapCopy: false,
      maxTransferShift: 20,
      maxBatchShift: 5,
    }),
  ],
  ['strict OPCAP, no BOF, no cache control', engineCaps({ opcap: SPR_STRICT_OPCAP, blockOnFault: false, cacheControl: false, destinationReadback: false })],
];

const OPCODES = OP_SPECS.map((s) => s.opcode);
/** Flag patterns software actually uses, plus single generic flags and op flags. */
const COMMON_FLAGS = [
  Flag.CRAV | Flag.RCR,
  Flag.CRAV | Flag.RCR | Flag.RCI,
  Flag.CRAV,
  Flag.RCI,
  0,
  Flag.CRAV | Flag.RCR | Flag.BOF,
  Flag.CRAV | Flag.RCR | Flag.CC1,
  Flag.CRAV | Flag.RCR | Flag.CC2,
  Flag.CRAV | Flag.RCR | Flag.CC1 | Flag.CC2,
  Flag.CRAV | Flag.RCR | Flag.CHECK_RESULT,
  Flag.CRAV | Flag.RCR | Flag.FENCE,
  Flag.CRAV | Flag.RCR | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
];

function randomFlags(rng: Prng): number {
  if (rng.chance(0.5)) return rng.pick(COMMON_FLAGS.slice(0, 3));
  let flags = rng.pick(COMMON_FLAGS);
  const extra = rng.chance(0.5) ? 0 : rng.below(6);
  for (let k = 0; k < extra; k++) flags |= 1 << rng.below(rng.chance(0.7) ? 16 : 24);
  if (rng.chance(0.05)) flags = rng.u32() & 0xffffff;
  if (rng.chance(0.1)) flags &= ~(rng.chance(0.5) ? Flag.CRAV : Flag.RCR);
  return flags;
}

/** A plausible address: aligned, small, sometimes overlapping another, rarely ≥ 2^53 or odd. */
function randomAddress(rng: Prng, view: DataView, field: number): void {
  const r = rng.below(100);
  const lo = r < 70 ? rng.below(64) * 0x1000 + rng.pick([0, 0, 8, 64, 0x800]) : r < 90 ? rng.u32() & ~7 : rng.u32();
  const hi = r < 95 ? 0 : rng.pick([1, 0x1fffff, 0x200000, 0xffffffff]);
  view.setUint32(field, lo >>> 0, true);
  view.setUint32(field + 4, hi >>> 0, true);
}

/** Fills `bytes[0, 64)` with a random descriptor of `opcode` that is mostly well-formed. */
function randomDescriptor(rng: Prng, bytes: Uint8Array, opcode: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 64);
  bytes.fill(0, 0, 64);
  const flags = randomFlags(rng);
  view.setUint32(Desc.PASID_PRIV, rng.u32(), true);
  view.setUint32(Desc.FLAGS, ((flags & 0xffffff) | (opcode << 24)) >>> 0, true);
  if ((flags & Flag.CRAV) !== 0 || rng.chance(0.03)) view.setUint32(Desc.CR_ADDR, rng.below(256) * 32, true);
  for (const field of [16, 24, 40, 48]) if (rng.chance(0.6)) randomAddress(rng, view, field);
  const sizes = [1, 8, 64, 512, 520, 4096, 4104, 0x1000 * 3, 0x80000, 0x80008, 1 << 20, 0];
  view.setUint32(Desc.XFER_SIZE, rng.chance(0.9) ? rng.pick(sizes) : rng.u32(), true);
  if ((flags & Flag.RCI) !== 0 || rng.chance(0.03)) view.setUint16(Desc.INT_HANDLE, rng.below(16), true);
  // Operation-specific small fields.
  if (rng.chance(0.5)) bytes[Desc.DIF_FLAGS] = rng.below(4) | (rng.chance(0.1) ? 0x10 : 0);
  if (rng.chance(0.3)) view.setUint32(Desc.MAX_DELTA_SIZE, rng.pick([80, 88, 0x1000, 79, 1 << 21]), true);
  if (rng.chance(0.3)) view.setUint32(Desc.DELTA_SIZE, rng.pick([10, 20, 0x1000, 9, 15]), true);
  if (opcode === Opcode.BATCH && rng.chance(0.7)) {
    // A list address that is usually 64-byte aligned, and counts around the limits.
    view.setUint32(Desc.SRC, rng.below(64) * 64 + (rng.chance(0.1) ? 32 : 0), true);
    view.setUint32(Desc.XFER_SIZE, rng.pick([0, 1, 2, 16, 32, 33, 1024, 1025]), true);
  }
  // Mostly clean: the operation's statically reserved bytes cleared (so later checks are reached).
  const spec = OP_SPECS.find((x) => x.opcode === opcode);
  if (spec !== undefined && rng.chance(0.7)) for (const [from, to] of spec.reserved) bytes.fill(0, from, to + 1);
  // Every byte-level rule gets hit now and then: one random byte set.
  if (rng.chance(0.25)) bytes[rng.below(64)] = 1 << rng.below(8);
  // And sometimes a fully random descriptor.
  if (rng.chance(0.02)) {
    rng.fill(bytes.subarray(8, 64));
  }
}

function randomContext(rng: Prng, ctx: ExecContext): boolean {
  ctx.wqBlockOnFault = rng.chance(0.5);
  ctx.userInterruptsEnabled = rng.chance(0.5);
  ctx.pasidEnabled = rng.chance(0.5);
  ctx.priv = rng.chance(0.5);
  ctx.ims = rng.chance(0.5);
  ctx.pasid = rng.below(4);
  ctx.maxXferShift = rng.pick([31, 31, 20, 16, 12]);
  ctx.maxBatchShift = rng.pick([10, 5, 1]);
  return rng.chance(0.2); // a batch element
}

/** Runs `check` on `bytes` the way the engine prepares a frame (header decode of `run`). */
function outcome(f: Frame, bytes: Uint8Array, ctx: ExecContext, handles: Handles, inBatch: boolean, check: (f: Frame) => number): Outcome {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 64);
  f.own.set(bytes.subarray(0, 64));
  f.view = f.ownView;
  f.base = 0;
  f.words = f.ownWords;
  f.wbase = 0;
  f.ctx = ctx;
  f.inBatch = inBatch;
  f.batchIndex = 0;
  f.reset();
  f.slots.fill(-7); // stale values must never leak into the outcome
  const word = view.getUint32(Desc.FLAGS, true);
  f.flags = word & 0xffffff;
  f.opcode = word >>> 24;
  f.size = view.getUint32(Desc.XFER_SIZE, true);
  f.handle = view.getUint16(Desc.INT_HANDLE, true);
  f.epoch = 0;
  handles.asked.length = 0;
  const status = check(f);
  const slots: number[] = [];
  for (let slot = 0; slot < 4; slot++) {
    if ((f.present & (1 << slot)) === 0) continue;
    slots.push(slot, f.lo(slot), f.hi(slot), f.num(slot));
  }
  return {
    status,
    invalidFlags: status === 0x11 ? f.invalidFlags : 0,
    handleState: f.handleState,
    epoch: f.epoch,
    asked: [...handles.asked],
    present: f.present,
    slots,
  };
}

describe('descriptor checks: fast path = full checker', () => {
  it('agrees on 100,000 seeded random descriptors in random contexts and capability sets', () => {
    const rng = new Prng(0x5eed_fa57);
    const bytes = new Uint8Array(64);
    const handles = new Handles();
    const ctx = new ExecContext();
    ctx.interrupts = handles;
    const frames = CAPS.map(([, caps]) => {
      const ops = new CompiledOps(caps);
      return [new Frame(caps, ops), new Frame(caps, ops)] as const;
    });
    const statuses = new Map<number, number>();
    let preChecked = 0;
    for (let n = 0; n < 100_000; n++) {
      const k = n % CAPS.length;
      const [fast, full] = frames[k]!;
      const opcode = rng.chance(0.97) ? rng.pick(OPCODES) : rng.below(256);
      randomDescriptor(rng, bytes, opcode);
      const inBatch = randomContext(rng, ctx);
      const a = outcome(fast, bytes, ctx, handles, inBatch, checkDescriptor);
      const b = outcome(full, bytes, ctx, handles, inBatch, checkDescriptorFull);
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        const hex = Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
        expect({ n, caps: CAPS[k]![0], inBatch, descriptor: hex, ...a }).toEqual({ n, caps: CAPS[k]![0], inBatch, descriptor: hex, ...b });
      }
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      const row = fast.ops.rows[fast.opcode]!;
      if ((fast.flags & row.fastMask) === row.fastWant) preChecked++;
    }
    // The generator reaches success and every check of §5.1 that #4–#14 can produce.
    for (const code of [0, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1c]) {
      expect(statuses.get(code) ?? 0, `status 0x${code.toString(16)}`).toBeGreaterThan(20);
    }

    // …and most descriptors go through the pre-check rather than straight to the full checker.
    expect(preChecked).toBeGreaterThan(50_000);
  });

  it('takes the pre-check for the common flag patterns of every enabled operation', () => {
    const ops = new CompiledOps(DEFAULT_ENGINE_CAPS);
    const open = Flag.FENCE | Flag.BOF | Flag.RCI;
    for (const spec of OP_SPECS) {
      const row = ops.rows[spec.opcode]!;
      if (spec.opcode === Opcode.DRAIN) {
        expect(row.fastWant).toBe(-1); // an any-of requirement: always the full checker
        continue;
      }
      for (const flags of [Flag.CRAV | Flag.RCR, Flag.CRAV | Flag.RCR | Flag.RCI, Flag.CRAV | Flag.RCR | Flag.BOF]) {
        const allowed = (flags & Flag.BOF) === 0 || (spec.allowed & Flag.BOF) !== 0;
        if (!allowed) continue;
        expect((flags & row.fastMask) === row.fastWant, `${spec.name} 0x${flags.toString(16)}`).toBe(true);
      }
      if (spec.writesMemory && spec.opcode !== Opcode.CFLUSH) {
        // Cache control (CC1, CC2: every encoding valid in this profile) stays on the fast path.
        const flags = Flag.CRAV | Flag.RCR | (CACHE_CONTROL_FLAGS & ~Flag.CC3);
        expect((flags & row.fastMask) === row.fastWant, `${spec.name} cache control`).toBe(true);
      }
      // Fence, RCI and (where the operation allows it) BOF are left open: the conditional rules
      // examine them on the fast path.
      expect(row.fastMask & open).toBe((spec.allowed & Flag.BOF) !== 0 ? 0 : Flag.BOF);
    }
  });
});
