/** A short seeded run of the vfio-user wire fuzzer (the long one: npm run fuzz -- --target vfio-user). */
import { describe, expect, it } from 'vitest';
import { runWireFuzz } from './vfio-user.js';

describe('the vfio-user wire fuzzer', () => {
  for (const seed of [1, 2]) {
    it(`keeps every invariant over 3,000 hostile steps (seed ${seed})`, () => {
      const result = runWireFuzz({ seed, ops: 3000 });
      expect(result.violation).toBeNull();
      expect(result.steps).toBe(3000);
      expect(result.sessions).toBeGreaterThan(20);
      // The run reached the device: commands succeeded and every kind of refusal was seen.
      expect(result.answers.get('ok cmd 9')).toBeGreaterThan(0);
      expect(result.answers.get('errno 22')).toBeGreaterThan(0);
    }, 60_000);
  }

  it('is deterministic: the same seed gives the same answers', () => {
    const a = runWireFuzz({ seed: 9, ops: 800 });
    const b = runWireFuzz({ seed: 9, ops: 800 });
    expect(a.answers.entries()).toEqual(b.answers.entries());
    expect(a.sent.entries()).toEqual(b.sent.entries());
  }, 60_000);
});
