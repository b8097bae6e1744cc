/**
 * The QEMU-like VMM fixture over the small PCI test device: the guest's MSI-X table, PBA and message
 * control never reach the device; enabling MSI-X installs one trigger per vector; masking swaps a
 * vector's trigger for the VMM's pending flag and unmasking re-delivers it once (vfio-uapi.md §5.4).
 */
import { describe, expect, it } from 'vitest';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD, VFIO_IRQ_SET_DATA_NONE as NONE, VFIO_PCI_MSIX_IRQ_INDEX as MSIX,
  VfioDevice,
} from '../../src/vfio/index.js';
import { QemuLikeVmm } from './qemu-like-vmm.js';
import { TestPciDevice } from './test-pci-device.js';

const CONFIG = 7;

function boot(): { model: TestPciDevice; dev: VfioDevice<unknown>; vmm: QemuLikeVmm; seen: number[]; w: (i: number, off: number, v: number, n?: 2 | 4) => void; r: (i: number, off: number, n?: 2 | 4) => number } {
  const model = new TestPciDevice();
  const dev = new VfioDevice<unknown>(model.ops);
  const vmm = new QemuLikeVmm(dev);
  const seen: number[] = [];
  // The guest names a handler for each vector (its request_irq).
  vmm.guest.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [() => seen.push(0), () => seen.push(1)] });
  const w = (i: number, off: number, v: number, n: 2 | 4 = 4): void => {
    const b = new Uint8Array(n);
    for (let k = 0; k < n; k++) b[k] = (v >>> (8 * k)) & 0xff;
    vmm.guest.writeRegion(i, off, b);
  };
  const r = (i: number, off: number, n: 2 | 4 = 4): number => {
    const b = new Uint8Array(n);
    vmm.guest.readRegion(i, off, b);
    return b.reduceRight((x, y) => x * 256 + y, 0);
  };
  return { model, dev, vmm, seen, w, r };
}

describe('QemuLikeVmm (a VMM that emulates the guest\'s MSI-X like QEMU)', () => {
  it('finds the device\'s MSI-X layout and keeps the guest\'s handlers to itself', () => {
    const { dev, vmm } = boot();
    expect(vmm.msix).toEqual({ cap: 0x40, vectors: 2, tableBar: 0, tableOffset: 0x600, pbaBar: 0, pbaOffset: 0x700 });
    expect([vmm.sent, dev.irqStatus(MSIX).enabled]).toEqual([[], false]);
  });

  it('installs one trigger per vector when the guest enables MSI-X, and never lets message control, table or PBA reach the device', () => {
    const { model, dev, vmm, w, r } = boot();
    w(CONFIG, 0x42, 0x8000, 2);
    expect(vmm.sent.map((q) => [q.flags, q.start, q.count])).toEqual([[EVENTFD | TRIGGER, 0, 2]]);
    expect(dev.irqStatus(MSIX).triggers.every((t) => t !== null)).toBe(true);
    w(0, 0x600, 0xfee00000);
    w(0, 0x60c, 0);
    expect([r(CONFIG, 0x42, 2), r(0, 0x600), r(0, 0x60c)]).toEqual([0x8001, 0xfee00000, 0]);
    // The device saw none of it: its capability is as reset left it, and its BAR handler was not called.
    expect([model.msix?.enabled, model.msix?.isMasked(0), model.msix?.addressLo(0)]).toEqual([false, true, 0]);
    expect(model.log.filter((l) => l.startsWith('bar0'))).toEqual([]);
    expect(vmm.tableAccesses).toBe(4);
  });

  it('delivers a live vector, holds a masked one in its own PBA, and injects it once on unmask', () => {
    const { model, vmm, seen, w, r } = boot();
    w(CONFIG, 0x42, 0x8000, 2);
    w(0, 0x60c, 0); // vector 0 unmasked; vector 1 still masked
    model.msix?.notify(0);
    model.msix?.notify(1);
    expect([seen, vmm.isPending(1), r(0, 0x700)]).toEqual([[0], true, 0b10]);
    expect(vmm.sent.at(-1)).toMatchObject({ start: 0, count: 1 }); // vector 0's swap to the delivering trigger
    w(0, 0x61c, 0);
    expect([seen, vmm.isPending(1), r(0, 0x700), vmm.injected]).toEqual([[0, 1], false, 0, [1, 1]]);
    model.msix?.notify(1);
    expect(seen).toEqual([0, 1, 1]);
  });

  it('holds every vector under the function mask, and disables the index when the guest disables MSI-X', () => {
    const { model, dev, vmm, seen, w } = boot();
    w(CONFIG, 0x42, 0x8000, 2);
    w(0, 0x60c, 0);
    w(0, 0x61c, 0);
    w(CONFIG, 0x42, 0xc000, 2);
    model.msix?.notify(0);
    model.msix?.notify(1);
    expect([seen, vmm.isPending(0), vmm.isPending(1)]).toEqual([[], true, true]);
    w(CONFIG, 0x42, 0x8000, 2);
    expect(seen).toEqual([0, 1]);
    w(CONFIG, 0x42, 0x0000, 2);
    expect(vmm.sent.at(-1)).toEqual({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0 });
    expect(dev.irqStatus(MSIX).enabled).toBe(false);
    model.msix?.notify(0); // no trigger: dropped
    expect(seen).toEqual([0, 1]);
  });

  it('forwards the rest of config space and the BARs: bytes around message control reach the device', () => {
    const { model, w, r } = boot();
    w(CONFIG, 0x40, 0x80000000); // ID and next (read-only) to the device, control to the VMM
    w(CONFIG, 0x04, 0x0006, 2);
    w(0, 0x80, 0x1234);
    expect([r(CONFIG, 0x40), model.fn.command, r(0, 0x80)]).toEqual([0x80015011, 0x0006, 0x1234]);
    expect(model.msix?.enabled).toBe(false);
  });
});
