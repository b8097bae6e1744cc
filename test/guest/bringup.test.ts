/**
 * Probe and bring-up through the VFIO API only: IDs and capabilities found by walking both chains,
 * BARs sized by the all-ones probe (and restored), GENCAP/WQCAP/OFFSETS/WQCFG read, then PCI enables,
 * MSI-X triggers, WQCFG PASID fields, ENABLE_DEVICE, ENABLE_WQ and the interrupt handles.
 */
import { describe, expect, it } from 'vitest';
import { DsaDevice } from '../../src/dsa/index.js';
import { IdxdGuest, IdxdGuestError } from '../../src/guest/index.js';
import { DeviceIo, type GuestVfio } from '../../src/guest/io.js';
import { probePci } from '../../src/guest/pci-probe.js';
import { GuestMemory } from '../../src/memory/index.js';
import {
  AtsCapability, MsixCapability, PasidCapability, PcieCapability, PciFunctionBuilder, PowerManagementCapability, PriCapability,
} from '../../src/pci/index.js';
import { pciVfioOps, regionOffset, VfioDevice, VfioIoas, VFIO_PCI_MSIX_IRQ_INDEX } from '../../src/vfio/index.js';
import { pfVfioOps } from '../../src/vidxd/index.js';
import { DWQ, openVm, SWQ } from './fixtures.js';

const cfg = (dev: VfioDevice<unknown>, off: number, size: 1 | 2 | 4 = 4): number => {
  const b = new Uint8Array(size);
  dev.readRegion(7, off, b);
  return b.reduceRight((v, x) => v * 256 + x, 0);
};
const bar0 = (dev: VfioDevice<unknown>, off: number): number => {
  const b = new Uint8Array(4);
  dev.readRegion(0, off, b);
  return new DataView(b.buffer).getUint32(0, true);
};

