/**
 * What `mmap` of a vdev's BAR2 hands out has exactly the power of the mapping (vidxd-device.md §7.4):
 * the bound submission, nothing that picks a PASID (`enqcmd(…, pasid)`, `enqcmds`), bypasses the
 * policy (`movdir64b`), rebinds (`bind`) or revives it (`setConnected`) — not through a cast, a
 * property walk or the prototype — and a mapping handed out before close is dead for good after it.
 */
import { describe, expect, it } from 'vitest';
import { Portal, SubmitStatus } from '../../src/dsa/index.js';
import { memmove } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, parentRig, SWQ } from './fixtures.js';

/** Every property name reachable on `o`: its own and its prototypes' (Object.prototype excluded). */
function reachableNames(o: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = o; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const n of Object.getOwnPropertyNames(p)) names.add(n);
    for (const s of Object.getOwnPropertySymbols(p)) names.add(s.toString());
  }
  return [...names].sort();
}

/** Calls `o[name](...args)` if such a method is reachable (as a VMM or an exploit would try); undefined otherwise. */
function tryCall(o: object, name: string, ...args: unknown[]): unknown {
  const f = (o as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as (...a: unknown[]) => unknown).apply(o, args) : undefined;
}

/** Index of the first byte where `a` and `b` differ, −1 when equal (fast on a MiB of guest memory). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const WIDENING = ['enqcmd', 'enqcmds', 'enqueue', 'movdir64b', 'bind', 'setConnected', 'policy', 'target', 'q'];

describe('the object mmap of a vdev\'s BAR2 returns', () => {
  it('reaches only submit and read-only facts, and holds no portal anyone can reach', () => {
    const rig = parentRig();
    for (const type of [DWQ, SWQ]) {
      const g = new Guest(rig, createVdev(rig, type).uuid).up();
      const m = g.portal(type === DWQ ? 0 : 1);
      expect(m).not.toBeInstanceOf(Portal);
      expect(reachableNames(m)).toEqual(['constructor', 'ims', 'limited', 'submit', 'wq']);
      for (const name of WIDENING) expect((m as unknown as Record<string, unknown>)[name]).toBeUndefined();
      for (const name of Object.getOwnPropertyNames(m)) {
        const v = (m as unknown as Record<string, unknown>)[name];
        expect(typeof v === 'object' || typeof v === 'function').toBe(false);
      }
    }
  });

  it('cannot run a shared vdev\'s descriptor under another vdev\'s host PASID (an ENQCMD emulated with the guest PASID)', () => {
    const rig = parentRig({ config: { groups: [{ id: 0, engines: [0, 1] }], wqs: [{ id: 0, group: 0, mode: 'shared', size: 64, mediated: true }] } });
    const a = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 5 });
    const b = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 5 });
    b.mem.bytes.fill(0xbb, 0x10000, 0x10100);
    const bImage = b.mem.bytes.slice();
    const m = a.portal(1);
    // A VMM passing the guest's PASID (here: B's host PASID) to an `enqcmd` of the mapping.
    const d = memmove(0x10000, 0x20000, 0x100, { cr: 0x30000, pasid: 5 });
    const results = [tryCall(m, 'enqcmd', d, 0, b.vdev.hostPasid), tryCall(m, 'enqueue', d, 0, b.vdev.hostPasid, false)];
    const rebound = tryCall(m, 'bind', { kind: 'fixed', pasid: b.vdev.hostPasid, priv: false });
    if (typeof rebound === 'object' && rebound !== null) results.push(tryCall(rebound, 'submit', d, 0));
    rig.dev.runUntilIdle();
    expect(firstDiff(b.mem.bytes, bImage)).toBe(-1);
    expect(results).toEqual([undefined, undefined]);
  });

  it('is dead for good after close: it cannot reconnect and never writes into the next opener\'s memory', () => {
    const rig = parentRig();
    const { uuid } = createVdev(rig, DWQ);
    const first = new Guest(rig, uuid).up({ pasid: 9, pasidEn: true });
    const stale = first.portal(0);
    expect(stale.submit(memmove(0x1000, 0x2000, 0x40, { cr: 0x3000 }))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    first.dev.close();

    const next = new Guest(rig, uuid).up({ pasid: 9, pasidEn: true });
    next.mem.bytes.fill(0x5a, 0x1000, 0x1040);
    const image = next.mem.bytes.slice();
    tryCall(stale, 'setConnected', true);
    const d = memmove(0x1000, 0x2000, 0x40, { cr: 0x3000 });
    const answers = [stale.submit(d), tryCall(stale, 'movdir64b', d, 0), tryCall(stale, 'enqcmds', d, 0)];
    rig.dev.runUntilIdle();
    expect(firstDiff(next.mem.bytes, image)).toBe(-1);
    expect(answers).toEqual([SubmitStatus.IGNORED, undefined, undefined]);
    // The next opener's own mapping works.
    expect(next.submit(d)).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect(next.status(0x3000)).toBe(1);
  });
});
