import { describe, expect, it } from 'vitest';
import { Prng } from '../util/prng.js';
import { specFunction } from './fixtures.js';

const WRITES = 100_000;
const SIZES = [1, 2, 4] as const;

describe('random guest writes (seeded)', () => {
  it('never change a read-only bit, never set an RW1C bit and never break either chain', () => {
    const rng = new Prng(0x5eed_0002);
    const { fn, msix } = specFunction({ withPm: true });
    const c = fn.config;
    msix.setDelivery(() => true);
    const size = c.size;
    let checkedPieces = 0;
    for (let n = 0; n < WRITES; n++) {
      const width = rng.pick(SIZES);
      // Half the writes land where the header and capabilities are; a few go past the end.
      const offset = rng.chance(0.5) ? rng.below(0x140) : rng.range(-4, size + 4);
      const value = rng.u32();
      const lo = Math.max(0, offset);
      const hi = Math.min(size, offset + width);
      const before: number[] = [];
      for (let b = lo; b < hi; b++) before.push(c.read(b, 1));
      c.write(offset, width, value);
      for (let b = lo; b < hi; b++) {
        const old = before[b - lo] as number;
        const now = c.read(b, 1);
        const ro = ~(c.writeMask(b, 1) | c.w1cMask(b, 1) | c.dynamicMask(b, 1)) & 0xff;
        if (((now ^ c.resetValue(b, 1)) & ro) !== 0) {
          expect.fail(`write #${n} (${width} bytes at 0x${offset.toString(16)}) changed read-only bits of 0x${b.toString(16)}`);
        }
        if ((now & ~old & c.w1cMask(b, 1)) !== 0) {
          expect.fail(`write #${n} (${width} bytes at 0x${offset.toString(16)}) set an RW1C bit of 0x${b.toString(16)}`);
        }
        checkedPieces++;
      }
      if (n % 1000 === 999) {
        const problems = fn.validate();
        if (problems.length > 0) expect.fail(`after write #${n}: ${problems.join('; ')}`);
      }
    }
    expect(fn.validate()).toEqual([]);
    expect(checkedPieces).toBeGreaterThan(WRITES);
    // Writable state did change along the way: the test exercised more than read-only bytes.
    expect(c.read(0x11c, 4)).not.toBe(0);
  });
});
