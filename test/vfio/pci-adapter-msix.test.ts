import { describe, expect, it } from 'vitest';
import {
  EventFd,
  VFIO_IRQ_SET_ACTION_MASK as MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_IRQ_SET_DATA_NONE as NONE,
  VFIO_PCI_MSIX_IRQ_INDEX as MSIX,
  VfioDevice,
  regionOffset,
  type IrqTrigger,
} from '../../src/vfio/index.js';
import { TestPciDevice, type TestPortal, rd, wr } from './test-pci-device.js';

const BAR0 = regionOffset(0);
const CONFIG = regionOffset(7);
const MSIX_CONTROL = CONFIG + 0x42;
const ENABLE = 0x8000;
const FUNCTION_MASK = 0x4000;
const PBA = BAR0 + 0x700;

/** Vector control dword of `vector` in the table at BAR0 0x600. */
const vectorControl = (vector: number): number => BAR0 + 0x600 + 16 * vector + 12;

interface Setup {
  model: TestPciDevice;
  dev: VfioDevice<TestPortal>;
  fds: EventFd[];
}

/** An open device with MSI-X enabled in config space (unless told not to) and an EventFd on each of its two vectors (entries still masked). */
function setup(options: { enable?: boolean; triggers?: boolean } = {}): Setup {
  const model = new TestPciDevice();
  const dev = new VfioDevice(model.ops);
  const fds = [new EventFd(), new EventFd()];
  if (options.enable !== false) wr(dev, MSIX_CONTROL, ENABLE, 2);
  if (options.triggers !== false) dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: fds });
  model.log.length = 0;
  return { model, dev, fds };
}

const msix = (model: TestPciDevice): NonNullable<TestPciDevice['msix']> => model.msix as NonNullable<TestPciDevice['msix']>;

describe('PCI adapter: MSI-X through SET_IRQS alone (vfio-uapi.md §5.4, vidxd-device.md §8.1)', () => {
  it('signals the EventFd of a raised vector whatever the table says: entries masked, MSI-X disabled, function masked', () => {
    const { model, dev, fds } = setup({ enable: false });
    expect([rd(dev, vectorControl(0)), rd(dev, vectorControl(1)), rd(dev, MSIX_CONTROL, 2) & ENABLE]).toEqual([1, 1, 0]);
    expect(msix(model).notify(1)).toBe(true);
    wr(dev, MSIX_CONTROL, ENABLE | FUNCTION_MASK, 2);
    expect(msix(model).notify(0)).toBe(true);
    expect(fds.map((f) => f.count)).toEqual([1, 1]);
    expect(rd(dev, PBA)).toBe(0);
  });

  it('keeps the table, message control and PBA as plain storage: unmasking delivers nothing', () => {
    const { model, dev, fds } = setup();
    wr(dev, vectorControl(1), 0);
    wr(dev, BAR0 + 0x610, 0xfee00000);
    wr(dev, MSIX_CONTROL, ENABLE | FUNCTION_MASK, 2);
    expect([rd(dev, vectorControl(1)), rd(dev, BAR0 + 0x610), rd(dev, MSIX_CONTROL, 2) & 0xc000]).toEqual([0, 0xfee00000, 0xc000]);
    wr(dev, vectorControl(1), 1);
    wr(dev, vectorControl(1), 0);
    wr(dev, MSIX_CONTROL, ENABLE, 2);
    expect(fds.map((f) => f.count)).toEqual([0, 0]);
    expect([msix(model).isMasked(1), msix(model).enabled, msix(model).functionMasked]).toEqual([false, true, false]);
  });

  it('drops a vector with no trigger: nothing pends, and a trigger installed later receives nothing', () => {
    const { model, dev } = setup({ triggers: false });
    expect(msix(model).notify(1)).toBe(false);
    expect(rd(dev, PBA)).toBe(0);
    const fd = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [null, fd] });
    expect(fd.count).toBe(0);
    expect(model.log).toEqual(['irq 2']);
    expect(msix(model).notify(1)).toBe(true);
    expect(fd.count).toBe(1);
  });

  it('drops vectors once their trigger is removed or the index disabled', () => {
    const { model, dev, fds } = setup();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 1, count: 1, data: [null] });
    expect(msix(model).notify(1)).toBe(false);
    dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0 });
    expect(msix(model).notify(0)).toBe(false);
    expect(fds.map((f) => f.count)).toEqual([0, 0]);
    expect(rd(dev, PBA)).toBe(0);
  });

  it('sends a vector the function itself held (e.g. bus mastering off) to its trigger when the device releases it', () => {
    const { model, dev, fds } = setup();
    msix(model).hold(1);
    expect([rd(dev, PBA), fds[1]?.count]).toEqual([0b10, 0]);
    wr(dev, vectorControl(1), 0); // the table is storage: no release from here
    expect(fds[1]?.count).toBe(0);
    expect(msix(model).deliverPending()).toBe(1);
    expect([rd(dev, PBA), fds[1]?.count]).toEqual([0, 1]);
  });

  it('signals a callback trigger just like an EventFd', () => {
    const { model, dev } = setup({ triggers: false });
    const seen: number[] = [];
    const cb: IrqTrigger = () => seen.push(0);
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [cb] });
    msix(model).notify(0);
    expect(seen).toEqual([0]);
  });

  it('answers MASK and UNMASK on the MSI-X index with ENOTTY: masking lives in the VMM\'s emulated table', () => {
    const { dev } = setup();
    for (const action of [MASK, UNMASK]) {
      expect(() => dev.setIrqs({ flags: NONE | action, index: MSIX, start: 0, count: 1 })).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
    }
  });

  it('loops a NONE+TRIGGER request back to the EventFd without touching the device\'s PBA', () => {
    const { dev, fds } = setup();
    dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 1, count: 1 });
    expect(fds.map((f) => f.count)).toEqual([0, 1]);
    expect(rd(dev, PBA)).toBe(0);
  });

  it('accepts as many vectors as the MSI-X table has, and no more', () => {
    const { dev } = setup({ triggers: false });
    expect(() => dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 3, data: [null, null, null] })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('stops signalling a closed handle\'s triggers; a vector raised meanwhile never reaches the next handle', () => {
    const { model, dev, fds } = setup();
    dev.close();
    expect(msix(model).sinkAttached).toBe(false);
    expect(msix(model).notify(0)).toBe(false);
    expect(fds[0]?.count).toBe(0);
    const again = new VfioDevice(model.ops);
    const fd = new EventFd();
    again.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [fd] });
    expect(fd.count).toBe(0);
    msix(model).notify(0);
    expect([fds[0]?.count, fd.count]).toEqual([0, 1]);
  });
});
