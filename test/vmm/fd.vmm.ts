/**
 * Check 3, fd mode (the server passes and receives file descriptors): guest RAM is
 * memory-backend-memfd,share=on, so QEMU's DMA maps carry fds and the device reaches guest memory
 * through its own mappings, and MSI-X vectors become eventfds QEMU injects into the guest. Per device
 * type two boots: the driver-less guest of plain mode (DMA to guest-physical addresses through the
 * mapped RAM), and a guest that binds vfio-pci behind a virtual IOMMU (QEMU intel-iommu) and waits on
 * its MSI-X eventfds (and sees the vfio-msix counters of /proc/interrupts move).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Booted, transportTests, type VmType, workloadTests } from './checks.js';
import { runVm } from './rig.js';
import { chrootSockets, fdSupport, serveOne } from './serve.js';

const TYPES: readonly VmType[] = ['dsa-1dwq-v1', 'dsa-1swq-v1', 'pf'];
const fd = await fdSupport();

describe('fd mode availability', () => {
  it(`the fd transport is ${fd.available ? 'available' : 'NOT available'} (${fd.why})`, () => {
    if (!fd.available && process.env.VIDXD_VMM_REQUIRE_FD === '1') throw new Error(`VIDXD_VMM_REQUIRE_FD=1 but ${fd.why}`);
  });
});

for (const type of TYPES) {
  for (const access of ['sysfs', 'vfio'] as const) {
    const what = access === 'sysfs' ? 'guest without a kernel driver' : 'guest vfio-pci behind intel-iommu, MSI-X';
    describe.skipIf(!fd.available)(`fd mode · ${type} · ${what}`, () => {
      const b: Booted = {};
      beforeAll(async () => {
        b.server = await serveOne(`fd-${access}-${type}`, type, 'fd');
        const [socket] = chrootSockets(b.server);
        b.vm = await runVm({ name: `fd-${access}-${type}`, socket: socket as string, type, access, sharedMemory: true });
      });
      afterAll(async () => {
        await b.server?.stop();
      });
      transportTests(b, 'fd');
      workloadTests(b, access === 'vfio');
    });
  }
}
