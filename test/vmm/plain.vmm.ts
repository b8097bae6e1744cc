/**
 * Checks 1 and 2 in plain mode (no file descriptors: DMA by DMA_READ/DMA_WRITE, no interrupts): for
 * each device type, one Linux guest under QEMU enumerates the device and runs the user-space driver
 * with no kernel driver (sysfs BARs, DMA to guest-physical addresses).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { type Booted, enumerationTests, transportTests, type VmType, workloadTests } from './checks.js';
import { runVm } from './rig.js';
import { chrootSockets, serveOne } from './serve.js';

const TYPES: readonly VmType[] = ['dsa-1dwq-v1', 'dsa-1swq-v1', 'pf'];

for (const type of TYPES) {
  describe(`plain mode · ${type} · guest without a kernel driver`, () => {
    const b: Booted = {};
    beforeAll(async () => {
      b.server = await serveOne(`plain-${type}`, type, 'plain');
      const [socket] = chrootSockets(b.server);
      b.vm = await runVm({ name: `plain-${type}`, socket: socket as string, type, access: 'sysfs', sharedMemory: false });
    });
    afterAll(async () => {
      await b.server?.stop();
    });
    enumerationTests(b, type);
    transportTests(b, 'plain');
    workloadTests(b, false);
  });
}
