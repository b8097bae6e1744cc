/**
 * The reference driver under a VMM that behaves like QEMU (test/vfio/qemu-like-vmm.ts): the VMM
 * emulates the guest's MSI-X table and message control, never forwards them, and installs its own
 * triggers with SET_IRQS. The whole workload completes by interrupt on both vdev types and on the PF,
 * though the device's own MSI-X capability stays disabled and masked throughout (vfio-uapi.md §5.4,
 * vidxd-device.md §8.1); a halt is recovered from by a function-level reset through config space.
 */
import { describe, expect, it } from 'vitest';
import { refCrc32c, refDelta, refDifInsert, refFill, sameBytes, DemoRandom } from '../../src/cli/reference.js';
import { DsaDevice } from '../../src/dsa/index.js';
import { IdxdGuest, type PageFault } from '../../src/guest/index.js';
import { GuestMemory, PAGE_SIZE } from '../../src/memory/index.js';
import type { MsixCapability } from '../../src/pci/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_PCI_MSIX_IRQ_INDEX, type VfioDevice, VfioIoas } from '../../src/vfio/index.js';
import { pfVfioOps } from '../../src/vidxd/index.js';
import { VfioDevice as Device } from '../../src/vfio/index.js';
import { QemuLikeVmm } from '../vfio/qemu-like-vmm.js';
import { createVdev, DWQ, parentRig, SWQ } from '../vidxd/fixtures.js';
import { flip } from '../util/bytes.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const MEM = 1 << 20;
/** Guest memory the driver's heap manages; the page-fault buffers sit above it. */
const HEAP_END = 0xb0000;
/** The page the VMM leaves unmapped until the guest faults on it. */
const HOLE = 0xc2000;

/** One assigned device: the VFIO device, its MSI-X capability (the device side), and the VMM's progress hook. */
interface Assigned {
  readonly device: VfioDevice<unknown>;
  readonly msix: MsixCapability;
  readonly poll: () => boolean;
  /** A PF cannot send a message with bus mastering off (a vdev's delivery has no gate, vidxd-device.md §8.1). */
  readonly busMasterGates: boolean;
}

const DEVICES: readonly [string, () => Assigned][] = [
  ['a dsa-1dwq-v1 vdev', () => vdev(DWQ)],
  ['a dsa-1swq-v1 vdev', () => vdev(SWQ)],
  ['the PF passed through whole', () => {
    const model = new DsaDevice();
    return { device: new Device<unknown>(pfVfioOps(model)), msix: model.msix, poll: () => model.step(), busMasterGates: true };
  }],
];

function vdev(type: string): Assigned {
  const rig = parentRig();
  const { uuid, vdev: v } = createVdev(rig, type);
  return { device: rig.bus.open(uuid), msix: v.msix, poll: () => rig.dev.step(), busMasterGates: false };
}

/** Boots a VM: guest memory mapped 1:1 but for one page, the device assigned through the VMM, the reference driver brought up. */
async function boot(make: () => Assigned): Promise<{ a: Assigned; vmm: QemuLikeVmm; g: IdxdGuest; mem: Uint8Array; faults: PageFault[] }> {
  const a = make();
  const memory = new GuestMemory(MEM);
  const ioas = new VfioIoas();
  for (let page = 0; page < MEM; page += PAGE_SIZE) if (page !== HOLE) ioas.map({ iova: page, size: PAGE_SIZE, memory, offset: page, flags: RW });
  a.device.attachIoas(ioas);
  const vmm = new QemuLikeVmm(a.device);
  const faults: PageFault[] = [];
  const g = await IdxdGuest.open({
    device: vmm.guest, memory, poll: a.poll, heap: { iova: 0, size: HEAP_END }, completion: 'interrupt',
    onPageFault: (f) => {
      faults.push(f);
      if (Math.floor(f.address / PAGE_SIZE) * PAGE_SIZE !== HOLE) return false;
      ioas.map({ iova: HOLE, size: PAGE_SIZE, memory, offset: HOLE, flags: RW });
      return true;
    },
  });
  return { a, vmm, g, mem: memory.bytes, faults };
}

/** The device's own MSI-X capability as reset left it: disabled, every entry masked, nothing pending. */
function untouched(msix: MsixCapability): boolean {
  for (let v = 0; v < msix.vectors; v++) if (!msix.isMasked(v) || msix.isPending(v)) return false;
  return !msix.enabled && !msix.functionMasked;
}

