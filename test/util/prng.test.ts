import { describe, expect, it } from 'vitest';
import { Prng } from './prng.js';

describe('seeded PRNG', () => {
  it('produces the same sequence for the same seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    for (let i = 0; i < 100; i++) expect(a.u32()).toBe(b.u32());
  });

  it('produces different sequences for different seeds', () => {
    const a = new Prng(1);
    const b = new Prng(2);
    const same = Array.from({ length: 16 }, () => a.u32() === b.u32()).filter(Boolean).length;
    expect(same).toBeLessThan(2);
  });

  it('keeps below(n) inside [0, n)', () => {
    const p = new Prng(7);
    for (let i = 0; i < 10_000; i++) {
      const v = p.below(13);
      expect(v >= 0 && v < 13).toBe(true);
    }
  });
});
