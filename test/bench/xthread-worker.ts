/**
 * The guest vCPU of the `xthread.*` bench rows, in a Worker: it maps the vdev's portal page through
 * the device thread (a cross-thread ring), then for each request submits `n` copies of a descriptor —
 * a credit grant's worth at a time, with one `submitMany` or one `submit` each, waiting for a credit
 * when none is left (a posted write to a full dedicated WQ would be dropped) —
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
  /** Submit each credit's worth with one `submitMany` (true) or one `submit` per descriptor (false). */
  readonly many: boolean;
}

const dev = new XthreadGuestDevice((workerData as { link: XthreadLink }).link);
const portal = dev.mmap(regionOffset(VFIO_PCI_BAR2_REGION_INDEX), 0x1000);

/** The descriptor repeated, for `submitMany` (sized for the largest credit grant seen). */
let copies = new Uint8Array(0);
let copiesOf: Uint8Array | null = null;

parentPort?.on('message', ({ n, desc, many }: XthreadBenchRequest) => {
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
    if (many) {
      if (copiesOf !== desc || copies.length < k * 64) {
        copies = new Uint8Array(Math.max(k, 256) * 64);
        for (let i = 0; i < copies.length; i += 64) copies.set(desc, i);
        copiesOf = desc;
      }
      // Fewer than k when another claimer took credits in between: the rest go round again.
      const took = portal.submitMany(copies, 0, k);
      left -= took;
    } else {
      for (let i = 0; i < k; i++) if (portal.submit(desc, 0) !== SubmitStatus.ACCEPTED) throw new Error('cross-thread submission not accepted');
      left -= k;
    }
  }
  if (!portal.waitCompleted(portal.lastTicket, 10_000)) throw new Error('cross-thread descriptors did not complete');
  parentPort?.postMessage(performance.now() - t0);
});
parentPort?.postMessage('ready');
