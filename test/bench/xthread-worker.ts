/**
 * The guest vCPU of the `xthread.*` bench rows, in a Worker: it maps the vdev's portal page through
 * the device thread (a cross-thread ring), then for each request submits `n` copies of a descriptor —
 * waiting for a credit when none is left (a posted write to a full dedicated WQ would be dropped) —
 * waits with `Atomics.wait` for the last one to complete, and answers with the elapsed milliseconds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SubmitStatus } from '../../src/dsa/index.js';
import { regionOffset, VFIO_PCI_BAR2_REGION_INDEX } from '../../src/vfio/index.js';
import { XthreadGuestDevice, type XthreadLink } from '../../src/vidxd/xthread/index.js';

/** One measurement request. */
export interface XthreadBenchRequest {
  /** Descriptors to submit. */
  readonly n: number;
  /** The descriptor. */
  readonly desc: Uint8Array;
}

const dev = new XthreadGuestDevice((workerData as { link: XthreadLink }).link);
const portal = dev.mmap(regionOffset(VFIO_PCI_BAR2_REGION_INDEX), 0x1000);

parentPort?.on('message', ({ n, desc }: XthreadBenchRequest) => {
  const t0 = performance.now();
  // As a driver counts its WQ's free entries: read the credits, submit that many, read again.
  let left = n;
  let spins = 0;
  while (left > 0) {
    const c = portal.credits;
    if (c <= 0) {
      if (++spins > 2000) portal.waitCompleted((portal.completed + 1) | 0, 1);
      continue;
    }
    spins = 0;
    const k = c < left ? c : left;
    for (let i = 0; i < k; i++) if (portal.submit(desc, 0) !== SubmitStatus.ACCEPTED) throw new Error('cross-thread submission not accepted');
    left -= k;
  }
  if (!portal.waitCompleted(portal.lastTicket, 10_000)) throw new Error('cross-thread descriptors did not complete');
  parentPort?.postMessage(performance.now() - t0);
});
parentPort?.postMessage('ready');
