/**
 * The engine's MEMMOVE lane against the ordered path: two engines, one with the lane and one without
 * (`memmoveLane: false`), run the same seeded descriptors on two identical memories and address
 * spaces, and must come out the same after every descriptor — status, the whole memory (data and
 * records), `crWritten` / `interruptRaised` / `errorReported`, every translation asked of the address
 * space (address, length, access, in order), every interrupt-handle question and raise, every
 * software error, every page request and destination readback. The descriptors are mostly MEMMOVEs
 * the lane may take (CR and buffers in ordinary, split, unmapped, read-only and write-only pages,
 * sizes up to the WQ limit), each with one thing wrong at a time (a flag, a reserved byte, the size,
 * an unaligned or unrepresentable address, an overlap, the privilege check), submitted in random
 * contexts with and without page requests, at aligned and unaligned buffer offsets, under several
 * capability sets (and now and then with a context that comes in cancelled); then every operation of
 * the fuzzer's hostile generators, and memory reached only by messages (parked descriptors).
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ENGINE_CAPS, Desc, DescriptorEngine, type EngineCaps, engineCaps, ExecContext, Flag, Opcode, OpFlag, PARKED, SPR_STRICT_OPCAP, Status,
  writeDescAddr, writeDescHeader,
} from '../../src/dsa/index.js';
import { type AddressSpace, DmaRun, GuestMemory, IoAddressSpace, Perm, RemoteRegion } from '../../src/memory/index.js';
import { anyDescriptor, mutated, OPCODES, wellFormed } from '../fuzz/descriptors.js';
import { MAPPABLE_END, MEM_SIZE as FUZZ_MEM } from '../fuzz/layout.js';
import { WatchedMemory } from '../fuzz/watched-memory.js';
import { FakePort } from '../util/fake-port.js';
import { Prng } from '../util/prng.js';
import { type ErrorRecord, RecordingErrors, RecordingInterrupts } from './harness.js';

const MEM = 0x20000;
/** The page the page-request service maps on request (and the test unmaps after each descriptor). */
const HOLE = 0x9000;

/** An address space that records every translation (address, length, access) and delegates. */
class RecordingSpace implements AddressSpace {
  readonly log: number[] = [];
  constructor(readonly inner: IoAddressSpace) {}
  translate(iova: number, length: number, write: boolean, out: DmaRun): number {
    const n = this.inner.translate(iova, length, write, out);
    this.log.push(iova, length, write ? 1 : 0, n);
    return n;
  }
}

/**
 * The layout both sides map: CR page, one data extent, a hole (mapped on request), a data extent
 * backed elsewhere (a run ends at its start), a read-only and a write-only page; the rest unmapped.
 */
function layout(space: IoAddressSpace, mem: GuestMemory): void {
  space.map(0x0000, 0x1000, mem, 0x0000, Perm.RW);
  space.map(0x1000, 0x8000, mem, 0x1000, Perm.RW);
  space.map(0xa000, 0x2000, mem, 0x12000, Perm.RW);
  space.map(0xc000, 0x1000, mem, 0xc000, Perm.READ);
  space.map(0xd000, 0x1000, mem, 0xd000, Perm.WRITE);
}

/** Everything one run of a descriptor did. */
interface Outcome {
  status: number;
  crWritten: boolean;
  interruptRaised: boolean;
  errorReported: boolean;
  translations: number[];
  validated: number[];
  raised: number[];
  errors: ErrorRecord[];
  requests: number[];
  readbacks: number[];
}

/** One engine with its memory, space and sinks. */
class Side {
  readonly mem = new GuestMemory(MEM);
  readonly io = new IoAddressSpace();
  readonly recording = new RecordingSpace(this.io);
  readonly engine: DescriptorEngine;
  readonly ctx = new ExecContext();
  readonly requests: number[] = [];
  readonly readbacks: number[] = [];
  interrupts = new RecordingInterrupts();
  errors = new RecordingErrors();

  constructor(caps: EngineCaps, lane: boolean, init: Uint8Array) {
    this.engine = new DescriptorEngine(caps, { memmoveLane: lane });
    this.mem.bytes.set(init);
    layout(this.io, this.mem);
  }

