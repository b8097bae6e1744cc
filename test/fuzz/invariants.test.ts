/**
 * Every invariant of the fuzz harness can fail: a fault planted behind the harness's back (a
 * changed canary byte, an interrupt nobody caused, a read-only bit flipped, a descriptor queued
 * around the portal, a foreign translation, a bad record, a leaked handle, a wrong errno) is
 * reported as a violation of the right invariant.
 */
import { describe, expect, it } from 'vitest';
import { Opcode } from '../../src/dsa/index.js';
import { VfioError } from '../../src/vfio/index.js';
import { checkBar0ReadOnly, checkFresh, checkRecordSlots, validCrStatus } from './checks.js';
import { Fuzzer } from './fuzzer.js';
import { write32 } from './actions/common.js';
import { wellFormed } from './descriptors.js';
import { isOpen } from './guest.js';
import { checkSpecConstants, bar0ConstantMask, configConstantMask } from './spec-masks.js';
import { Tally } from './stats.js';
import { type InvariantName, Violation } from './violation.js';

/** The invariant `body` breaks (undefined: none). */
function broken(body: () => void): InvariantName | undefined {
  try {
    body();
  } catch (e) {
    if (e instanceof Violation) return e.invariant;
    throw e;
  }
  return undefined;
}

/** A fuzzer a few hundred steps in, with an open vdev to plant faults in. */
function warm(): { f: Fuzzer; g: NonNullable<ReturnType<Fuzzer['openGuest']>> } {
  const f = new Fuzzer({ seed: 99, vdevs: 4 });
  f.run(300);
  const g = f.openGuest();
  if (g === null) throw new Error('no open vdev after warm-up');
  return { f, g };
}

describe('the fuzz invariants', () => {
  it('memory: a canary byte or a vdev memory byte changed without DMA is reported', () => {
    const { f, g } = warm();
    expect(broken(() => f.checks.memories())).toBeUndefined();
    f.canary.bytes[0x123] = (f.canary.bytes[0x123] as number) ^ 1;
    expect(broken(() => f.checks.memories())).toBe('memory');
    f.canary.bytes[0x123] = (f.canary.bytes[0x123] as number) ^ 1;
    g.memory.bytes[0xc010] = (g.memory.bytes[0xc010] as number) ^ 0x80;
    expect(broken(() => f.checks.memories())).toBe('memory');
  });

  it('interrupt: a trigger moving for a vdev outside its own action or descriptor is reported', () => {
    const { f, g } = warm();
    f.actor = null;
    g.fds[1]?.signal();
    expect(broken(() => f.stepChecked())).toBe('interrupt');
  });

  it('read-only: a flipped read-only register bit is reported by the table check and the spec check', () => {
    const { g } = warm();
    expect(broken(() => checkBar0ReadOnly(g))).toBeUndefined();
    const d = 0x20 >>> 2; // WQCAP
    g.vdev.regs.value[d] = ((g.vdev.regs.value[d] as number) ^ 0x1) >>> 0;
    expect(broken(() => checkBar0ReadOnly(g))).toBe('read-only');
    expect(broken(() => checkSpecConstants(g, bar0ConstantMask(g.mode, g.vectors), configConstantMask()))).toBe('read-only');
  });

  it('occupancy: a descriptor queued with a vdev\'s PASID around its portal is reported', () => {
    const { f, g } = warm();
    f.runUntilIdle();
    expect(broken(() => f.checks.occupancy(Float64Array.from(f.rig.dev.wqs, (w) => w.tailSeq)))).toBeUndefined();
    const wq = f.rig.dev.wqs[g.wq];
    if (wq === undefined) throw new Error('no WQ');
    // Straight into the backing WQ with the vdev's host PASID, as if a portal had leaked it.
    const d = wellFormed({ r: f.r, pasid: 0, handles: [], memory: f.scrap }, Opcode.NOOP);
    if (wq.dedicated) wq.post(d, 0, true);
    else wq.enqueue(d, 0, g.hostPasid, false, false, true);
    expect(g.vdev.occupancy).toBe(1);
    expect(broken(() => f.checks.occupancy(Float64Array.from(f.rig.dev.wqs, (w) => w.tailSeq)))).toBe('occupancy');
  });

  it('isolation: a translation under another PASID while a descriptor runs is reported', () => {
    const { f, g } = warm();
    f.runUntilIdle();
    g.handle?.attachIoas(g.ioas);
    const space = f.rig.iommu.space(g.hostPasid);
    expect(space).not.toBeNull();
    const d = wellFormed({ r: f.r, pasid: 0, handles: [], memory: f.rig.hostMemory }, Opcode.NOOP);
    f.rig.hostPortal.submit(d, 0);
    f.hostExpected++;
    f.rig.dev.onProgress(() => space?.translate(0x3000, 8, false, { bytes: new Uint8Array(0), offset: 0 }));
    f.actor = null;
    expect(broken(() => f.runUntilIdle())).toBe('isolation');
  });

  it('completion-record: a record slot written with an invalid status is reported, a valid one counted', () => {
    const { g } = warm();
    const tally = new Tally();
    const m = g.memory;
    m.bytes.fill(0, 0x40, 0x60);
    m.bytes[0x40] = 0x83;
    expect(broken(() => checkRecordSlots(m, 0x40, 32, tally))).toBeUndefined();
    expect(tally.get('CR 0x83')).toBe(1);
    m.accept(0x40, 32);
    m.bytes[0x40] = 0x86;
    expect(broken(() => checkRecordSlots(m, 0x40, 32, tally))).toBe('completion-record');
    expect([0x00, 0x1a, 0x1b, 0x1d, 0x41, 0x99, 0x2f].filter(validCrStatus)).toEqual([]);
    expect([0x01, 0x05, 0x13, 0x19, 0x1f, 0x83, 0x84].every(validCrStatus)).toBe(true);
  });

  it('reset: a vdev that differs from a fresh one is reported', () => {
    const { g } = warm();
    if (!isOpen(g)) throw new Error('closed');
    g.handle.reset();
    expect(broken(() => checkFresh(g, 'reset', g.handle.irqStatus(2).triggers))).toBeUndefined();
    write32(g.handle, 0, 0x88, 1);
    expect(broken(() => checkFresh(g, 'reset', g.handle.irqStatus(2).triggers))).toBe('reset');
  });

  it('handles: an interrupt-handle entry no vdev holds is reported', () => {
    const { f } = warm();
    expect(broken(() => f.checks.handles())).toBeUndefined();
    f.rig.host.allocInterruptHandle(() => {}, null);
    expect(broken(() => f.checks.handles())).toBe('handles');
  });

  it('exception: an errno the call may not answer, or any other exception, is reported', () => {
    const { f } = warm();
    expect(f.call('x', ['EINVAL'], () => {
      throw new VfioError('EINVAL', 'allowed');
    })).toBeUndefined();
    expect(broken(() => f.call('x', ['EINVAL'], () => {
      throw new VfioError('EBUSY', 'not allowed');
    }))).toBe('exception');
    expect(broken(() => f.call('x', ['EINVAL'], () => {
      throw new RangeError('not a VfioError');
    }))).toBe('exception');
  });
});