describe('probe', () => {
  it.each([
    ['dedicated', DWQ, 16, 0],
    ['shared', SWQ, 32, 24],
  ] as const)('of a %s vdev finds the IDs, both capability chains, the BAR sizes and WQ 0', async (mode, type, size, threshold) => {
    const vm = await openVm(type);
    const { pci, caps, wq } = vm.g;
    expect([pci.vendorId, pci.deviceId, pci.classCode]).toEqual([0x8086, 0x0b25, 0x088000]);
    expect(pci.capabilities).toEqual([{ id: 0x11, offset: 0x40 }, { id: 0x10, offset: 0x50 }]);
    expect(pci.extCapabilities).toEqual([{ id: 0x0f, offset: 0x100 }, { id: 0x13, offset: 0x110 }, { id: 0x1b, offset: 0x120 }]);
    expect(pci.bars).toEqual([
      { index: 0, size: 0x2000, is64: true, prefetchable: true },
      { index: 2, size: 0x2000, is64: true, prefetchable: true },
    ]);
    expect(pci.msix).toEqual({ offset: 0x40, vectors: 2, tableBar: 0, tableOffset: 0x600, pbaBar: 0, pbaOffset: 0x700 });
    expect(pci.pasid).toEqual({ offset: 0x120, maxWidth: 20, privileged: true });
    expect([caps.version, caps.commandCapabilities, caps.configurable, caps.wqs]).toEqual([0x100, true, false, 1]);
    expect(caps.offsets).toEqual({ grpcfg: 0x400, wqcfg: 0x500, msixPerm: 0x300, ims: 0 });
    expect([vm.g.mode, wq.size, wq.threshold, wq.offset]).toEqual([mode, size, threshold, 0x500]);
    // The all-ones probe leaves the BARs as it found them.
    expect([cfg(vm.device, 0x10), cfg(vm.device, 0x14), cfg(vm.device, 0x18)]).toEqual([0xc, 0, 0xc]);
  });

  it('finds capabilities wherever the chains put them', () => {
    const fn = new PciFunctionBuilder({ vendorId: 0x8086, deviceId: 0x0b25, classCode: 0x088000 })
      .bar(0, { kind: 'mem64', size: 0x4000, prefetchable: false })
      .bar(2, { kind: 'mem32', size: 0x1000 })
      .capability(new PowerManagementCapability(), 0x48)
      .capability(new PcieCapability({ deviceType: 9 }), 0x60)
      .capability(new MsixCapability({ vectors: 5, tableBar: 2, tableOffset: 0x800, pbaBar: 2, pbaOffset: 0xc00 }), 0xa0)
      .capability(new PasidCapability({ maxWidth: 16, privileged: false }), 0x100)
      .capability(new PriCapability({ outstandingCapacity: 4 }), 0x300)
      .capability(new AtsCapability({ invalidateQueueDepth: 2 }), 0x180)
      .build();
    const p = probePci(new DeviceIo(new VfioDevice(pciVfioOps(fn))));
    expect(p.capabilities.map((c) => c.id)).toContain(0x11);
    expect([p.pcie, p.msix?.offset, p.msix?.vectors, p.msix?.tableBar, p.pasid?.offset, p.pasid?.maxWidth, p.pri, p.ats])
      .toEqual([0x60, 0xa0, 5, 2, 0x100, 16, 0x300, 0x180]);
    expect(p.bars).toEqual([{ index: 0, size: 0x4000, is64: true, prefetchable: false }, { index: 2, size: 0x1000, is64: false, prefetchable: false }]);
  });

  it('refuses a looping capability chain', () => {
    const image = new Uint8Array(0x1000);
    const v = new DataView(image.buffer);
    v.setUint16(0, 0x8086, true);
    v.setUint16(6, 0x10, true);
    image[0x34] = 0x40;
    image.set([0x11, 0x50], 0x40);
    image.set([0x10, 0x40], 0x50);
    const fake: GuestVfio = {
      getInfo: () => ({ flags: 0, numRegions: 9, numIrqs: 5 }),
      getRegionInfo: (index) => ({ index, flags: 0, size: 0, offset: 0, caps: [] }),
      getIrqInfo: (index) => ({ index, flags: 0, count: 0 }),
      setIrqs: () => undefined,
      readRegion: (_i, off, buf) => { buf.set(image.subarray(off, off + buf.length)); return buf.length; },
      writeRegion: (_i, _off, buf) => buf.length,
      mmap: () => null,
    };
    expect(() => probePci(new DeviceIo(fake))).toThrow(/chain is broken at 0x40/);
  });

  it('refuses a device whose WQ is not configured when it is not configurable either (GENCAP.config_en 0)', async () => {
    const device = new VfioDevice(pfVfioOps(new DsaDevice()));
    // The same PF with config_en (GENCAP bit 31) read as 0, as a device that arrives configured would have it.
    const fixed: GuestVfio = {
      getInfo: () => device.getInfo(),
      getRegionInfo: (i) => device.getRegionInfo(i),
      getIrqInfo: (i) => device.getIrqInfo(i),
      setIrqs: (r) => device.setIrqs(r),
      mmap: (p, l, sh) => device.mmap(p, l, sh),
      writeRegion: (i, o, b) => device.writeRegion(i, o, b),
      readRegion: (i, o, b) => {
        const n = device.readRegion(i, o, b);
        if (i === 0 && o === 0x10 && b.length === 4) b[3] = (b[3] as number) & 0x7f;
        return n;
      },
    };
    const e = await IdxdGuest.open({ device: fixed, memory: new GuestMemory(0x10000) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IdxdGuestError);
    expect(e).toMatchObject({ reason: 'probe', code: 'ENODEV' });
    expect((e as Error).message).toMatch(/WQ 0 is not configured .* not configurable/);
  });
});

describe('bring-up', () => {
  it('of a dedicated vdev: PCI on, MSI-X triggers, no PASID, device and WQ enabled, one handle per completion vector', async () => {
    const vm = await openVm(DWQ);
    expect(cfg(vm.device, 0x04, 2) & 0x406).toBe(0x406);
    expect(cfg(vm.device, 0x42, 2) & 0xc000).toBe(0x8000);
    expect(cfg(vm.device, 0x126, 2)).toBe(0);
    expect(bar0(vm.device, 0x90) & 3).toBe(1);
    expect(bar0(vm.device, 0x508) >>> 28 & 1).toBe(0);
    expect(bar0(vm.device, 0x518) >>> 30).toBe(1);
    expect(bar0(vm.device, 0x88)).toBe(3);
    expect(vm.g.interruptHandles.slice(1)).toEqual(vm.vdev.heldHandles().slice(1));
    expect(vm.device.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers.every((t) => t !== null)).toBe(true);
    expect(vm.g.pasid).toBe(-1);
  });

  it('of a shared vdev: PCI PASID with ATS and PRI, WQCFG pasid and pasid_en, MSIX_PERM for the completion vector', async () => {
    const vm = await openVm(SWQ, { pasid: 0x4321 });
    expect([cfg(vm.device, 0x126, 2) & 1, cfg(vm.device, 0x106, 2) >>> 15, cfg(vm.device, 0x114, 2) & 1]).toEqual([1, 1, 1]);
    const dw2 = bar0(vm.device, 0x508);
    expect([(dw2 >>> 8) & 0xfffff, (dw2 >>> 28) & 1, (dw2 >>> 29) & 1]).toEqual([0x4321, 1, 0]);
    expect(bar0(vm.device, 0x308)).toBe((0x4321 << 12 | 1 << 3) >>> 0);
    expect(bar0(vm.device, 0x518) >>> 30).toBe(1);
  });

  it('of a dedicated vdev asked to use a PASID programs WQCFG.pasid_en', async () => {
    const vm = await openVm(DWQ, { pasidEnabled: true, pasid: 9 });
    const dw2 = bar0(vm.device, 0x508);
    expect([(dw2 >>> 8) & 0xfffff, (dw2 >>> 28) & 1]).toEqual([9, 1]);
    const buf = vm.g.heap.alloc(64);
    await vm.g.fill(buf, 64, 0x7777777777777777n);
    expect(vm.mem.bytes[buf + 63]).toBe(0x77);
  });

  it('of a PF passed through whole (configurable, no WQ configured): group 0 and WQ 0 through BAR0, then the usual bring-up', async () => {
    const model = new DsaDevice();
    const device = new VfioDevice(pfVfioOps(model));
    const memory = new GuestMemory(0x20000);
    const ioas = new VfioIoas();
    ioas.map({ iova: 0, size: memory.size, memory, offset: 0, flags: 3 });
    device.attachIoas(ioas);
    const g = await IdxdGuest.open({ device, memory, poll: () => model.step() });
    expect([g.mode, g.wq.size, g.wq.priority, g.completion, g.caps.configurable]).toEqual(['dedicated', 128, 1, 'interrupt', true]);
    expect([bar0(device, 0x400), bar0(device, 0x420), bar0(device, 0x800)]).toEqual([1, 0xf, 128]);
    expect([model.state, model.wqs[0]?.enabled, model.wqs[0]?.dedicated]).toEqual([1, true, true]);
    const src = g.heap.alloc(4096);
    const dst = g.heap.alloc(4096);
    memory.bytes.fill(0x6b, src, src + 4096);
    const done = await g.memmove(dst, src, 4096);
    expect([done.status, memory.bytes[dst + 4095], g.stats.interrupts[1]]).toEqual([1, 0x6b, 1]);
    // RESET_DEVICE forgets the configuration of a configurable device: the driver writes it again.
    await g.reset();
    expect([bar0(device, 0x800), model.wqs[0]?.enabled]).toEqual([128, true]);
    await g.fill(dst, 64, 0x1111111111111111n);
    expect(memory.bytes[dst + 63]).toBe(0x11);
  });

  it('maps the unlimited page of a dedicated WQ and the limited page of a shared one', async () => {
    const d = await openVm(DWQ);
    const s = await openVm(SWQ);
    expect([d.g.portalOffset, s.g.portalOffset]).toEqual([0, 0x1000]);
    expect([d.device.mmap(regionOffset(2), 0x1000).limited, s.device.mmap(regionOffset(2) + 0x1000, 0x1000).limited]).toEqual([false, true]);
    await d.g.fill(d.g.heap.alloc(64), 64, 1n);
    await s.g.fill(s.g.heap.alloc(64), 64, 1n);
    expect([d.g.stats.descriptors, s.g.stats.descriptors]).toEqual([1, 1]);
  });
});
