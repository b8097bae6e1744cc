/**
 * The fuzz harness as a test: 20,000 steps on each of two seeds break no invariant and reach every
 * kind of action and the interesting device answers; the same seed gives the same run.
 */
import { describe, expect, it } from 'vitest';
import { ACTIONS } from './actions/index.js';
import { runFuzz } from './run.js';

describe.each([0x5eed_f001, 0x5eed_f002])('20,000 fuzz steps with seed %i', (seed) => {
  it('break no invariant and reach every action kind and the device answers that matter', () => {
    const result = runFuzz({ seed, ops: 20_000 });
    expect(result.violation).toBeNull();
    expect(result.steps).toBe(20_000);
    const s = result.stats;
    for (const a of ACTIONS) expect(s.actions.get(a.name), a.name).toBeGreaterThan(0);
    expect(s.executed).toBeGreaterThan(1000);
    for (const answer of ['CMDSTS 0x00', 'CR 0x01', 'CR 0x03', 'CR 0x19', 'submit accepted', 'submit retry', 'descriptors aborted']) {
      expect(s.device.get(answer), answer).toBeGreaterThan(0);
    }
    for (const errno of ['EINVAL', 'EBADF', 'EBUSY', 'ENOTTY']) expect(s.errors.get(errno), errno).toBeGreaterThan(0);
  });
});

describe('a fuzz run', () => {
  it('is the same run for the same seed', () => {
    const a = runFuzz({ seed: 7, ops: 3000 });
    const b = runFuzz({ seed: 7, ops: 3000 });
    expect(b.stats.device.entries()).toEqual(a.stats.device.entries());
    expect(b.stats.actions.entries()).toEqual(a.stats.actions.entries());
    expect(b.stats.executed).toBe(a.stats.executed);
  });
});
