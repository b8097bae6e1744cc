/**
 * Every operation over memory reached only by messages gives byte for byte what it gives over
 * ordinary memory: the same status, the same memory afterwards (data, records, delta records, DIF
 * tuples), the same interrupts in the same order (each once) and the same software errors — over a
 * space that is all remote and over one that mixes remote and ordinary pages (runs then end at every
 * mapping boundary, and ordinary writes go through the transaction). Seeded descriptors of every
 * family: well-formed (overlapping MEMMOVE both ways, FILL, COMPARE, CRC with a seed address, DUALCAST,
 * delta create/apply, DIF, BATCH with element interrupts and fences, DRAIN), mutated and noise.
 */
import { describe, expect, it } from 'vitest';
import { Desc, DescriptorEngine, ExecContext, Flag, Opcode, OpFlag, PARKED, Status, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { GuestMemory, IoAddressSpace, Perm, RemoteRegion } from '../../src/memory/index.js';
import { anyDescriptor, mutated, OPCODES, wellFormed } from '../fuzz/descriptors.js';
import { MAPPABLE_END, MEM_SIZE } from '../fuzz/layout.js';
import { WatchedMemory } from '../fuzz/watched-memory.js';
import { FakePort } from '../util/fake-port.js';
import { Prng } from '../util/prng.js';
import { type ErrorRecord, RecordingErrors, RecordingInterrupts } from './harness.js';

type Layout = 'local' | 'remote' | 'mixed';

/** What one run of a descriptor came to. */
interface Outcome {
  status: number;
  memory: Uint8Array;
  raised: number[];
  errors: ErrorRecord[];
  parks: number;
}

/** One engine over one memory laid out as `layout` (identity-mapped up to MAPPABLE_END, the tail unmapped). */
class Side {
  readonly mem = new GuestMemory(MEM_SIZE);
  readonly port = new FakePort(this.mem.bytes);
  readonly engine = new DescriptorEngine();
  readonly ctx = new ExecContext();
  interrupts = new RecordingInterrupts();
  errors = new RecordingErrors();

  constructor(layout: Layout) {
    const space = new IoAddressSpace();
    const RW = Perm.RW;
    if (layout === 'local') {
      space.map(0, MAPPABLE_END, this.mem, 0, RW);
    } else if (layout === 'remote') {
      space.mapRemote(new RemoteRegion(this.port, 0, MAPPABLE_END, RW));
    } else {
      // Records ordinary, lists remote, the data area alternating every 8 KiB.
      space.map(0, 0x1000, this.mem, 0, RW);
      space.mapRemote(new RemoteRegion(this.port, 0x1000, 0x2000, RW));
      for (let a = 0x3000, k = 0; a < MAPPABLE_END; a += 0x2000, k++) {
        const n = Math.min(0x2000, MAPPABLE_END - a);
        if (k % 2 === 0) space.mapRemote(new RemoteRegion(this.port, a, n, RW));
        else space.map(a, n, this.mem, a, RW);
      }
    }
    this.ctx.space = space;
    this.ctx.pasid = 5;
    this.ctx.pasidEnabled = true;
    this.ctx.priv = true;
  }

  run(bytes: Uint8Array, d: Uint8Array): Outcome {
    this.mem.bytes.set(bytes);
    this.interrupts = new RecordingInterrupts();
    this.errors = new RecordingErrors();
    this.ctx.interrupts = this.interrupts;
    this.ctx.errors = this.errors;
    let status = this.engine.execute(d, 0, this.ctx);
    let parks = 0;
    while (status === PARKED) {
      parks++;
      const held = this.engine.takeHeld();
      if (held === null || this.port.reads.length === 0) throw new Error('parked with nothing to wait for');
      // Nothing of an unwound attempt is visible.
      expect(this.interrupts.raised.length + this.errors.reports.length).toBe(0);
      this.port.answerReads();
      status = this.engine.resume(held, this.ctx);
    }
    if (this.engine.takeHeld() !== null) {
      expect(this.interrupts.raised.length + this.errors.reports.length).toBe(0);
      this.port.settle();
    }
    expect([this.port.reads.length, this.port.writes.length]).toEqual([0, 0]);
    return { status, memory: this.mem.bytes.slice(), raised: this.interrupts.raised, errors: this.errors.reports, parks };
  }
}

function compare(layout: Layout, seed: number, count: number, make: (src: Parameters<typeof wellFormed>[0]) => Uint8Array): { parks: number; statuses: Map<number, number>; interrupts: number } {
  const r = new Prng(seed);
  const local = new Side('local');
  const other = new Side(layout);
  let parks = 0;
  let interrupts = 0;
  const statuses = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const memory = new WatchedMemory('guest', MEM_SIZE, 1, r);
    const d = make({ r, pasid: 5, handles: [1, 2, 3], memory });
    const initial = memory.bytes.slice();
    const want = local.run(initial, d);
    const got = other.run(initial, d);
    const what = `${layout} #${i} op 0x${(d[Desc.OPCODE] as number).toString(16)}`;
    expect(got.status, what).toBe(want.status);
    expect(Buffer.compare(got.memory, want.memory), `${what} memory`).toBe(0);
    expect(got.raised, `${what} interrupts`).toEqual(want.raised);
    expect(got.errors, `${what} errors`).toEqual(want.errors);
    parks += got.parks;
    interrupts += got.raised.length;
    const key = ((d[Desc.OPCODE] as number) << 8) | (want.status & 0x3f);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  return { parks, statuses, interrupts };
}

/** Successful completions of `op` seen. */
const successes = (statuses: Map<number, number>, op: number): number => statuses.get((op << 8) | Status.SUCCESS) ?? 0;

/** Crafted descriptors the generator rarely makes succeed: a valid delta record applied, overlapping copies both ways, a CRC seed read from memory. */
function crafted(src: Parameters<typeof wellFormed>[0]): Uint8Array {
  const r = src.r;
  const d = new Uint8Array(64);
  const v = new DataView(d.buffer);
  const cr = r.below(128) * 32;
  src.memory.cpuFill(cr, 32, 0);
  writeDescAddr(v, 0, Desc.CR_ADDR, cr);
  const kind = r.below(4);
  if (kind === 0) {
    // AP_DELTA of a record of increasing offsets, read from one page and applied over another.
    const size = 8 * r.range(8, 1024);
    const n = r.range(1, Math.min(40, size / 8));
    const offs = new Set<number>();
    while (offs.size < n) offs.add(r.below(size / 8));
    const rec = 0x3000 + r.below(0x3000);
    const e = new Uint8Array(n * 10);
    [...offs].sort((a, b) => a - b).forEach((o, j) => {
      e[j * 10] = o & 0xff;
      e[j * 10 + 1] = o >>> 8;
      e.set(r.bytes(8), j * 10 + 2);
    });
    src.memory.cpuWrite(rec, e);
    writeDescHeader(v, 0, Opcode.AP_DELTA, Flag.CRAV | Flag.RCR);
    writeDescAddr(v, 0, Desc.SRC, rec);
    writeDescAddr(v, 0, Desc.DST, 0x7000 + 8 * r.below(0x400));
    v.setUint32(Desc.DELTA_SIZE, n * 10, true);
    v.setUint32(Desc.XFER_SIZE, size, true);
  } else if (kind <= 2) {
    // MEMMOVE whose destination overlaps the source above (a descending copy) or below it.
    const size = r.range(1, 0x3000);
    const s0 = 0x4000 + r.below(0x2000);
    const delta = r.range(1, size) * (kind === 1 ? 1 : -1);
    writeDescHeader(v, 0, Opcode.MEMMOVE, Flag.CRAV | Flag.RCR | Flag.RCI);
    v.setUint16(Desc.INT_HANDLE, 2, true);
    writeDescAddr(v, 0, Desc.SRC, s0);
    writeDescAddr(v, 0, Desc.DST, Math.max(0x3000, s0 + delta));
    v.setUint32(Desc.XFER_SIZE, size, true);
  } else {
    // CRCGEN with its seed read from memory.
    writeDescHeader(v, 0, Opcode.CRCGEN, Flag.CRAV | Flag.RCR | OpFlag.CRC_SEED_ADDR);
    writeDescAddr(v, 0, Desc.SRC, 0x3000 + r.below(0x6000));
    writeDescAddr(v, 0, Desc.CRC_SEED_ADDR, 0x3000 + 4 * r.below(0x2000));
    v.setUint32(Desc.XFER_SIZE, r.range(1, 0x2000), true);
  }
  return d;
}

describe('remote memory gives the results of ordinary memory', () => {
  for (const layout of ['remote', 'mixed'] as const) {
    it(`${layout}: every operation, well-formed, byte for byte`, () => {
      const { parks, statuses } = compare(layout, 0x5eed_0001 + (layout === 'mixed' ? 1 : 0), 500, (src) => wellFormed(src, src.r.pick(OPCODES)));
      expect(parks).toBeGreaterThan(200);
      for (const op of [Opcode.MEMMOVE, Opcode.FILL, Opcode.COMPARE, Opcode.CRCGEN, Opcode.COPY_CRC, Opcode.DUALCAST, Opcode.CR_DELTA, Opcode.DIF_INS, Opcode.DRAIN]) {
        expect(successes(statuses, op), `successful 0x${op.toString(16)}`).toBeGreaterThan(0);
      }
    }, 60_000);

    it(`${layout}: a delta record applied, overlapping copies both ways and a CRC seed from memory, byte for byte`, () => {
      const { statuses } = compare(layout, 0x5eed_0301 + (layout === 'mixed' ? 1 : 0), 300, crafted);
      for (const op of [Opcode.AP_DELTA, Opcode.MEMMOVE, Opcode.CRCGEN]) expect(successes(statuses, op), `successful 0x${op.toString(16)}`).toBeGreaterThan(30);
    }, 60_000);

    it(`${layout}: mutated descriptors and noise, byte for byte`, () => {
      compare(layout, 0x5eed_0101 + (layout === 'mixed' ? 1 : 0), 500, (src) => (src.r.chance(0.5) ? mutated(src, src.r.pick(OPCODES)) : anyDescriptor(src).bytes));
    }, 60_000);

    it(`${layout}: batches with element interrupts raise each interrupt once, after the commit`, () => {
      const { statuses, interrupts } = compare(layout, 0x5eed_0201 + (layout === 'mixed' ? 1 : 0), 300, (src) => wellFormed(src, Opcode.BATCH));
      expect(interrupts).toBeGreaterThan(100);
      expect((statuses.get((Opcode.BATCH << 8) | Status.SUCCESS) ?? 0) + (statuses.get((Opcode.BATCH << 8) | Status.BATCH_FAIL) ?? 0)).toBeGreaterThan(50);
    }, 60_000);
  }
});
