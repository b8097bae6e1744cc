/**
 * Guest vCPUs in Workers, the whole DSA model with its vdevs in this thread: the reference guest
 * driver runs the demo's workload of each of the three VMs (one dedicated, two shared vdevs on one WQ)
 * in its own Worker, submitting through cross-thread portals, every result checked — with the
 * device stepped by the guests' cpu_relax (deterministic) and running by itself (automatic). And a
 * Worker terminated in the middle of a submission leaves the device consistent.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_PAGE, MEM_SIZE } from '../../src/cli/demo.js';
import { buildHost, type HostSystem } from '../../src/cli/system.js';
import { SharedPortal, SharedPortalSet, Status } from '../../src/dsa/index.js';
import { IdxdGuest } from '../../src/guest/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import {
  regionOffset, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_PCI_BAR2_REGION_INDEX, type VfioDevice, VfioIoas,
} from '../../src/vfio/index.js';
import { DEDICATED_TYPE, SHARED_TYPE } from '../../src/vidxd/index.js';
import { XthreadDeviceHost } from '../../src/xthread/index.js';
import type { XthreadGuestData } from '../util/xthread-guest-worker.js';
import { noop } from '../dsa/device-fixtures.js';
import { ensureBuilt, ROOT } from '../vfio-user/build.js';
import type { Portal } from '../../src/dsa/index.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const PAGE = 0x1000;
let workerFile = '';

beforeAll(() => {
  ensureBuilt();
  workerFile = join(ROOT, 'build', 'test', 'util', 'xthread-guest-worker.js');
});

interface Vm {
  readonly uuid: string;
  readonly device: VfioDevice<Portal>;
  readonly memory: GuestMemory;
  readonly host: XthreadDeviceHost;
}

/** A VM whose memory is a SharedArrayBuffer, mapped 1:1 but for the fault page (mapped when the guest asks), served to a Worker. */
function vm(sys: HostSystem, rings: SharedPortalSet, type: string, i: number): Vm {
  const uuid = `3b0ad1a5-0000-4000-8000-${(i + 1).toString(16).padStart(12, '0')}`;
  sys.bus.create(sys.parent.typeId(type as typeof DEDICATED_TYPE), uuid);
  const device = sys.bus.open(uuid);
  const memory = new GuestMemory(MEM_SIZE, true);
  const ioas = new VfioIoas();
  ioas.map({ iova: 0, size: FAULT_PAGE, memory, offset: 0, flags: RW });
  ioas.map({ iova: FAULT_PAGE + PAGE, size: MEM_SIZE - FAULT_PAGE - PAGE, memory, offset: FAULT_PAGE + PAGE, flags: RW });
  device.attachIoas(ioas);
  let mapped = false;
  const host = new XthreadDeviceHost({
    device,
    rings,
    step: () => sys.dev.step(),
    runUntilIdle: (max) => sys.dev.runUntilIdle(max),
    calls: {
      mapPage: (page) => {
        if (page !== FAULT_PAGE || mapped) return false;
        ioas.map({ iova: FAULT_PAGE, size: PAGE, memory, offset: FAULT_PAGE, flags: RW });
        mapped = true;
        return true;
      },
    },
  });
  return { uuid, device, memory, host };
}

interface WorkerResult {
  readonly checks: { name: string; ok: boolean; detail: string }[];
  readonly shared: boolean;
  readonly faults: number;
  readonly descriptors: number;
  readonly completed: number;
}

function runGuest(v: Vm, data: Omit<XthreadGuestData, 'link' | 'ram'>): Promise<WorkerResult> {
  const w = new Worker(workerFile, { workerData: { ...data, link: v.host.link, ram: v.memory.buffer as SharedArrayBuffer }, transferList: v.host.transfer });
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
    const results = await Promise.all(vms.map((v, index) => runGuest(v, { kind: 'workload', index, mode, completion })));
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
    const ringA = rings.add(a.device.mmap(regionOffset(VFIO_PCI_BAR2_REGION_INDEX) + PAGE, PAGE));
    const wq = sys.dev.wqs[1];
    expect(ringA.portal.queue).toBe(wq);
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
