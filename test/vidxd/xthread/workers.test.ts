/**
 * Guest vCPUs in Workers, the whole DSA model with its vdevs in this thread or in a Worker of its own:
 * the reference guest driver runs the demo's workload of each of the three VMs (one dedicated, two
 * shared vdevs on one WQ) in its own Worker, submitting through cross-thread portals, every result
 * checked — with the device stepped by the guests' cpu_relax (deterministic) and running by itself
 * (automatic). And a Worker terminated in the middle of a submission leaves the device consistent.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHost, type HostSystem } from '../../../src/cli/system.js';
import { SharedPortal, SharedPortalSet, Status } from '../../../src/dsa/index.js';
import { IdxdGuest } from '../../../src/guest/index.js';
import { regionOffset, VFIO_PCI_BAR2_REGION_INDEX } from '../../../src/vfio/index.js';
import { DEDICATED_TYPE, SHARED_TYPE, type VdevTypeName } from '../../../src/vidxd/index.js';
import type { XthreadLink } from '../../../src/vidxd/xthread/index.js';
import { boundPortalOf } from '../../../src/vidxd/portals.js';
import type { XthreadGuestData } from '../../util/xthread-guest-worker.js';
import { type XthreadVm, xthreadVm } from '../../util/xthread-vms.js';
import { noop } from '../../dsa/device-fixtures.js';
import { ensureBuilt, ROOT } from '../../vfio-user/build.js';

const PAGE = 0x1000;
let workerFile = '';

beforeAll(() => {
  ensureBuilt();
  workerFile = join(ROOT, 'build', 'test', 'util', 'xthread-guest-worker.js');
});

type Vm = XthreadVm;
const vm = (sys: HostSystem, rings: SharedPortalSet, type: string, i: number): Vm => xthreadVm(sys, rings, type as VdevTypeName, i);

interface WorkerResult {
  readonly checks: { name: string; ok: boolean; detail: string }[];
  readonly shared: boolean;
  readonly faults: number;
  readonly descriptors: number;
  readonly completed: number;
}

function runGuest(v: { link: XthreadLink; ram: SharedArrayBuffer }, data: Omit<XthreadGuestData, 'link' | 'ram'>): Promise<WorkerResult> {
  const w = new Worker(workerFile, { workerData: { ...data, link: v.link, ram: v.ram }, transferList: [v.link.port, v.link.irqPort] });
  return new Promise((resolve, reject) => {
    w.once('message', (m: WorkerResult) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`guest worker exited with ${code}`)));
  });
}

const failures = (r: WorkerResult): string[] => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
const TYPES = [DEDICATED_TYPE, SHARED_TYPE, SHARED_TYPE];

describe.each([
  ['stepped by the guests\' cpu_relax (deterministic), completions by interrupt', 'poll', 'interrupt'],
  ['running by itself (automatic, woken by the doorbells), completions by polling the records', 'auto', 'poll'],
] as const)('three guest Workers on one DSA model in this thread, %s', (_name, mode, completion) => {
  let sys: HostSystem;
  let vms: Vm[] = [];
  afterAll(() => {
    for (const v of vms) v.host.close();
  });

  it('run the reference driver\'s workload through cross-thread portals with every check passing', async () => {
    sys = buildHost();
    const rings = new SharedPortalSet();
    vms = TYPES.map((t, i) => vm(sys, rings, t, i));
    if (mode === 'auto') vms[0]?.host.start();
    const results = await Promise.all(vms.map((v, index) => runGuest({ link: v.host.link, ram: v.memory.buffer as SharedArrayBuffer }, { kind: 'workload', index, mode, completion })));
    for (const r of results) {
      expect(failures(r)).toEqual([]);
      expect(r.checks.length).toBeGreaterThan(10);
      expect(r.shared).toBe(true);
      expect(r.faults).toBeGreaterThan(0);
      expect(r.descriptors).toBeGreaterThan(10);
      // Every descriptor submitted through the ring was drained and is no longer in the device.
      expect(r.completed).toBe(r.descriptors);
    }
    for (const v of vms) {
      expect(v.host.mapped.length).toBe(1);
      expect(v.host.mapped[0]?.dead).toBe(false);
    }
    expect(sys.dev.wqs.every((q) => q.occupancy === 0 && q.reserved >= 0)).toBe(true);
  }, 120_000);
});

describe('the whole DSA model in a Worker of its own, three guest vCPUs in three more', () => {
  it('run the reference driver\'s workload through cross-thread portals with every check passing; closing the vdevs kills the rings and returns every reservation', async () => {
    const device = new Worker(join(ROOT, 'build', 'test', 'util', 'xthread-device-worker.js'));
    try {
      const links = await new Promise<{ link: XthreadLink; ram: SharedArrayBuffer }[]>((resolve, reject) => {
        device.once('message', resolve);
        device.once('error', reject);
      });
      expect(links.length).toBe(3);
      const results = await Promise.all(links.map((l, index) => runGuest(l, { kind: 'workload', index, mode: 'auto', completion: 'interrupt' })));
      for (const r of results) {
        expect(failures(r)).toEqual([]);
        expect(r.checks.length).toBeGreaterThan(10);
        expect(r.completed).toBe(r.descriptors);
      }
      const report = await new Promise<{ occupancy: number; rings: number; drained: number[]; afterClose: { reserved: number[]; rings: number } }>((resolve) => {
        device.once('message', resolve);
        device.postMessage('report');
      });
      expect([report.occupancy, report.rings]).toEqual([0, 3]);
      expect(report.drained).toEqual(results.map((r) => r.descriptors));
      expect(report.afterClose.rings).toBe(0);
      expect(report.afterClose.reserved.every((n) => n === 0)).toBe(true);
    } finally {
      await device.terminate();
    }
  }, 120_000);
});

describe('a guest Worker terminated mid-submission', () => {
  it('leaves its half-written slot unexecuted; its committed slots ran; closing its vdev returns the WQ entries to the other vdev on the WQ', async () => {
    const sys = buildHost();
    const rings = new SharedPortalSet();
    const a = vm(sys, rings, SHARED_TYPE, 0);
    const b = vm(sys, rings, SHARED_TYPE, 1);
    const poll = (): boolean => sys.dev.step();
    const ga = await IdxdGuest.open({ device: a.device, memory: a.memory, poll, pasid: 0x100 });
    const gb = await IdxdGuest.open({ device: b.device, memory: b.memory, poll, pasid: 0x101 });
    // The device thread maps A's portal page as a ring (what the guest's mmap call does through the host).
    const ringA = rings.add(boundPortalOf(a.device.mmap(regionOffset(VFIO_PCI_BAR2_REGION_INDEX) + PAGE, PAGE)));
    const wq = sys.dev.wqs[1];
    expect(ringA.queue).toBe(wq);
    const crs = [0x8000, 0x8020];
    const w = new Worker(workerFile, {
      workerData: {
        kind: 'tear', link: a.host.link, ram: a.memory.buffer as SharedArrayBuffer, index: 0, mode: 'poll', completion: 'poll', ring: ringA.buffer,
        descs: crs.map((cr) => noop(cr, { pasid: 0x100 })),
      } satisfies XthreadGuestData,
      transferList: a.host.transfer,
    });
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    await w.terminate();
    // The two committed slots run; the torn one (ticket 2) is never executed.
    expect(rings.drain()).toBe(2);
    sys.dev.runUntilIdle();
    rings.publish();
    expect(crs.map((cr) => a.memory.bytes[cr])).toEqual([Status.SUCCESS, Status.SUCCESS]);
    expect([rings.drain(), sys.dev.runUntilIdle(), wq?.occupancy]).toEqual([0, 0, 0]);
    expect(new SharedPortal(ringA.buffer).completed).toBe(2);
    // Its reservation still holds the WQ's free entries for it: B's in-process portal is refused by the threshold.
    expect(wq?.reserved).toBeGreaterThan(0);
    // The guest is gone: the VMM closes and removes its vdev; the ring dies and gives the entries back.
    a.device.close();
    a.host.close();
    rings.remove(ringA);
    expect([ringA.dead, wq?.reserved, wq?.occupancy]).toEqual([true, 0, 0]);
    sys.bus.remove(a.uuid);
    const src = gb.heap.alloc(4096);
    const dst = gb.heap.alloc(4096);
    b.memory.bytes.fill(0x5b, src, src + 4096);
    expect((await gb.memmove(dst, src, 4096)).status).toBe(Status.SUCCESS);
    expect(b.memory.bytes[dst + 4095]).toBe(0x5b);
    await gb.close();
    await ga.close().catch(() => undefined);
    b.host.close();
  });
});
