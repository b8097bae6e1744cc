/**
 * A guest vCPU in a Worker (test/xthread/workers.test.ts): the reference guest driver over an
 * `XthreadGuestDevice`, its portal a cross-thread ring, running the demo's workload of VM `index`
 * (every result checked) and posting the checks back. Or, for the teardown test, a raw submitter that
 * keeps writing slots until it is terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Checks, FAULT_PAGE, HEAP_END, workload } from '../../src/cli/demo.js';
import { DemoRandom } from '../../src/cli/reference.js';
import { SharedPortal, SharedPortalWord } from '../../src/dsa/index.js';
import { IdxdGuest, type PageFault } from '../../src/guest/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { XthreadGuestDevice, type XthreadLink } from '../../src/vidxd/xthread/index.js';

/** What the test hands the worker. */
export interface XthreadGuestData {
  /** `workload`: run VM `index`'s workload; `tear`: write half a slot, say so, and spin until terminated. */
  readonly kind: 'workload' | 'tear';
  /** The device thread's link. */
  readonly link: XthreadLink;
  /** The guest memory. */
  readonly ram: SharedArrayBuffer;
  /** VM index (0 dedicated, 1 and 2 shared). */
  readonly index: number;
  /** `poll`: the driver's cpu_relax asks the device thread for a round; `auto`: the device runs by itself. */
  readonly mode: 'poll' | 'auto';
  /** How the driver detects completions. */
  readonly completion: 'interrupt' | 'poll';
  /** `tear`: the ring buffer to write into. */
  readonly ring?: SharedArrayBuffer;
  /** `tear`: descriptors to submit (and complete) before the torn slot. */
  readonly descs?: readonly Uint8Array[];
}

const PAGE = 0x1000;

async function runWorkload(d: XthreadGuestData): Promise<void> {
  const dev = new XthreadGuestDevice(d.link);
  const memory = new GuestMemory(d.ram);
  const faults: PageFault[] = [];
  const checks = new Checks(() => undefined);
  const g = await IdxdGuest.open({
    device: dev,
    memory,
    heap: { iova: 0, size: HEAP_END },
    completion: d.completion,
    pasid: 0x100 + d.index,
    ...(d.mode === 'poll' ? { poll: () => dev.poll() } : {}),
    onPageFault: (fault) => {
      faults.push(fault);
      const page = fault.address - (fault.address % PAGE);
      return page === FAULT_PAGE && dev.request('mapPage', page) === true;
    },
  });
  const shared = dev.portals.length === 1 && dev.portals[0] instanceof SharedPortal;
  try {
    await workload({ memory }, g, new DemoRandom(7 + d.index), d.index, faults, checks, () => undefined);
  } catch (e) {
    checks.check('the workload ran to its end', false, e instanceof Error ? e.message : String(e));
  }
  const stats = g.stats;
  await g.close();
  parentPort?.postMessage({ checks: checks.list, shared, faults: faults.length, descriptors: stats.descriptors, completed: dev.portals[0]?.completed ?? -1 });
  dev.close();
}

function tear(d: XthreadGuestData): void {
  const ring = d.ring as SharedArrayBuffer;
  const portal = new SharedPortal(ring);
  for (const desc of d.descs ?? []) if (portal.submit(desc, 0) !== 0) throw new Error('a submission before the torn one was not accepted');
  const h = new Int32Array(ring, 0, 64);
  // As a submission does: a credit and a ticket claimed, then the slot written — half of it — and never committed.
  Atomics.sub(h, SharedPortalWord.CREDITS, 1);
  const t = Atomics.add(h, SharedPortalWord.TAIL, 1);
  const slots = Atomics.load(h, SharedPortalWord.SLOTS);
  const ringAt = ring.byteLength - slots * 64;
  new Uint8Array(ring).fill(0xee, ringAt + (t & (slots - 1)) * 64, ringAt + (t & (slots - 1)) * 64 + 32);
  parentPort?.postMessage('torn');
  const spin = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(spin, 0, 0, 1000);
}

const data = workerData as XthreadGuestData;
if (data.kind === 'tear') tear(data);
else void runWorkload(data);
