/**
 * How completions reach the driver: the completion interrupt through a callback trigger or an EventFd,
 * or the polled completion record; with the VMM's poll hook stepping a deterministic model, or with
 * a model that runs by itself (synchronously or from a scheduler) and no hook at all.
 */
import { describe, expect, it } from 'vitest';
import { DsaDevice, dsaProfile } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { PARENT_CONFIG, type ParentRig } from '../vidxd/fixtures.js';
import { Prng } from '../util/prng.js';
import { DWQ, openVm, SWQ } from './fixtures.js';

/** The test parent with an automatic-mode model run from `schedule` (default: at once). */
function automaticRig(schedule?: (run: () => void) => void): ParentRig {
  const dev = new DsaDevice({ profile: dsaProfile(), mode: 'automatic', schedule });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(PARENT_CONFIG);
  const parent = new VidxdParent(host);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  return { dev, host, parent, bus };
}

/** Runs a few operations concurrently and checks their results. */
async function exercise(vm: Awaited<ReturnType<typeof openVm>>): Promise<void> {
  const src = vm.g.heap.alloc(0x4000);
  new Prng(31).fill(vm.at(src, 0x4000));
  const dst = vm.g.heap.alloc(0x4000);
  const rs = await Promise.all([0, 1, 2, 3].map((i) => vm.g.memmove(dst + 0x1000 * i, src + 0x1000 * i, 0x1000)));
  expect(rs.map((r) => r.status)).toEqual([1, 1, 1, 1]);
  expect(vm.at(dst, 0x4000)).toEqual(vm.at(src, 0x4000));
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('completion on a %s vdev', (_m, type) => {
  it('by interrupt through callback triggers: one interrupt per descriptor on the completion vector', async () => {
    const vm = await openVm(type);
    expect(vm.g.completion).toBe('interrupt');
    await exercise(vm);
    expect(vm.g.stats.interrupts).toEqual([0, 4]);
    expect(vm.g.stats.ops.memmove?.interrupts).toBe(4);
  });

  it('by interrupt through EventFds the driver services while it waits', async () => {
    const vm = await openVm(type, { triggers: 'eventfd' });
    expect(vm.g.eventfds).toHaveLength(2);
    await exercise(vm);
    expect(vm.g.stats.interrupts).toEqual([0, 4]);
  });

  it('by polling the completion record: no completion interrupt is requested', async () => {
    const vm = await openVm(type, { completion: 'poll' });
    await exercise(vm);
    expect(vm.g.stats.interrupts).toEqual([0, 0]);
    expect(vm.g.interruptHandles).toEqual([0, 0]);
  });

  it.each(['interrupt', 'poll'] as const)('by %s, without a poll hook, on a model that runs at submission', async (completion) => {
    const vm = await openVm(type, { rig: automaticRig(), poll: undefined, completion });
    await exercise(vm);
  });

  it.each(['interrupt', 'poll'] as const)('by %s, without a poll hook, on a model run from a scheduler', async (completion) => {
    const vm = await openVm(type, { rig: automaticRig((run) => setImmediate(run)), poll: undefined, completion });
    await exercise(vm);
    expect(vm.g.stats.interrupts[1]).toBe(completion === 'interrupt' ? 4 : 0);
  });
});