  run(buf: Uint8Array, off: number, c: Ctx): Outcome {
    const ctx = this.ctx;
    this.interrupts = new RecordingInterrupts();
    this.interrupts.valid = (h) => h % 3 !== 2;
    this.errors = new RecordingErrors();
    this.requests.length = 0;
    this.readbacks.length = 0;
    this.recording.log.length = 0;
    ctx.space = c.recorded ? this.recording : this.io;
    ctx.interrupts = this.interrupts;
    ctx.errors = this.errors;
    ctx.pasid = 3;
    ctx.shared = c.shared;
    ctx.priv = c.priv;
    ctx.privModeEnabled = c.privModeEnabled;
    ctx.pasidEnabled = c.pasidEnabled;
    ctx.maxXferShift = c.maxXferShift;
    ctx.wqBlockOnFault = c.wqBlockOnFault;
    ctx.userInterruptsEnabled = c.userInterruptsEnabled;
    ctx.ims = c.ims;
    ctx.prsEnabled = c.prs;
    ctx.faults = c.prs
      ? (pasid, iova, write) => {
        this.requests.push(pasid, iova, write ? 1 : 0);
        if (iova < HOLE || iova >= HOLE + 0x1000 || this.io.isMapped(HOLE, 0x1000)) return false;
        this.io.map(HOLE, 0x1000, this.mem, HOLE, Perm.RW);
        return true;
      }
      : null;
    ctx.readback = c.readback ? (pasid, opcode) => void this.readbacks.push(pasid, opcode) : null;
    ctx.cancelled = c.cancelled;
    const status = this.engine.execute(buf, off, ctx);
    // The page-request service's mapping lasts one descriptor.
    if (this.io.isMapped(HOLE, 0x1000)) this.io.unmap(HOLE, 0x1000);
    return {
      status,
      crWritten: this.engine.crWritten,
      interruptRaised: this.engine.interruptRaised,
      errorReported: this.engine.errorReported,
      translations: this.recording.log.slice(),
      validated: this.interrupts.validated,
      raised: this.interrupts.raised,
      errors: this.errors.reports,
      requests: this.requests.slice(),
      readbacks: this.readbacks.slice(),
    };
  }
}

/** A submission context. */
interface Ctx {
  recorded: boolean;
  shared: boolean;
  priv: boolean;
  privModeEnabled: boolean;
  pasidEnabled: boolean;
  maxXferShift: number;
  wqBlockOnFault: boolean;
  userInterruptsEnabled: boolean;
  ims: boolean;
  prs: boolean;
  readback: boolean;
  /** The context comes in cancelled (an embedder driving the engine with a stale flag). */
  cancelled: boolean;
}

function context(r: Prng): Ctx {
  return {
    recorded: r.chance(0.5),
    shared: r.chance(0.3),
    priv: r.chance(0.5),
    privModeEnabled: r.chance(0.7),
    pasidEnabled: r.chance(0.8),
    maxXferShift: r.chance(0.8) ? 31 : r.range(5, 16),
    wqBlockOnFault: r.chance(0.5),
    userInterruptsEnabled: r.chance(0.5),
    ims: r.chance(0.5),
    prs: r.chance(0.3),
    readback: r.chance(0.3),
    cancelled: r.chance(0.02),
  };
}

/** Flags a driver sets on a MEMMOVE the lane may take (CRAV with or without RCR, plus hints). */
const PLAIN_FLAGS = [
  Flag.CRAV | Flag.RCR,
  Flag.CRAV | Flag.RCR,
  Flag.CRAV,
  Flag.CRAV | Flag.RCR | Flag.CC1,
  Flag.CRAV | Flag.RCR | Flag.STRICT_ORDER,
  Flag.CRAV | Flag.RCR | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.CR_TCS,
  Flag.CRAV | Flag.RCR | Flag.CC1 | Flag.CC3,
];

