/**
 * The device thread as a Worker of its own (test/xthread/workers.test.ts): the demo's DSA model with
 * three vdevs (one dedicated, two shared on one WQ), each served by an `XthreadDeviceHost` in automatic
 * mode. It posts each VM's link and memory (the ports transferred) and, when asked, what its WQs hold.
 */
import { type MessagePort, parentPort } from 'node:worker_threads';
import { buildHost } from '../../src/cli/system.js';
import { SharedPortalSet } from '../../src/dsa/index.js';
import { DEDICATED_TYPE, SHARED_TYPE } from '../../src/vidxd/index.js';
import { xthreadVm } from './xthread-vms.js';

const sys = buildHost();
const rings = new SharedPortalSet();
const vms = ([DEDICATED_TYPE, SHARED_TYPE, SHARED_TYPE] as const).map((t, i) => xthreadVm(sys, rings, t, i));
vms[0]?.host.start();
parentPort?.postMessage(
  vms.map((v) => ({ link: v.host.link, ram: v.memory.buffer })),
  vms.flatMap((v): MessagePort[] => v.host.transfer),
);
parentPort?.on('message', (m: string) => {
  if (m !== 'report') return;
  const report = {
    occupancy: sys.dev.wqs.reduce((n, q) => n + q.occupancy, 0),
    reserved: sys.dev.wqs.map((q) => q.reserved),
    rings: rings.rings.length,
    drained: rings.rings.map((r) => r.drainedCount),
  };
  for (const v of vms) {
    v.device.close();
    v.host.close();
  }
  parentPort?.postMessage({ ...report, afterClose: { reserved: sys.dev.wqs.map((q) => q.reserved), rings: rings.rings.length } });
  parentPort?.close();
});
