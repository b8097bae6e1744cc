import { describe, expect, it } from 'vitest';
import { Command, Header, PasidControl } from '../../src/pci/index.js';
import {
  EventFd,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_PCI_MSIX_IRQ_INDEX as MSIX,
  VfioDevice,
  regionOffset,
} from '../../src/vfio/index.js';
import { TestPciDevice, type TestPciOptions, type TestPortal, rd, wr } from './test-pci-device.js';

const BAR0 = regionOffset(0);
const CONFIG = regionOffset(7);

function open(options: TestPciOptions = {}): { model: TestPciDevice; dev: VfioDevice<TestPortal>; fd: EventFd } {
  const model = new TestPciDevice(options);
  const dev = new VfioDevice(model.ops);
  const fd = new EventFd();
  dev.setIrqs({ flags: EVENTFD | TRIGGER, index: MSIX, start: 0, count: 1, data: [fd] });
  model.log.length = 0;
  return { model, dev, fd };
}

/** Dirties config space, the MSI-X table and PBA, and the author's BAR0 registers. */
function dirty(model: TestPciDevice, dev: VfioDevice<TestPortal>): void {
  wr(dev, CONFIG + Header.COMMAND, Command.MEMORY | Command.BUS_MASTER, 2);
  wr(dev, CONFIG + 0x10, 0xfe000000);
  wr(dev, CONFIG + Header.CACHE_LINE_SIZE, 0x10, 1);
  wr(dev, CONFIG + 0x42, 0xc000, 2);
  wr(dev, CONFIG + 0x126, PasidControl.ENABLE, 2);
  wr(dev, BAR0 + 0x600, 0xfee00000);
  wr(dev, BAR0 + 0x60c, 0);
  model.msix?.hold(0); // a pending bit only the function itself sets (a raised vector goes to the trigger)
  wr(dev, BAR0 + 0x20, 0x12345678);
  model.log.length = 0;
}

/** The state the reset must restore, read through the device handle. */
function state(dev: VfioDevice<TestPortal>): number[] {
  return [
    rd(dev, CONFIG + Header.COMMAND, 2),
    rd(dev, CONFIG + 0x10),
    rd(dev, CONFIG + Header.CACHE_LINE_SIZE, 1),
    rd(dev, CONFIG + 0x42, 2),
    rd(dev, CONFIG + 0x126, 2),
    rd(dev, BAR0 + 0x600),
    rd(dev, BAR0 + 0x60c),
    rd(dev, BAR0 + 0x700),
    rd(dev, BAR0 + 0x20),
  ];
}

const RESET_STATE = [0, 0x0000000c, 0, 0x0001, 0, 0, 1, 0, 0];

describe('PCI adapter: VFIO_DEVICE_RESET and close', () => {
  it('resets config space, the MSI-X table and PBA, and the author\'s state through onReset', () => {
    const { model, dev } = open();
    dirty(model, dev);
    expect(state(dev)).not.toEqual(RESET_STATE);
    dev.reset();
    expect(state(dev)).toEqual(RESET_STATE);
    expect(model.fn.barAddressLo(0)).toBe(0);
  });

  it('runs onReset after the function is reset', () => {
    const { model, dev } = open();
    dirty(model, dev);
    dev.reset();
    expect(model.log).toEqual(['reset']);
    expect(model.commandAtHook).toEqual([0]);
  });

  it('keeps the triggers: after reset the same EventFd is signalled', () => {
    const { model, dev, fd } = open();
    dirty(model, dev);
    dev.reset();
    expect(dev.irqStatus(MSIX).triggers).toEqual([fd, null]);
    model.msix?.notify(0);
    expect(fd.count).toBe(1);
  });

  it('close resets the function before onClose; the next handle starts at reset state', () => {
    const { model, dev } = open();
    dirty(model, dev);
    dev.close();
    expect(model.log).toEqual(['close']);
    expect(model.commandAtHook).toEqual([0]);
    const again = new VfioDevice(model.ops);
    expect(state(again)).toEqual(RESET_STATE);
    expect(model.sink).not.toBeNull();
  });

  it('allows one handle at a time: a second open before close is EBUSY', () => {
    const { model, dev } = open();
    expect(() => new VfioDevice(model.ops)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    dev.close();
    expect(new VfioDevice(model.ops).closed).toBe(false);
  });

  it('passes migration through: flags reported, reset returns the state to RUNNING', () => {
    const arcs: string[] = [];
    const { dev } = open({ migration: { flags: VFIO_MIGRATION_STOP_COPY, arc: (from, to) => void arcs.push(`${from}>${to}`) } });
    expect(dev.migrationFlags()).toBe(VFIO_MIGRATION_STOP_COPY);
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(arcs).toEqual([`${VFIO_DEVICE_STATE_RUNNING}>${VFIO_DEVICE_STATE_STOP}`]);
    dev.reset();
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
  });

  it('has no migration without the author\'s: the migration feature answers ENOTTY', () => {
    const { dev } = open();
    expect(() => dev.migrationFlags()).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
  });
});
