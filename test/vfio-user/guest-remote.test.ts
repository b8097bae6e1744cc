/**
 * The reference guest driver runs the demo's whole workload against a vdev served by `vidxd serve` in
 * another process, through a synchronous remote device (`VfioUserSyncDevice`), in each transport mode
 * this machine has: fd mode (guest memory shared by memfd, interrupts through eventfds) when the addon
 * is built, and the no-fd mode always (DMA by messages: the full workload needs the remote-memory
 * support of `VfioIoas.mapRemote`; without it the test proves bring-up over the wire and that DMA to
 * fd-less maps is refused cleanly).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checks, FAULT_PAGE, HEAP_END, MEM_SIZE, workload } from '../../src/cli/demo.js';
import { DemoRandom } from '../../src/cli/reference.js';
import { IdxdGuest, type PageFault } from '../../src/guest/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VfioIoas } from '../../src/vfio/index.js';
import { loadNative, nativeUnavailableReason, VfioUserSyncDevice } from '../../src/vfio-user/index.js';
import { type ServeProcess, socketDir, spawnServe } from './spawn.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const PAGE = 0x1000;
const hasAddon = loadNative() !== null;
const hasRemoteMemory = typeof (VfioIoas.prototype as unknown as { mapRemote?: unknown }).mapRemote === 'function';

if (!hasAddon) console.log(`vfio-user fd mode not tested here: ${nativeUnavailableReason()} (only the no-fd mode runs)`);
if (!hasRemoteMemory) console.log('vfio-user no-fd DMA workload not run: VfioIoas.mapRemote (remote memory) is not in this build');

/** Maps the whole guest memory but the page at FAULT_PAGE, which the fault hook maps. */
function mapAllButFaultPage(d: VfioUserSyncDevice): void {
  d.dmaMap({ iova: 0, size: FAULT_PAGE, offset: 0, flags: RW });
  d.dmaMap({ iova: FAULT_PAGE + PAGE, size: MEM_SIZE - FAULT_PAGE - PAGE, offset: FAULT_PAGE + PAGE, flags: RW });
}

async function runWorkload(d: VfioUserSyncDevice, index: number, completion: 'interrupt' | 'poll'): Promise<Checks> {
  const faults: PageFault[] = [];
  const checks = new Checks(() => undefined);
  const g = await IdxdGuest.open({
    device: d,
    memory: d.memory,
    heap: { iova: 0, size: HEAP_END },
    portal: 'trapped',
    completion,
    pasid: 0x100 + index,
    onPageFault: (fault) => {
      faults.push(fault);
      const page = fault.address - (fault.address % PAGE);
      if (page !== FAULT_PAGE) return false;
      d.dmaMap({ iova: page, size: PAGE, offset: page, flags: RW });
      return true;
    },
  });
  try {
    await workload(d, g, new DemoRandom(7 + index), index, faults, checks, () => undefined);
  } catch (e) {
    checks.check('the workload ran to its end', false, e instanceof Error ? e.message : String(e));
  }
  await g.close();
  return checks;
}

const failures = (c: Checks): string[] => c.list.filter((x) => !x.ok).map((x) => `${x.name}: ${x.detail}`);

describe.runIf(hasAddon)('the guest driver against a vdev served by another process, fd mode', () => {
  let serve: ServeProcess;
  let dir: string;

  beforeAll(async () => {
    dir = socketDir();
    serve = await spawnServe(['--vdevs', 'dsa-1dwq-v1:1,dsa-1swq-v1:1', '--socket-dir', dir, '--transport', 'fd']);
  }, 60_000);

  afterAll(async () => {
    expect(await serve.stop()).toBe(0);
  });

  it('runs the whole workload on the dedicated vdev with interrupt completion, every result checked', async () => {
    const d = VfioUserSyncDevice.open(join(dir, 'dsa-1dwq-v1-0.sock'), { transport: 'fd', memorySize: MEM_SIZE });
    expect(d.mode).toBe('fd');
    mapAllButFaultPage(d);
    const checks = await runWorkload(d, 0, 'interrupt');
    d.close();
    expect(failures(checks)).toEqual([]);
    expect(checks.list.length).toBeGreaterThanOrEqual(17);
    expect(serve.lines.some((l) => l.includes('eventfd(s) installed'))).toBe(true);
  }, 60_000);

  it('runs the whole workload on the shared vdev with polled completion, every result checked', async () => {
    const d = VfioUserSyncDevice.open(join(dir, 'dsa-1swq-v1-0.sock'), { transport: 'fd', memorySize: MEM_SIZE });
    mapAllButFaultPage(d);
    const checks = await runWorkload(d, 1, 'poll');
    d.close();
    expect(failures(checks)).toEqual([]);
    expect(checks.list.length).toBeGreaterThanOrEqual(17);
  }, 60_000);
});

describe('the guest driver against a vdev served by another process, no-fd mode', () => {
  let serve: ServeProcess;
  let socket: string;

  beforeAll(async () => {
    socket = join(socketDir(), 'vdev.sock');
    serve = await spawnServe(['--socket', socket, '--type', 'dsa-1dwq-v1', '--transport', 'net']);
  }, 60_000);

  afterAll(async () => {
    expect(await serve.stop()).toBe(0);
  });

  it.runIf(hasRemoteMemory)('runs the whole workload with DMA by messages, every result checked', async () => {
    const d = VfioUserSyncDevice.open(socket, { transport: 'net', memorySize: MEM_SIZE });
    mapAllButFaultPage(d);
    const checks = await runWorkload(d, 2, 'poll');
    d.close();
    expect(failures(checks)).toEqual([]);
  }, 120_000);

  it('brings the vdev up over REGION_READ/WRITE alone: the driver probes and enables it, MSI-X triggers are answered and de-assigned', async () => {
    const d = VfioUserSyncDevice.open(socket, { transport: 'net', memorySize: MEM_SIZE });
    expect(d.mode).toBe('net');
    // Interrupt completion makes the driver install MSI-X triggers at bring-up (no operation is run: none could complete).
    const g = await IdxdGuest.open({ device: d, memory: d.memory, portal: 'trapped', completion: 'interrupt' });
    expect(g.mode).toBe('dedicated');
    expect(g.wq.size).toBe(32);
    expect(g.portalMode).toBe('trapped');
    await g.close();
    d.close();
    for (let i = 0; i < 100 && !serve.lines.some((l) => l.includes('cannot interrupt')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(serve.lines.filter((l) => l.includes('cannot interrupt'))).toHaveLength(1);
    expect(serve.lines.some((l) => /IRQ index 2 vectors 0\.\.\d+: 0 eventfd\(s\) de-assigned/.test(l))).toBe(true);
  }, 60_000);
});
