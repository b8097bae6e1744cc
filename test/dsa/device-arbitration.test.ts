/** Engines take work from their group's WQs by priority arbitration, deterministically. */
import { describe, expect, it } from 'vitest';
import { noop, rig } from './device-fixtures.js';

/** Fills WQ `q` (dedicated) with `n` NOOPs whose records land at `base + 32·i`. */
function fill(r: ReturnType<typeof rig>, q: number, n: number, base: number): void {
  for (let i = 0; i < n; i++) r.dev.portal(q).movdir64b(noop(base + 32 * i));
}

/** Which WQ each step served, told by the records that appeared. */
function serveOrder(r: ReturnType<typeof rig>, steps: number, bases: readonly number[], n: number): number[] {
  const order: number[] = [];
  const done = bases.map(() => 0);
  for (let s = 0; s < steps; s++) {
    r.dev.step();
    bases.forEach((b, q) => {
      let k = 0;
      while (k < n && r.status(b + 32 * k) === 1) k++;
      if (k > (done[q] as number)) {
        order.push(q);
        done[q] = k;
      }
    });
  }
  return order;
}

describe('priority arbitration', () => {
  it('serves two busy WQs with priorities 6 and 2 in one group 3:1', () => {
    const r = rig().pciUp().group(0, [0, 1], [0]).dwq(0, 32, { priority: 6 }).dwq(1, 32, { priority: 2 }).up([0, 1]);
    fill(r, 0, 32, 0x10000);
    fill(r, 1, 32, 0x20000);
    const order = serveOrder(r, 32, [0x10000, 0x20000], 32);
    expect(order.length).toBe(32);
    expect(order.filter((q) => q === 0).length).toBe(24);
    expect(order.slice(0, 8)).toEqual([0, 1, 0, 1, 0, 0, 0, 0]);
  });

  it('a WQ without work gives its turn away', () => {
    const r = rig().pciUp().group(0, [0, 1], [0]).dwq(0, 32, { priority: 1 }).dwq(1, 32, { priority: 15 }).up([0, 1]);
    fill(r, 0, 4, 0x10000);
    expect(serveOrder(r, 4, [0x10000, 0x20000], 4)).toEqual([0, 0, 0, 0]);
  });

  it('engines of different groups take turns, each from its own group', () => {
    const r = rig().pciUp().group(0, [0], [0]).group(1, [1], [1]).dwq(0, 8).dwq(1, 8).up([0, 1]);
    fill(r, 0, 3, 0x10000);
    fill(r, 1, 3, 0x20000);
    expect(serveOrder(r, 6, [0x10000, 0x20000], 3)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('a group without enabled WQs never runs, and step() reports that nothing ran', () => {
    const r = rig().pciUp().group(0, [0], [0]).group(1, [1], [1]).dwq(0, 8).dwq(1, 8).up([0]);
    expect(r.dev.step()).toBe(false);
    expect(r.dev.idle).toBe(true);
    fill(r, 0, 1, 0x10000);
    expect(r.dev.idle).toBe(false);
    expect(r.dev.step()).toBe(true);
  });
});
