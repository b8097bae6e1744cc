import { describe, expect, it } from 'vitest';
import {
  EventFd,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_MIGRATION_STOP_COPY,
  VfioDevice,
  VfioIoctl,
  regionOffset,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';

describe('close', () => {
  it('removes every trigger, so the device can no longer signal', () => {
    const model = new TestDevice();
    const dev = new VfioDevice(model);
    const fd = new EventFd();
    const sink = model.sink;
    dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 1, data: [fd] });
    dev.close();
    expect(sink?.signal(2, 0)).toBe(false);
    expect(fd.count).toBe(0);
  });

  it('calls the device open once and close once', () => {
    const model = new TestDevice();
    const dev = new VfioDevice(model);
    dev.close();
    expect([model.opens, model.closes]).toEqual([1, 1]);
  });

  it('ends the migration stream (ENODEV afterwards)', () => {
    const dev = new VfioDevice(new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }));
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    const stream = dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY);
    dev.close();
    expect(() => stream?.read(new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it('answers every later call with EBADF', () => {
    const dev = new VfioDevice(new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }));
    dev.close();
    const calls: [string, () => unknown][] = [
      ['getInfo', () => dev.getInfo()],
      ['getRegionInfo', () => dev.getRegionInfo(0)],
      ['getIrqInfo', () => dev.getIrqInfo(0)],
      ['setIrqs', () => dev.setIrqs({ flags: 0x21, index: 2, start: 0, count: 0 })],
      ['reset', () => dev.reset()],
      ['read', () => dev.read(regionOffset(7), new Uint8Array(4))],
      ['write', () => dev.write(regionOffset(0), new Uint8Array(4))],
      ['readRegion', () => dev.readRegion(7, 0, new Uint8Array(4))],
      ['writeRegion', () => dev.writeRegion(0, 0, new Uint8Array(4))],
      ['mmap', () => dev.mmap(regionOffset(2), 0x1000)],
      ['feature', () => dev.feature(0x10001, new Uint8Array(8))],
      ['migrationState', () => dev.migrationState()],
      ['close', () => dev.close()],
      ['ioctl', () => new VfioIoctl(dev).ioctl(VFIO_DEVICE_GET_INFO, new Uint8Array(24))],
    ];
    for (const [name, call] of calls) expect(call, name).toThrow(expect.objectContaining({ code: 'EBADF', errno: 9 }));
  });
});
