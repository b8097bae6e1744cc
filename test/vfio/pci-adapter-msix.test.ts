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

/** An open device with MSI-X enabled in config space and an EventFd on each of its two vectors (entries still masked). */
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

describe('PCI adapter: MSI-X through SET_IRQS (vidxd-device.md §8.1)', () => {
  it('signals the EventFd of an unmasked vector on an enabled function', () => {
    const { model, dev, fds } = setup();
    wr(dev, vectorControl(1), 0);
    expect(msix(model).notify(1)).toBe(true);
    expect(fds.map((f) => f.count)).toEqual([0, 1]);
    expect(rd(dev, PBA)).toBe(0);
  });

  it('keeps a masked vector pending in the PBA and delivers it once when the entry is unmasked', () => {
    const { model, dev, fds } = setup();
    expect(msix(model).notify(1)).toBe(false);
    expect(rd(dev, PBA)).toBe(0b10);
    expect(fds[1]?.count).toBe(0);
    wr(dev, vectorControl(1), 0);
    expect(fds[1]?.count).toBe(1);
    expect(rd(dev, PBA)).toBe(0);
    wr(dev, vectorControl(1), 1);
    wr(dev, vectorControl(1), 0);
    expect(fds[1]?.count).toBe(1);
  });

  it('holds vectors while the function mask is set and delivers them when it clears', () => {
    const { model, dev, fds } = setup();
    wr(dev, vectorControl(0), 0);
    wr(dev, MSIX_CONTROL, ENABLE | FUNCTION_MASK, 2);
    msix(model).notify(0);
    expect([fds[0]?.count, rd(dev, PBA)]).toEqual([0, 0b01]);
    wr(dev, MSIX_CONTROL, ENABLE, 2);
    expect([fds[0]?.count, rd(dev, PBA)]).toEqual([1, 0]);
  });

  it('holds vectors while MSI-X is disabled in config space and delivers them on enable', () => {
    const { model, dev, fds } = setup({ enable: false });
    wr(dev, vectorControl(0), 0);
    msix(model).notify(0);
    expect([fds[0]?.count, rd(dev, PBA)]).toEqual([0, 0b01]);
    wr(dev, MSIX_CONTROL, ENABLE, 2);
    expect([fds[0]?.count, rd(dev, PBA)]).toEqual([1, 0]);
  });

  it('keeps a vector with no trigger pending, and delivers it as soon as SET_IRQS installs one', () => {
    const { model, dev } = setup({ triggers: false });
    wr(dev, vectorControl(1), 0);
    expect(msix(model).notify(1)).toBe(false);
    expect(rd(dev, PBA)).toBe(0b10);
    const fd = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 2, data: [null, fd] });
    expect(fd.count).toBe(1);
    expect(rd(dev, PBA)).toBe(0);
    expect(model.log).toEqual(['irq 2']);
  });

  it('goes back to pending when the trigger is removed or the index disabled', () => {
    const { model, dev, fds } = setup();
    wr(dev, vectorControl(0), 0);
    wr(dev, vectorControl(1), 0);
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 1, count: 1, data: [null] });
    msix(model).notify(1);
    dev.setIrqs({ flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0 });
    msix(model).notify(0);
    expect(fds.map((f) => f.count)).toEqual([0, 0]);
    expect(rd(dev, PBA)).toBe(0b11);
  });

  it('signals a callback trigger just like an EventFd', () => {
    const { model, dev } = setup({ triggers: false });
    const seen: number[] = [];
    const cb: IrqTrigger = () => seen.push(0);
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [cb] });
    wr(dev, vectorControl(0), 0);
    msix(model).notify(0);
    expect(seen).toEqual([0]);
  });

  it('answers MASK and UNMASK on the MSI-X index with ENOTTY: masking lives in the emulated table', () => {
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

  it('stops signalling a closed handle\'s triggers; a vector raised meanwhile waits for the next handle', () => {
    const { model, dev, fds } = setup();
    wr(dev, vectorControl(0), 0);
    dev.close();
    expect(msix(model).notify(0)).toBe(false);
    expect(fds[0]?.count).toBe(0);
    const again = new VfioDevice(model.ops);
    const fd = new EventFd();
    wr(again, MSIX_CONTROL, ENABLE, 2);
    again.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [fd] });
    expect(fd.count).toBe(0);
    wr(again, vectorControl(0), 0);
    expect(fd.count).toBe(1);
    msix(model).notify(0);
    expect([fds[0]?.count, fd.count]).toEqual([0, 2]);
  });
});
