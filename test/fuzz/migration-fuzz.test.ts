/**
 * The migration stream fuzzer (test/fuzz/migration.ts) in the suite: a short seeded run breaks no
 * invariant (no exception but EINVAL, a refusal leaves ERROR and, after a VFIO reset, a fresh vdev;
 * an accepted stream runs and resets to a fresh vdev) and reaches every mutation with both outcomes
 * where both are possible. `npm run fuzz -- --target migration` runs a million streams.
 */
import { describe, expect, it } from 'vitest';
import { runMigrationFuzz } from './migration.js';

describe('the migration stream fuzzer', () => {
  it('2,000 streams with seed 1 break no invariant, and every mutation is refused somewhere, the valid streams accepted', () => {
    const r = runMigrationFuzz({ seed: 1, streams: 2000 });
    expect(r.violation).toBeNull();
    const names = ['bit flip', 'bit flip, CRC sealed', 'truncation', 'trailing bytes', 'record splice', 'field sweep', 'other type', 'random bytes'];
    for (const n of names) expect(r.outcomes.get(`${n} refused`), n).toBeGreaterThan(0);
    expect(r.outcomes.get('valid accepted')).toBeGreaterThan(0);
    expect(r.outcomes.get('valid refused')).toBe(0);
    // Some mutations keep a stream acceptable (a sweep to a value as good as the original).
    expect(r.outcomes.get('field sweep accepted') + r.outcomes.get('bit flip, CRC sealed accepted')).toBeGreaterThan(0);
  });

  it('is the same run for the same seed', () => {
    const a = runMigrationFuzz({ seed: 7, streams: 300 });
    const b = runMigrationFuzz({ seed: 7, streams: 300 });
    expect([...b.outcomes.entries()]).toEqual([...a.outcomes.entries()]);
  });
});
