import { describe, expect, it } from 'vitest';
import { MsixCapability, PciFunctionBuilder } from '../../src/pci/index.js';
import {
  EventFd,
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_IRQ_SET_DATA_NONE as NONE,
  VfioDevice,
  pciVfioOps,
} from '../../src/vfio/index.js';
import { TestPciDevice } from './test-pci-device.js';

const [INTX, MSI, MSIX, ERR, REQ] = [0, 1, 2, 3, 4];

function infos(dev: VfioDevice<unknown>): number[][] {
  return [INTX, MSI, MSIX, ERR, REQ].map((i) => {
    const q = dev.getIrqInfo(i);
    return [q.index, q.flags, q.count];
  });
}

/** A conventional function with interrupt pin A and 5 MSI-X vectors. */
function pinAndMsix(): VfioDevice<unknown> {
  const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0, configSize: 256, interruptPin: 1 })
    .bar(0, { kind: 'mem32', size: 0x1000 })
    .capability(new MsixCapability({ vectors: 5, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800 }))
    .build();
  return new VfioDevice(pciVfioOps(fn));
}

const errno = (errnoName: string): unknown => expect.objectContaining({ code: errnoName });

describe('PCI adapter: IRQ info per vfio-pci (vfio-uapi.md §5.1)', () => {
  it('reports a PCIe function without a pin as the vdev: INTx 0, MSI 0, MSI-X = table size, ERR 1, REQ 1', () => {
    const dev = new VfioDevice(new TestPciDevice().ops);
    expect(infos(dev)).toEqual([[0, 0x7, 0], [1, 0x9, 0], [2, 0x9, 2], [3, 0x9, 1], [4, 0x9, 1]]);
  });

  it('reports a conventional function with a pin and no MSI-X: INTx 1, MSI-X 0, no ERR', () => {
    const dev = new VfioDevice(new TestPciDevice({ conventional: true }).ops);
    expect(infos(dev)).toEqual([[0, 0x7, 1], [1, 0x9, 0], [2, 0x9, 0], [3, 0x9, 0], [4, 0x9, 1]]);
  });

  it('takes the MSI-X count from the table size', () => {
    expect(pinAndMsix().getIrqInfo(MSIX).count).toBe(5);
  });

  it('rejects SET_IRQS on the indices with no vectors (MSI; ERR of a conventional function)', () => {
    const fd = new EventFd();
    expect(() => new VfioDevice(new TestPciDevice().ops).setIrqs({ flags: EVENTFD | TRIGGER, index: MSI, start: 0, count: 1, data: [fd] })).toThrow(errno('EINVAL'));
    const conv = new VfioDevice(new TestPciDevice({ conventional: true }).ops);
    expect(() => conv.setIrqs({ flags: EVENTFD | TRIGGER, index: ERR, start: 0, count: 1, data: [fd] })).toThrow(errno('EINVAL'));
  });

  it('accepts an error trigger on a PCIe function and signals the request trigger when the host asks', () => {
    const dev = new VfioDevice(new TestPciDevice().ops);
    const err = new EventFd();
    const req = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: ERR, start: 0, count: 1, data: [err] });
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: REQ, start: 0, count: 1, data: [req] });
    expect(dev.signalRequest()).toBe(true);
    expect([err.count, req.count]).toEqual([0, 1]);
  });

  it('makes INTx and MSI-X exclusive: one cannot be enabled while the other is', () => {
    const dev = pinAndMsix();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: INTX, start: 0, count: 1, data: [new EventFd()] });
    expect(() => dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [new EventFd()] })).toThrow(errno('EINVAL'));
    dev.setIrqs({ flags: NONE | TRIGGER, index: INTX, start: 0, count: 0 });
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [new EventFd()] });
    expect(dev.irqStatus(MSIX).enabled).toBe(true);
  });

  it('signals INTx raised through the sink once, automasked until UNMASK', () => {
    const model = new TestPciDevice({ conventional: true });
    const dev = new VfioDevice(model.ops);
    const fd = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: INTX, start: 0, count: 1, data: [fd] });
    expect(model.sink?.signal(INTX, 0)).toBe(true);
    expect(model.sink?.signal(INTX, 0)).toBe(false);
    dev.setIrqs({ flags: NONE | UNMASK, index: INTX, start: 0, count: 1 });
    expect(model.ops.sink?.signal(INTX, 0)).toBe(true);
    expect(fd.count).toBe(2);
  });
});
