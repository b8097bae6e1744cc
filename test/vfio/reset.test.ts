import { describe, expect, it } from 'vitest';
import {
  EventFd,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_MIGRATION_STOP_COPY,
  VfioDevice,
  VfioIoctl,
  regionOffset,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

describe('VFIO_DEVICE_RESET', () => {
  it('returns config space and BAR0 to their reset values', () => {
    const model = new TestDevice();
    const dev = new VfioDevice(model);
    dev.write(regionOffset(0) + 8, Uint8Array.of(1, 2, 3, 4));
    dev.write(regionOffset(7) + 4, Uint8Array.of(0x06));
    dev.reset();
    const out = new Uint8Array(4);
    dev.read(regionOffset(0) + 8, out);
    expect([...out]).toEqual([0, 0, 0, 0]);
    dev.read(regionOffset(7) + 4, out);
    expect([...out]).toEqual([0, 0, 0, 0]);
    expect(model.resets).toBe(1);
  });

  it('keeps the installed triggers', () => {
    const model = new TestDevice();
    const dev = new VfioDevice(model);
    const fd = new EventFd();
    dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 1, data: [fd] });
    dev.reset();
    expect(dev.irqStatus(2)).toMatchObject({ enabled: true, triggers: [fd, null] });
    expect(model.raise(2, 0)).toBe(true);
    expect(fd.count).toBe(1);
  });

  it('returns the migration state to RUNNING', () => {
    const dev = new VfioDevice(new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }));
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    dev.reset();
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
  });

  it('is EINVAL on a device without RESET, and the device is not touched', () => {
    const model = new TestDevice({ noReset: true });
    const dev = new VfioDevice(model);
    dev.write(regionOffset(0), Uint8Array.of(7));
    expect(() => dev.reset()).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(model.resets).toBe(0);
    expect(model.bar0[0]).toBe(7);
  });

  it('is reachable through the ioctl front end with no argument', () => {
    const model = new TestDevice();
    expect(new VfioIoctl(new VfioDevice(model)).ioctl(VFIO_DEVICE_RESET)).toBe(0);
    expect(model.resets).toBe(1);
  });
});