describe.each(DEVICES)('the reference driver on %s under a QEMU-like VMM', (_name, make) => {
  it('runs its whole workload with interrupt completion, every interrupt injected by the VMM', async () => {
    const { a, vmm, g, mem, faults } = await boot(make);
    const at = (iova: number, n: number): Uint8Array => mem.subarray(iova, iova + n);
    const rnd = new DemoRandom(13);
    expect([g.completion, vmm.enabled, vmm.functionMasked, vmm.isMasked(1)]).toEqual(['interrupt', true, false, false]);
    expect(vmm.sent[0]).toMatchObject({ index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: vmm.msix.vectors });

    const K64 = 0x10000;
    const src = g.heap.alloc(K64);
    const dst = g.heap.alloc(K64);
    rnd.fill(at(src, K64));
    expect((await g.memmove(dst, src, K64)).status).toBe(1);
    expect(sameBytes(at(dst, K64), at(src, K64))).toBe(true);
    const f = g.heap.alloc(0x4000);
    await g.fill(f, 0x4000, 0x0123456789abcdefn);
    expect(sameBytes(at(f, 0x4000), refFill(0x4000, 0x0123456789abcdefn))).toBe(true);
    expect((await g.crc32c(src, K64)).crc).toBe(refCrc32c(at(src, K64)));
    flip(mem, dst + 777, 0x5a);
    expect(await g.compare(src, dst, K64)).toMatchObject({ equal: false, offset: 777 });
    expect(await g.comparePattern(f, 0x4000, 0x0123456789abcdefn)).toMatchObject({ equal: true });

    const K4 = 0x1000;
    const [d1, d2] = [g.heap.alloc(K4, K4), g.heap.alloc(K4, K4)];
    const [copy, modified, patched, rec] = [g.heap.alloc(K4), g.heap.alloc(K4), g.heap.alloc(K4), g.heap.alloc(800)];
    mem.copyWithin(modified, src, src + K4);
    flip(mem, modified + 100, 0xff);
    mem.copyWithin(patched, src, src + K4);
    const delta = refDelta(at(src, K4), at(modified, K4));
    const batch = await g.batch([
      { op: 'dualcast', dst1: d1, dst2: d2, src, size: K4 },
      { op: 'copyCrc', dst: copy, src, size: K4 },
      { op: 'createDelta', original: src, modified, size: K4, record: rec, maxRecordSize: 800 },
      { op: 'applyDelta', dst: patched, record: rec, recordSize: delta.length, size: K4, fence: true },
    ]);
    expect([batch.status, batch.succeeded]).toEqual([1, 4]);
    expect([sameBytes(at(d2, K4), at(src, K4)), sameBytes(at(patched, K4), at(modified, K4))]).toEqual([true, true]);

    const data = g.heap.alloc(8 * 512);
    const prot = g.heap.alloc(8 * 520);
    rnd.fill(at(data, 8 * 512));
    const dif = { blockSize: 512 as const, refTag: 0x40, appTag: 0xabcd };
    expect((await g.difInsert(prot, data, 8 * 512, dif)).ok).toBe(true);
    expect(sameBytes(at(prot, 8 * 520), refDifInsert(at(data, 8 * 512), 512, 0x40, 0xabcd))).toBe(true);
    expect((await g.difCheck(prot, 8 * 520, dif)).ok).toBe(true);

    // A copy into the page the VMM left unmapped: partial completion, the VMM maps it, the rest is resumed.
    rnd.fill(at(0xb0000, 0x4000));
    const moved = await g.memmove(HOLE - 0x1f00, 0xb0000, 0x4000);
    expect([moved.faults, faults.length, sameBytes(at(HOLE - 0x1f00, 0x4000), at(0xb0000, 0x4000))]).toEqual([1, 1, true]);

    // Every completion came by an interrupt the VMM injected; none was spurious; the device side never saw the table.
    const completions = g.stats.interrupts[1] ?? 0;
    expect(completions).toBe(10); // nine operations, the faulting one twice
    expect(vmm.injected[1]).toBe(completions);
    expect(vmm.spurious.every((n) => n === 0)).toBe(true);
    expect(vmm.tableAccesses).toBeGreaterThan(0);
    expect(untouched(a.msix)).toBe(true);

    await g.close();
    expect(vmm.sent.at(-1)).toMatchObject({ index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: 0 });
    expect(a.device.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).enabled).toBe(false);
  });

  it('holds a vector the guest masked in the VMM\'s PBA and injects it once when the guest unmasks it', async () => {
    const { vmm, g } = await boot(make);
    const { tableBar, tableOffset, pbaBar, pbaOffset } = vmm.msix;
    const w32 = (i: number, off: number, v: number): void => {
      vmm.guest.writeRegion(i, off, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24));
    };
    const r32 = (i: number, off: number): number => {
      const b = new Uint8Array(4);
      vmm.guest.readRegion(i, off, b);
      return new DataView(b.buffer).getUint32(0, true);
    };
    const before = vmm.injected[0] ?? 0;
    w32(tableBar, tableOffset + 12, 1); // mask vector 0
    w32(0, 0xa0, (0x1f << 20 | 1 << 31) >>> 0); // an invalid command asking for its completion interrupt
    expect([vmm.injected[0], vmm.isPending(0), r32(pbaBar, pbaOffset) & 1, g.stats.interrupts[0]]).toEqual([before, true, 1, 0]);
    w32(tableBar, tableOffset + 12, 0);
    expect([vmm.injected[0], vmm.isPending(0), r32(pbaBar, pbaOffset) & 1, g.stats.interrupts[0]]).toEqual([before + 1, false, 0, 1]);
  });

  it('recovers from a halt with reset type FLR by a function-level reset through config space, and runs again', async () => {
    const { a, vmm, g, mem } = await boot(make);
    const buf = g.heap.alloc(256);
    await g.fill(buf, 256, 0x1111111111111111n);
    // Bus mastering cleared while Enabled: the device halts (reset type FLR). A vdev says so on vector 0;
    // the PF cannot send that message without bus mastering (it holds it until the FLR clears it).
    const halts = vmm.injected[0];
    vmm.guest.writeRegion(7, 0x04, Uint8Array.of(0x02, 0x04));
    expect([g.halted, vmm.injected[0] !== halts]).toEqual([!a.busMasterGates, !a.busMasterGates]);
    const gensts = new Uint8Array(4);
    vmm.guest.readRegion(0, 0x90, gensts);
    expect([(gensts[0] as number) & 3, ((gensts[0] as number) >>> 2) & 3]).toEqual([3, 1]);
    const flrsBefore = a.device.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers.filter((t) => t !== null).length;
    await g.reset(); // Linux idxd: pci_reset_function() for reset type FLR
    expect(g.halted).toBe(false);
    expect(a.device.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers.filter((t) => t !== null).length).toBe(flrsBefore); // triggers survive the FLR
    await g.fill(buf, 256, 0x2222222222222222n);
    expect(mem[buf + 255]).toBe(0x22);
    expect(untouched(a.msix)).toBe(true);
  });
});