/** A buffer address: mostly in the data extent; else near or in the split extent, the hole, the read-only or write-only page, or beyond. */
function bufferAddress(r: Prng, size: number): number {
  const k = r.below(100);
  if (k < 70) return 0x1000 + r.below(Math.max(1, 0x8000 - Math.min(size, 0x8000)));
  if (k < 76) return 0x9000 - r.range(1, 0x1000); // runs into the hole
  if (k < 82) return 0xa000 - r.range(1, 0x800); // across the split (the hole in between)
  if (k < 88) return 0xa000 + r.below(0x1800); // the split extent (then the read-only page)
  if (k < 92) return 0xc000 + r.below(0x1000); // read-only
  if (k < 95) return 0xd000 + r.below(0x1000); // write-only
  if (k < 97) return HOLE + r.below(0x1000);
  return 0xe000 + r.below(0x20000);
}

function laneSize(r: Prng): number {
  const k = r.below(100);
  if (k < 40) return r.range(1, 256);
  if (k < 80) return r.range(257, 0x2000);
  if (k < 93) return r.range(0x2001, 0x7000);
  if (k < 96) return 0;
  return r.pick([0x8000_0000, 0x8000_0001, 0xffff_ffff, 0x10_0001]);
}

/** A MEMMOVE the lane may take, then (usually) one thing changed. */
function memmove(r: Prng): Uint8Array {
  const d = new Uint8Array(64);
  const v = new DataView(d.buffer);
  const size = laneSize(r);
  writeDescHeader(v, 0, Opcode.MEMMOVE, r.pick(PLAIN_FLAGS));
  writeDescAddr(v, 0, Desc.CR_ADDR, r.chance(0.93) ? r.below(128) * 32 : r.pick([HOLE, 0xc000, 0xd000, 0xe000]) + r.below(128) * 32);
  let src = bufferAddress(r, size);
  let dst = bufferAddress(r, size);
  if (r.chance(0.1)) {
    // Overlapping buffers, the destination above or below the source.
    src = 0x2000 + r.below(0x2000);
    dst = src + r.range(-Math.min(size, 0x1000), Math.min(size, 0x1000));
  }
  writeDescAddr(v, 0, Desc.SRC, src);
  writeDescAddr(v, 0, Desc.DST, dst);
  v.setUint32(Desc.XFER_SIZE, size, true);
  if (r.chance(0.35)) mutate(r, v);
  return d;
}

/** One change that may make the descriptor invalid, faulting, or another operation's. */
function mutate(r: Prng, v: DataView): void {
  switch (r.below(12)) {
    case 0: // any flag bit, including the op-specific ones
      v.setUint32(Desc.FLAGS, v.getUint32(Desc.FLAGS, true) ^ (1 << r.below(24)), true);
      break;
    case 1: // a flag the lane leaves to the ordered path
      v.setUint32(Desc.FLAGS, v.getUint32(Desc.FLAGS, true) | r.pick([Flag.FENCE, Flag.BOF, Flag.RCI, Flag.CC2, Flag.CC2 | Flag.CC1, Flag.CHECK_RESULT, Flag.ADDR3_TCS]), true);
      if (r.chance(0.5)) v.setUint16(Desc.INT_HANDLE, r.below(8), true);
      break;
    case 2: // a reserved byte (or the interrupt handle)
      v.setUint8(r.range(36, 63), r.range(1, 255));
      break;
    case 3: // unaligned CR
      v.setUint32(Desc.CR_ADDR, v.getUint32(Desc.CR_ADDR, true) + r.range(1, 31), true);
      break;
    case 4: // an address at or above 2^53, or high bits set
      v.setUint32(r.pick([Desc.CR_ADDR, Desc.SRC, Desc.DST]) + 4, r.pick([0x20_0000, 0x1f_ffff, 0xffff_ffff, 1]), true);
      break;
    case 5: // another opcode
      v.setUint8(Desc.OPCODE, r.pick([Opcode.NOOP, Opcode.FILL, Opcode.DUALCAST, Opcode.COPY_CRC, 0x04, 0x3f, 0xff]));
      break;
    case 6: // no CRAV
      v.setUint32(Desc.FLAGS, v.getUint32(Desc.FLAGS, true) & ~Flag.CRAV, true);
      break;
    case 7: // the size at the limits
      v.setUint32(Desc.XFER_SIZE, r.pick([0, 1, 2 ** 16, 2 ** 16 + 1, 2 ** 31, 2 ** 31 + 1]), true);
      break;
    case 8: // PASID / Priv bytes (ignored by the engine)
      v.setUint32(Desc.PASID_PRIV, r.u32(), true);
      break;
    case 9: // a destination just inside or after the source (descending copy / overlap check)
      v.setUint32(Desc.DST, v.getUint32(Desc.SRC, true) + r.range(0, 64), true);
      v.setUint32(Desc.DST + 4, v.getUint32(Desc.SRC + 4, true), true);
      break;
    case 10: // a CR somewhere unusual
      v.setUint32(Desc.CR_ADDR, r.pick([HOLE, 0xc000, 0xd000, 0x1000 - 32, 0xffe0]), true);
      break;
    default: // an op-specific flag
      v.setUint32(Desc.FLAGS, v.getUint32(Desc.FLAGS, true) | r.pick([OpFlag.CRC_SEED_ADDR, 1 << 20, 1 << 23]), true);
  }
}

