import { describe, expect, it } from 'vitest';
import { MdevBus, type MdevParentSpec } from '../../src/mdev/index.js';
import {
  EventFd,
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_PCI_MSIX_IRQ_INDEX as MSIX,
  VfioDevice,
  regionOffset,
} from '../../src/vfio/index.js';
import { TestPciDevice, type TestPortal, rd, wr } from './test-pci-device.js';

const BAR0 = regionOffset(0);
const BAR2 = regionOffset(2);
const CONFIG = regionOffset(7);
const UUID = '8f3c1a52-4d1e-4c3b-9a57-2f1e6d0b7c11';

/** A parent whose one type builds a {@link TestPciDevice} per instance. */
function pciParent(models: Map<string, TestPciDevice>): MdevParentSpec<TestPortal> {
  return {
    name: 'testpci',
    types: [
      {
        name: 'vdev',
        availableInstances: () => 1 - models.size,
        create: (uuid) => {
          const model = new TestPciDevice();
          models.set(uuid, model);
          return model.ops;
        },
        remove: (_ops, uuid) => {
          models.delete(uuid);
        },
      },
    ],
  };
}

type Opened = { model: TestPciDevice; dev: VfioDevice<TestPortal> };

const ways: [string, () => Opened][] = [
  [
    'opened through MdevBus',
    () => {
      const bus = new MdevBus<TestPortal>();
      const models = new Map<string, TestPciDevice>();
      bus.registerParent(pciParent(models));
      bus.create('testpci-vdev', UUID);
      const dev = bus.open(UUID);
      return { model: models.get(UUID) as TestPciDevice, dev };
    },
  ],
  [
    'opened as a direct VfioDevice',
    () => {
      const model = new TestPciDevice();
      return { model, dev: new VfioDevice(model.ops) };
    },
  ],
];

describe.each(ways)('PCI adapter end to end, %s', (_how, openDevice) => {
  it('reads the IDs, sizes BAR0, installs an MSI-X trigger and the device\'s vector reaches its EventFd', () => {
    const { model, dev } = openDevice();
    // Identify the function through the config region.
    expect(rd(dev, CONFIG + 0x00)).toBe(0x0b258086);
    expect(rd(dev, CONFIG + 0x08) >>> 8).toBe(0x088000);
    // Size BAR0 (64-bit, prefetchable, 8 KiB) and find the MSI-X table there.
    wr(dev, CONFIG + 0x10, 0xffffffff);
    wr(dev, CONFIG + 0x14, 0xffffffff);
    expect([rd(dev, CONFIG + 0x10), rd(dev, CONFIG + 0x14)]).toEqual([0xffffe00c, 0xffffffff]);
    expect(rd(dev, CONFIG + 0x44)).toBe(0x600);
    expect(rd(dev, CONFIG + 0x48)).toBe(0x700);
    // The PASID capability at 0x120 in extended space.
    expect(rd(dev, CONFIG + 0x120) & 0xffff).toBe(0x001b);
    expect(dev.getRegionInfo(2).caps).toHaveLength(1);
    // Enable MSI-X and install an EventFd on vector 1 (a VMM does this when its guest enables MSI-X).
    wr(dev, CONFIG + 0x42, 0x8000, 2);
    const fd = new EventFd();
    dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 1, count: 1, data: [fd] });
    wr(dev, BAR0 + 0x610, 0xfee00000);
    wr(dev, BAR0 + 0x618, 0x41);
    // The device raises vector 1: the trigger is signalled though the device's own entry is still masked.
    expect(rd(dev, BAR0 + 0x61c)).toBe(1);
    expect(model.msix?.notify(1)).toBe(true);
    expect(fd.count).toBe(1);
    // The table is storage (what was written reads back); unmasking and masking it gate nothing.
    expect([rd(dev, BAR0 + 0x610), rd(dev, BAR0 + 0x618)]).toEqual([0xfee00000, 0x41]);
    wr(dev, BAR0 + 0x61c, 0);
    expect(fd.count).toBe(1);
    wr(dev, BAR0 + 0x61c, 1);
    expect(model.msix?.notify(1)).toBe(true);
    expect([fd.count, rd(dev, BAR0 + 0x700)]).toEqual([2, 0]);
    // Everything else in BAR0, and BAR2 with its pages, belongs to the device author.
    wr(dev, BAR0 + 0x80, 0x1);
    expect(dev.mmap(BAR2 + 0x1000, 0x1000)).toEqual({ bar: 2, offset: 0x1000, length: 0x1000 });
    expect(model.log.filter((l) => l.startsWith('bar'))).toEqual(['bar0 w 4 @0x80', 'bar2 mmap 0x1000 @0x1000']);
  });
});
