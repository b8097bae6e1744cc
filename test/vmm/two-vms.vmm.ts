/**
 * Check 4: two VMs at once. One `vidxd serve --vdevs dsa-1swq-v1:2` process serves two vdevs of one
 * parent (both on its shared WQ); two QEMU processes attach to them and run the workload concurrently,
 * each with its own data and fill pattern but the same guest PASID. A descriptor run in the other VM's
 * address space would read the other VM's bytes or write into the other VM, and each guest checks
 * every buffer against its own data (and a sentinel region the device was never given). Run in plain
 * mode (both VMs' DMA interleaved as messages in the one server) and, with the addon, in fd mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Booted, transportTests, workloadTests } from './checks.js';
import { failureContext, fields, guestResult, runVm, type Server, type VmRun } from './rig.js';
import { chrootSockets, fdSupport, serveMany, type Transport } from './serve.js';

const VMS = [
  { name: 'a', pattern: 'a5a5a5a5a5a5a5a5', seed: 0x1111 },
  { name: 'b', pattern: '5a5a5a5a5a5a5a5a', seed: 0x2222 },
] as const;
/** Each guest runs the workload at least this often and for at least this long (boots differ by a few seconds). */
const ITERATIONS = 4;
const SECONDS = 12;
const fd = await fdSupport();

for (const transport of ['plain', 'fd'] as const satisfies readonly Transport[]) {
  describe.skipIf(transport === 'fd' && !fd.available)(`two VMs · two dsa-1swq-v1 vdevs of one parent · one vidxd serve · ${transport} mode`, () => {
    let server: Server | undefined;
    const boots: Booted[] = VMS.map(() => ({}));
    const served: Booted = {};
    beforeAll(async () => {
      server = await serveMany(`two-vms-${transport}`, 'dsa-1swq-v1:2', transport);
      served.server = server;
      const sockets = chrootSockets(server);
      if (sockets.length !== 2) throw new Error(`vidxd serve printed ${sockets.length} sockets, expected 2:\n${server.tail()}`);
      const runs = await Promise.all(VMS.map((v, i) => runVm({
        name: `two-vms-${transport}-${v.name}`, socket: sockets[i] as string, type: 'dsa-1swq-v1', access: 'sysfs',
        sharedMemory: transport === 'fd', params: { pattern: v.pattern, seed: v.seed, iters: ITERATIONS, seconds: SECONDS },
      })));
      runs.forEach((vm, i) => { Object.assign(boots[i] as Booted, { vm, server }); });
    });
    afterAll(async () => {
      await server?.stop();
    });

    transportTests(served, transport);
    VMS.forEach((v, i) => {
      describe(`VM ${v.name}`, () => {
        workloadTests(boots[i] as Booted, false);
        it(`its fill destination held its own pattern 0x${v.pattern} in every round`, () => {
          const b = boots[i] as Booted;
          const f = fields(guestResult(b.vm, b.server, 'fill').detail);
          expect(f.get('pattern')).toBe(`0x${v.pattern}`);
          expect(Number(f.get('runs'))).toBeGreaterThanOrEqual(ITERATIONS);
        });
      });
    });

    it('the two workloads ran at the same time', () => {
      const [a, b] = boots.map((x) => x.vm) as [VmRun | undefined, VmRun | undefined];
      const window = (vm: VmRun | undefined): [number, number] => {
        const start = guestResult(vm, server, 'bringup');
        const end = guestResult(vm, server, 'compare-differ');
        return [(vm as VmRun).startedAt + start.at, (vm as VmRun).startedAt + end.at];
      };
      const [as, ae] = window(a);
      const [bs, be] = window(b);
      const overlap = Math.min(ae, be) - Math.max(as, bs);
      const bus = boots.map((x) => fields(guestResult(x.vm, server, 'dma-memory').detail).get('bus'));
      const rounds = boots.map((x) => fields(guestResult(x.vm, server, 'memmove').detail).get('runs'));
      console.log(`two VMs (${transport}): workload windows ${ae - as} ms and ${be - bs} ms (${rounds.join(' and ')} rounds), overlapping ${overlap} ms; DMA buffers at bus addresses ${bus.join(' and ')}`);
      expect(overlap, failureContext(a, server)).toBeGreaterThan(1000);
    });
  });
}