const CAPS: readonly [string, EngineCaps][] = [
  ['default (Sapphire Rapids)', DEFAULT_ENGINE_CAPS],
  ['no overlapping copies, 64 KiB transfers, cache control 3', engineCaps({ overlapCopy: false, maxTransferShift: 16, cacheControl3: true, durableWrite: true })],
  ['no block on fault, no cache control', engineCaps({ blockOnFault: false, cacheControl: false, destinationReadback: false })],
  ['strict OPCAP', engineCaps({ opcap: SPR_STRICT_OPCAP })],
];

/** Runs `count` descriptors from `make` on a lane engine and an ordered one; returns how many the lane completed. */
function compare(caps: EngineCaps, seed: number, count: number, make: (r: Prng) => Uint8Array): { lane: number; statuses: Map<number, number> } {
  const r = new Prng(seed);
  const init = r.bytes(MEM);
  const fast = new Side(caps, true, init);
  const ordered = new Side(caps, false, init);
  const buf = new Uint8Array(64 * 4 + 3);
  const statuses = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const d = make(r);
    // In place at a 4-byte aligned offset (read in place) or at an unaligned one (copied first).
    const off = r.chance(0.8) ? 64 * r.below(4) : r.range(1, 3) + 64 * r.below(3);
    buf.set(d, off);
    const c = context(r);
    const want = ordered.run(buf, off, c);
    const got = fast.run(buf, off, c);
    const what = `#${i} ${Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')} at ${off} in ${JSON.stringify(c)}`;
    expect(got, what).toEqual(want);
    expect(Buffer.compare(fast.mem.bytes, ordered.mem.bytes), `${what}: memory`).toBe(0);
    statuses.set(want.status, (statuses.get(want.status) ?? 0) + 1);
  }
  expect(ordered.engine.laneCount).toBe(0);
  return { lane: fast.engine.laneCount, statuses };
}

describe('the MEMMOVE lane gives what the ordered path gives', () => {
  CAPS.forEach(([name, caps], k) => {
    it(`${name}: 25,000 MEMMOVEs (plain, faulting, split, mutated) in random contexts, byte for byte`, () => {
      const { lane, statuses } = compare(caps, 0x1a9e_0001 + k, 25_000, memmove);
      if (caps.opcap === SPR_STRICT_OPCAP && (caps.opcap[0]! & (1 << Opcode.MEMMOVE)) === 0) {
        expect(lane).toBe(0);
        return;
      }
      // The lane takes the common case, and the ordered path is reached for every kind of failure.
      expect(lane).toBeGreaterThan(3_000);
      for (const st of [Status.SUCCESS, Status.PAGE_FAULT_NOBOF, Status.INVALID_FLAGS, Status.NOZERO_RESERVE, Status.XFER_ERANGE, Status.CRA_ALIGN, Status.CRA_XLAT]) {
        expect(statuses.get(st) ?? 0, `status 0x${st.toString(16)}`).toBeGreaterThan(20);
      }
      expect((statuses.get(Status.PAGE_FAULT_NOBOF | 0x80) ?? 0) + (statuses.get(Status.PAGE_FAULT_IR) ?? 0)).toBeGreaterThan(20);
    }, 120_000);
  });

  it('every operation from the hostile generators (well-formed, mutated, noise), byte for byte', () => {
    const memory = new WatchedMemory('guest', FUZZ_MEM, 1, new Prng(7));
    const { lane } = compare(DEFAULT_ENGINE_CAPS, 0x1a9e_0101, 20_000, (r) => {
      const src = { r, pasid: 3, handles: [1, 2, 3], memory };
      const k = r.below(3);
      if (k === 0) return wellFormed(src, r.pick(OPCODES));
      if (k === 1) return mutated(src, r.pick(OPCODES));
      return anyDescriptor(src).bytes;
    });
    expect(lane).toBeGreaterThan(100);
  }, 120_000);
});

