/**
 * Hostile descriptors: 100,000 seeded random 64-byte descriptors never throw, never touch memory
 * outside their PASID's writable mappings, and always produce a status code of the spec.
 */
import { describe, expect, it } from 'vitest';
import { DescriptorEngine, engineCaps, ExecContext, isStatusCode, type SoftwareError } from '../../src/dsa/index.js';
import { GuestMemory, Iommu, Perm } from '../../src/memory/index.js';
import { Prng } from '../util/prng.js';

const OPS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x20];
const CODES_SWERR_ONLY = new Set([0x1a, 0x1b, 0x1d]);

describe('hostile descriptors', () => {
  it('100,000 random descriptors: no exception, no write outside PASID A, only spec status codes', () => {
    const prng = new Prng(0xbadd5a);
    const mem = new GuestMemory(0x40000);
    // PASID A: [0, 0x8000) RW, [0x8000, 0xc000) read-only, [0xc000, 0x10000) write-only.
    // PASID B owns memory [0x20000, 0x40000) at IOVA 0x20000 (not mapped for A).
    const iommu = new Iommu();
    const a = iommu.create(1);
    a.map(0, 0x8000, mem, 0, Perm.RW);
    a.map(0x8000, 0x4000, mem, 0x8000, Perm.READ);
    a.map(0xc000, 0x4000, mem, 0xc000, Perm.WRITE);
    iommu.create(2).map(0x20000, 0x20000, mem, 0x20000, Perm.RW);
    prng.fill(mem.bytes);
    const guarded = mem.bytes.slice(0x8000); // read-only, beyond, and PASID B's memory
    const guardedReadOnly = mem.bytes.slice(0x8000, 0xc000);
    const engines = [new DescriptorEngine(), new DescriptorEngine(engineCaps({ fill16: true, crc64: true, drainReadback: true, batchContinuation: true, batch1: true, overlapCopy: false, cacheControl3: true }))];
    const ctx = new ExecContext();
    ctx.space = a;
    ctx.pasid = 1;
    ctx.maxBatchShift = 3;
    ctx.maxXferShift = 16;
    ctx.interrupts = { validate: (h) => h < 8, raise: () => {} };
    let swerrBad = 0;
    ctx.errors = { report: (e: SoftwareError) => { if (!isStatusCode(e.code)) swerrBad++; } };
    const desc = new Uint8Array(64 * 4);
    const v = new DataView(desc.buffer);
    const addr = (): number => {
      const r = prng.below(10);
      if (r < 6) return prng.below(0x10000);
      if (r < 8) return 0x20000 + prng.below(0x20000);
      return prng.u32() + (prng.chance(0.5) ? prng.u32() * 0x1_0000_0000 : 0);
    };
    const seen = new Set<number>();
    for (let i = 0; i < 100_000; i++) {
      const off = 64 * prng.below(4);
      if (prng.chance(0.25)) {
        prng.fill(desc.subarray(off, off + 64));
      } else {
        desc.fill(0, off, off + 64);
        // Plausible descriptors: a real opcode, mostly-valid flags, addresses near the mappings.
        const op = prng.pick(OPS);
        let flags = prng.chance(0.8) ? 0x0c : prng.u32() & 0x0f;
        if (prng.chance(0.2)) flags |= 1 << prng.below(24);
        if (prng.chance(0.1)) flags |= 0x10;
        v.setUint32(off + 4, ((flags & 0xffffff) | (op << 24)) >>> 0, true);
        v.setUint32(off + 8, (prng.chance(0.9) ? 32 * prng.below(0x10000 / 32) : prng.u32()) >>> 0, true);
        for (const f of [16, 24, 40, 48]) {
          if (prng.chance(0.7)) {
            const x = addr();
            v.setUint32(off + f, x % 0x1_0000_0000, true);
            v.setUint32(off + f + 4, Math.floor(x / 0x1_0000_0000) >>> 0, true);
          }
        }
        v.setUint32(off + 32, prng.chance(0.8) ? prng.below(0x3000) : prng.u32(), true);
        if (prng.chance(0.3)) v.setUint8(off + 42, prng.below(16));
        if (prng.chance(0.3)) v.setUint32(off + 40, prng.below(0x1000), true);
        if (prng.chance(0.3)) v.setUint32(off + 48, prng.below(0x1000), true);
        if ((flags & 0x10) !== 0) v.setUint16(off + 36, prng.below(12), true);
        if (op === 0x01 && prng.chance(0.7)) {
          // A 64-byte aligned list (random garbage or earlier descriptors) of a legal count.
          v.setUint32(off + 16, 64 * prng.below(0x10000 / 64), true);
          v.setUint32(off + 20, 0, true);
          v.setUint32(off + 32, 2 + prng.below(7), true);
        }
      }
      ctx.priv = prng.chance(0.5);
      ctx.shared = prng.chance(0.3);
      ctx.wqBlockOnFault = prng.chance(0.3);
      ctx.prsEnabled = prng.chance(0.2);
      ctx.faults = prng.chance(0.5) ? () => false : null;
      const engine = engines[i & 1]!;
      const st = engine.execute(desc, off, ctx);
      expect(isStatusCode(st & 0x3f), `descriptor ${i} status ${st}`).toBe(true);
      expect(st & 0x40).toBe(0);
      if (engine.crWritten) expect(CODES_SWERR_ONLY.has(st & 0x3f)).toBe(false);
      seen.add(st & 0x3f);
    }
    expect(swerrBad).toBe(0);
    // Read-only memory, unmapped memory and PASID B's memory were never written.
    expect(mem.bytes.subarray(0x8000, 0xc000)).toEqual(guardedReadOnly);
    expect(mem.bytes.subarray(0x10000)).toEqual(guarded.subarray(0x8000));
    // The run exercised a wide range of outcomes.
    for (const code of [0x01, 0x03, 0x05, 0x06, 0x10, 0x11, 0x12, 0x13, 0x16, 0x1a, 0x1b]) expect(seen.has(code), `code ${code}`).toBe(true);
  });
});
