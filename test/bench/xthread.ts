/**
 * Cross-thread section of the bench: a guest vCPU in a Worker submits through a cross-thread portal
 * (a shared ring of the vdev's mapped page) while this thread — the device thread, on the other core —
 * runs the DSA model with its vdev in automatic mode, woken by the ring's doorbell. Measured in
 * alternating batches against the same work in one thread:
 * - `xthread.noop`: NOOP descriptors per second, submitted by the Worker one `submit` each and
 *   completed (the Worker waits for the last record), against `portal.noop` measured here on an
 *   identical rig (in-process mapped portal, run to idle after each WQ's worth). Goal ≥ 0.5×. Each
 *   submission's commit waits for its slot's cache line to come back from the device thread's core, so
 *   this row follows the machine's core-to-core latency (docs/workers.md, "Submitting in batches").
 * - `xthread.noop.batch`: the same with each credit grant handed over in one `submitMany`, as the
 *   in-process baseline submits a WQ's worth before it runs. Goal ≥ 0.5× as well.
 * - `xthread.memmove.64k`: 64 KiB MEMMOVEs the `xthread.noop` way, against `copyWithin` on the same
 *   shared guest memory (reported).
 */
import { Worker } from 'node:worker_threads';
import { Opcode } from '../../src/dsa/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VfioIoas } from '../../src/vfio/index.js';
import { XthreadDeviceHost } from '../../src/vidxd/xthread/index.js';
import { CR, descriptor, DST, MEM, SRC, submitter } from './portal.js';
import { BenchGuest, DEDICATED_CONFIG, DWQ, nextUuid, rig } from './rig.js';
import { type BenchRow, row } from './timing.js';

/** A dedicated vdev brought up by the device thread, its memory a SharedArrayBuffer. */
function vdev(): { r: ReturnType<typeof rig>; guest: BenchGuest; mem: GuestMemory } {
  const r = rig(DEDICATED_CONFIG);
  const uuid = nextUuid();
  r.bus.create(DWQ, uuid);
  const guest = new BenchGuest(r.bus, uuid, 0);
  const mem = new GuestMemory(MEM, true);
  const ioas = new VfioIoas();
  ioas.map({ iova: 0, size: MEM, memory: mem, offset: 0, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE });
  guest.dev.attachIoas(ioas);
  guest.up(false);
  return { r, guest, mem };
}

/** `body` as milliseconds per call of `n` (the in-process baseline, as `portal.noop` runs it). */
function timed(body: (n: number) => void): (n: number) => number {
  return (n) => {
    const t0 = performance.now();
    body(n);
    return performance.now() - t0;
  };
}

/** Rows of the cross-thread section. */
export async function xthreadSection(): Promise<BenchRow[]> {
  const x = vdev();
  const host = new XthreadDeviceHost({ device: x.guest.dev, step: () => x.r.dev.step(), runUntilIdle: (max) => x.r.dev.runUntilIdle(max) });
  host.start();
  const worker = new Worker(new URL('./xthread-worker.js', import.meta.url), { workerData: { link: host.link }, transferList: host.transfer });
  let failed: unknown = null;
  worker.on('error', (e) => { failed = e; });
  const ask = (n: number, desc: Uint8Array, many: boolean): Promise<number> => new Promise((resolve, reject) => {
    if (failed !== null) reject(failed);
    worker.once('message', (m: number | string) => (failed === null ? resolve(typeof m === 'number' ? m : Number.NaN) : reject(failed)));
    worker.postMessage({ n, desc, many });
  });
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));
  const base = vdev();
  const basePortal = base.guest.portal(0);
  const rows: BenchRow[] = [];
  try {
    const measure = async (desc: Uint8Array, many: boolean, n: number, rounds: number, baseline: (n: number) => number): Promise<[number, number]> => {
      let best = 0;
      let bestBase = 0;
      await ask(n, desc, many); // warm-up
      baseline(n);
      for (let k = 0; k < rounds; k++) {
        best = Math.max(best, (n * 1000) / (await ask(n, desc, many)));
        bestBase = Math.max(bestBase, (n * 1000) / baseline(n));
      }
      return [best, bestBase];
    };
    const noop = descriptor(Opcode.NOOP, 0);
    const inProcess = timed(submitter(base.r, basePortal, noop));
    const [xNoop, pNoop] = await measure(noop, false, 200_000, 8, inProcess);
    if (x.mem.bytes[CR] !== 1 || (base.guest.mem ?? base.mem).bytes[CR] !== 1) throw new Error('NOOP did not succeed');
    rows.push(row('xthread.noop', xNoop, 'desc/s', pNoop));
    x.mem.bytes[CR] = 0;
    const [xBatch, pBatch] = await measure(noop, true, 200_000, 8, inProcess);
    if (x.mem.bytes[CR] !== 1) throw new Error('NOOP did not succeed');
    rows.push(row('xthread.noop.batch', xBatch, 'desc/s', pBatch));
    const bytes = x.mem.bytes;
    for (let i = 0; i < 1 << 16; i++) bytes[SRC + i] = (i * 31 + 7) & 0xff;
    x.mem.bytes[CR] = 0;
    const size = 65536;
    const [xMove, copy] = await measure(descriptor(Opcode.MEMMOVE, size), false, 2000, 8, (n) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) bytes.copyWithin(DST, SRC, SRC + size);
      return performance.now() - t0;
    });
    if (x.mem.bytes[CR] !== 1 || bytes[DST + 12345] !== bytes[SRC + 12345]) throw new Error('MEMMOVE through the cross-thread portal did not succeed');
    rows.push(row('xthread.memmove.64k', (xMove * size) / 1e9, 'GB/s', (copy * size) / 1e9));
  } finally {
    await worker.terminate();
    host.close();
  }
  return rows;
}