describe('the MEMMOVE lane over memory reached only by messages', () => {
  /** One engine over a space mixing ordinary and remote extents (runs end at every boundary). */
  class RemoteSide {
    readonly mem = new GuestMemory(FUZZ_MEM);
    readonly port = new FakePort(this.mem.bytes);
    readonly engine: DescriptorEngine;
    readonly ctx = new ExecContext();
    constructor(lane: boolean) {
      this.engine = new DescriptorEngine(DEFAULT_ENGINE_CAPS, { memmoveLane: lane });
      const space = new IoAddressSpace();
      space.map(0, 0x1000, this.mem, 0, Perm.RW);
      for (let a = 0x1000, k = 0; a < MAPPABLE_END; a += 0x2000, k++) {
        const n = Math.min(0x2000, MAPPABLE_END - a);
        if (k % 2 === 0) space.mapRemote(new RemoteRegion(this.port, a, n, Perm.RW));
        else space.map(a, n, this.mem, a, Perm.RW);
      }
      this.ctx.space = space;
    }
    run(init: Uint8Array, d: Uint8Array): { status: number; parks: number; memory: Uint8Array } {
      this.mem.bytes.set(init);
      let status = this.engine.execute(d, 0, this.ctx);
      let parks = 0;
      while (status === PARKED) {
        parks++;
        const held = this.engine.takeHeld();
        if (held === null) throw new Error('parked with nothing held');
        this.port.answerReads();
        status = this.engine.resume(held, this.ctx);
      }
      if (this.engine.takeHeld() !== null) this.port.settle();
      return { status, parks, memory: this.mem.bytes.slice() };
    }
  }

  it('parks, resumes and commits as the ordered path does (2,000 MEMMOVEs over mixed memory)', () => {
    const r = new Prng(0x1a9e_0201);
    const fast = new RemoteSide(true);
    const ordered = new RemoteSide(false);
    let parks = 0;
    for (let i = 0; i < 2_000; i++) {
      const init = r.bytes(FUZZ_MEM);
      const d = new Uint8Array(64);
      const v = new DataView(d.buffer);
      const size = r.range(1, 0x3000);
      writeDescHeader(v, 0, Opcode.MEMMOVE, r.pick(PLAIN_FLAGS));
      writeDescAddr(v, 0, Desc.CR_ADDR, r.chance(0.5) ? r.below(128) * 32 : 0x1000 + r.below(0x200) * 32);
      writeDescAddr(v, 0, Desc.SRC, 0x1000 + r.below(MAPPABLE_END - 0x1000 - size));
      writeDescAddr(v, 0, Desc.DST, r.chance(0.9) ? 0x1000 + r.below(MAPPABLE_END - 0x1000 - size) : MAPPABLE_END - r.below(size));
      v.setUint32(Desc.XFER_SIZE, size, true);
      const want = ordered.run(init, d);
      const got = fast.run(init, d);
      expect(got.status, `#${i}`).toBe(want.status);
      expect(got.parks, `#${i} parks`).toBe(want.parks);
      expect(Buffer.compare(got.memory, want.memory), `#${i} memory`).toBe(0);
      parks += got.parks;
    }
    expect(parks).toBeGreaterThan(500);
    expect(fast.engine.laneCount).toBeGreaterThan(20);
  }, 120_000);
});
