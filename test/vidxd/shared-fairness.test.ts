/**
 * Fairness of a shared backing WQ among vdevs (vidxd-device.md §7.2): each shared vdev has an
 * occupancy limit on the WQ — by default the WQ's limited-portal room divided among the vdevs enabled
 * on it — so a vdev that floods the WQ (resubmits until retry, every round) cannot take the room its
 * neighbour needs. Rates are counts per round of a fixed schedule, never timings.
 */
import { describe, expect, it } from 'vitest';
import { Command, SubmitStatus } from '../../src/dsa/index.js';
import type { DeviceConfig } from '../../src/host/index.js';
import type { SharedLimit } from '../../src/vidxd/index.js';
import { memmove, noop } from '../dsa/device-fixtures.js';
import { type Guest, openGuest, parentRig, type ParentRig, SWQ } from './fixtures.js';

/** One shared WQ of 16 entries (threshold 16) on one engine: every shared vdev lands on it. */
const ONE_SWQ: DeviceConfig = {
  groups: [{ id: 0, engines: [0] }],
  wqs: [{ id: 0, group: 0, mode: 'shared', size: 16, mediated: true }],
};

const ROUNDS = 64;
/** Descriptors the engine runs per round. */
const STEPS = 8;
/** Descriptors the quiet vdev wants to submit per round. */
const WANT = 4;

function rig(sharedLimit?: SharedLimit): ParentRig {
  return parentRig({ config: ONE_SWQ, ...(sharedLimit === undefined ? {} : { parent: { sharedLimit } }) });
}

function up(r: ParentRig, pasid: number): Guest {
  return openGuest(r, SWQ).up({ pasid });
}

/**
 * Runs the schedule: each round the flooder (if any) submits until retry, then the quiet vdev tries
 * {@link WANT} submissions, then the device runs {@link STEPS} descriptors. Returns the quiet vdev's
 * accepted submissions and the flooder's.
 */
function schedule(r: ParentRig, quiet: Guest, flooder: Guest | null): { quiet: number; flood: number } {
  const q = quiet.portal(1);
  const f = flooder?.portal(1) ?? null;
  const qd = noop(0x8000, { pasid: 5 });
  const fd = memmove(0x1000, 0x2000, 64, { pasid: 6, cr: 0x9000 });
  let quietOk = 0;
  let floodOk = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (f !== null) {
      for (let k = 0; k < 64 && f.submit(fd, 0) === SubmitStatus.ACCEPTED; k++) floodOk++;
    }
    for (let k = 0; k < WANT; k++) if (q.submit(qd, 0) === SubmitStatus.ACCEPTED) quietOk++;
    r.dev.runUntilIdle(STEPS);
  }
  return { quiet: quietOk, flood: floodOk };
}

describe('a shared WQ among vdevs', () => {
  it('accepts a quiet vdev\'s submissions at least at half its solo rate while its neighbour floods the WQ', () => {
    const solo = rig();
    const alone = schedule(solo, up(solo, 5), null);
    expect(alone.quiet).toBe(ROUNDS * WANT);

    const shared = rig();
    const quiet = up(shared, 5);
    const flooder = up(shared, 6);
    const both = schedule(shared, quiet, flooder);
    expect(both.quiet).toBeGreaterThanOrEqual(alone.quiet / 2);
    // The flooder still gets the rest of the engine's work: the limit does not idle the WQ.
    expect(both.quiet + both.flood).toBeGreaterThanOrEqual(ROUNDS * STEPS - 16);
  });

  it('gives the flooder every slot and its neighbour nothing with the limit off (sharedLimit: none)', () => {
    const r = rig('none');
    const quiet = up(r, 5);
    const flooder = up(r, 6);
    expect(schedule(r, quiet, flooder).quiet).toBe(0);
  });

  it('divides the limited-portal room among the vdevs enabled on the WQ, rounding up', () => {
    const r = rig();
    const a = up(r, 5);
    const fa = memmove(0x1000, 0x2000, 64, { pasid: 5 });
    // Alone: the whole WQ (16).
    let n = 0;
    while (a.portal(1).submit(fa, 0) === SubmitStatus.ACCEPTED) n++;
    expect(n).toBe(16);
    r.dev.runUntilIdle();
    // Three enabled: ceil(16 / 3) = 6 each.
    const b = up(r, 6);
    up(r, 7);
    n = 0;
    while (a.portal(1).submit(fa, 0) === SubmitStatus.ACCEPTED) n++;
    expect(n).toBe(6);
    expect(r.dev.occupancy(0, a.vdev.hostPasid)).toBe(6);
    // The vdev's own WQCFG occupancy reads its entries.
    expect(a.r32(0x500 + 24) & 0xffff).toBe(6);
    r.dev.runUntilIdle();
    // b disables its WQ: two enabled, 8 each.
    b.cmd(Command.DISABLE_WQ, 1);
    n = 0;
    while (a.portal(1).submit(fa, 0) === SubmitStatus.ACCEPTED) n++;
    expect(n).toBe(8);
  });

  it('takes a fixed per-vdev limit from the parent', () => {
    const r = rig(3);
    const a = up(r, 5);
    const fa = memmove(0x1000, 0x2000, 64, { pasid: 5 });
    let n = 0;
    while (a.portal(1).submit(fa, 0) === SubmitStatus.ACCEPTED) n++;
    expect(n).toBe(3);
    // Executing frees the vdev's room again.
    r.dev.runUntilIdle(2);
    expect(a.portal(1).submit(fa, 0)).toBe(SubmitStatus.ACCEPTED);
    expect(a.portal(1).submit(fa, 0)).toBe(SubmitStatus.ACCEPTED);
    expect(a.portal(1).submit(fa, 0)).toBe(SubmitStatus.RETRY);
  });

  it('refuses a bad limit with a plain Error', () => {
    expect(() => rig(0)).toThrow(/sharedLimit/);
    expect(() => rig(1.5)).toThrow(/sharedLimit/);
  });

  it('frees an aborted or removed vdev\'s room', () => {
    const r = rig();
    const a = up(r, 5);
    const b = up(r, 6);
    const fa = memmove(0x1000, 0x2000, 64, { pasid: 5 });
    let n = 0;
    while (a.portal(1).submit(fa, 0) === SubmitStatus.ACCEPTED) n++;
    expect(n).toBe(8);
    // The guest's ABORT (Abort WQ on the virtual WQ) drops its entries: its whole room is back.
    expect(a.cmd(Command.ABORT_WQ, 1) & 0xff).toBe(0);
    expect(r.dev.occupancy(0)).toBe(0);
    n = 0;
    while (a.portal(1).submit(fa, 0) === SubmitStatus.ACCEPTED) n++;
    expect(n).toBe(8);
    // b goes away: a alone has the whole WQ.
    b.dev.close();
    n = 0;
    while (a.portal(1).submit(fa, 0) === SubmitStatus.ACCEPTED) n++;
    expect(n).toBe(8);
  });
});
