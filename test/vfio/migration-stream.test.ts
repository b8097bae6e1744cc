import { describe, expect, it } from 'vitest';
import {
  HandleTable,
  VFIO_DEVICE_STATE_ERROR,
  VFIO_DEVICE_STATE_PRE_COPY,
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_MIG_GET_PRECOPY_INFO,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VfioDevice,
  VfioIoctl,
  decodePrecopyInfo,
  regionOffset,
  type VfioMigrationStream,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';
import { errnoOf } from '../util/errno.js';

const PRE = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY;


function drain(stream: VfioMigrationStream): number[] {
  const out: number[] = [];
  const buf = new Uint8Array(100);
  for (let n = stream.read(buf); n > 0; n = stream.read(buf)) out.push(...buf.subarray(0, n));
  return out;
}

describe('migration through the device handle', () => {
  it('saves in STOP_COPY, then reads 0 forever at the end of the stream', () => {
    const model = new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY });
    const dev = new VfioDevice(model);
    dev.write(regionOffset(0), Uint8Array.of(0xab));
    const stream = dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream;
    const image = drain(stream);
    expect(image.length).toBe(4 + 0x1000);
    expect(image.slice(0, 5)).toEqual([0x54, 0x44, 0x45, 0x56, 0xab]);
    expect(stream.read(new Uint8Array(4))).toBe(0);
  });

  it('ends the saving stream when the state leaves the saving group (ENODEV afterwards)', () => {
    const dev = new VfioDevice(new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }));
    const stream = dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream;
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(stream.valid).toBe(false);
    expect(errnoOf(() => stream.read(new Uint8Array(4)))).toBe('ENODEV');
  });

  it('keeps the PRE_COPY stream into STOP_COPY and answers ENOMSG only in PRE_COPY', () => {
    const model = new TestDevice({ migrationFlags: PRE });
    const dev = new VfioDevice(model);
    const stream = dev.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
    expect(stream.precopyInfo()).toEqual({ initialBytes: 4 + 0x1000, dirtyBytes: 0 });
    const buf = new Uint8Array(0x2000);
    expect(stream.read(buf)).toBe(4 + 0x1000);
    expect(stream.precopyInfo()).toEqual({ initialBytes: 0, dirtyBytes: 0 });
    expect(errnoOf(() => stream.read(buf))).toBe('ENOMSG');
    expect(dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY)).toBeNull();
    expect(model.arcs).toEqual(['RUNNING>PRE_COPY', 'PRE_COPY>STOP_COPY']);
    expect(stream.valid).toBe(true);
    expect(stream.read(buf)).toBe(0);
    expect(errnoOf(() => stream.precopyInfo())).toBe('EINVAL');
  });

  it('readAll gives the whole STOP_COPY stream in one array, the same bytes as reading it piece by piece', () => {
    const save = (): VfioMigrationStream => {
      const dev = new VfioDevice(new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }));
      dev.write(regionOffset(0), Uint8Array.of(0xab));
      return dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream;
    };
    const all = save().readAll(100);
    expect(Array.from(all)).toEqual(drain(save()));
    expect(all.length).toBe(4 + 0x1000);
  });

  it('readAll in PRE_COPY stops where the device has nothing more for now (ENOMSG), and refuses a bad chunk size (EINVAL)', () => {
    const dev = new VfioDevice(new TestDevice({ migrationFlags: PRE }));
    const stream = dev.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
    expect(errnoOf(() => stream.readAll(0))).toBe('EINVAL');
    expect(stream.readAll(1000).length).toBe(4 + 0x1000);
    expect(stream.readAll().length).toBe(0);
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(errnoOf(() => stream.readAll())).toBe('ENODEV');
  });

  it('answers PRECOPY_INFO through the stream handle ioctl', () => {
    const handles = new HandleTable();
    const dev = new VfioDevice(new TestDevice({ migrationFlags: PRE }));
    const io = new VfioIoctl(dev, handles);
    const h = handles.add(dev.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY));
    const arg = new Uint8Array(24);
    arg[0] = 24;
    io.streamIoctl(h, VFIO_MIG_GET_PRECOPY_INFO, arg);
    expect(decodePrecopyInfo(arg)).toEqual({ argsz: 24, flags: 0, initialBytes: 4 + 0x1000, dirtyBytes: 0 });
    expect(errnoOf(() => io.streamIoctl(h + 1, VFIO_MIG_GET_PRECOPY_INFO, arg))).toBe('EBADF');
    expect(errnoOf(() => io.streamIoctl(h, 0x3b6b, arg))).toBe('ENOTTY');
  });

  it('loads a saved image on another device through RESUMING → STOP', () => {
    const src = new VfioDevice(new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }));
    src.write(regionOffset(0) + 8, Uint8Array.of(1, 2, 3, 4));
    const image = Uint8Array.from(drain(src.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream));
    const model = new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY });
    const dst = new VfioDevice(model);
    const stream = dst.setMigrationState(VFIO_DEVICE_STATE_RESUMING) as VfioMigrationStream;
    stream.write(image.subarray(0, 10));
    stream.write(image.subarray(10));
    expect(errnoOf(() => stream.read(new Uint8Array(4)))).toBe('EINVAL');
    dst.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect([...model.bar0.subarray(8, 12)]).toEqual([1, 2, 3, 4]);
    expect(stream.valid).toBe(false);
  });

  it('fails RESUMING → STOP on a corrupt image with EINVAL, state ERROR, only reset leaves it', () => {
    const model = new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY });
    const dev = new VfioDevice(model);
    const stream = dev.setMigrationState(VFIO_DEVICE_STATE_RESUMING) as VfioMigrationStream;
    stream.write(Uint8Array.of(1, 2, 3));
    expect(errnoOf(() => dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING))).toBe('EINVAL');
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_ERROR);
    expect(errnoOf(() => dev.setMigrationState(VFIO_DEVICE_STATE_STOP))).toBe('EINVAL');
    expect(errnoOf(() => stream.write(Uint8Array.of(1)))).toBe('ENODEV');
    dev.reset();
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
  });

  it('stays at the last state reached when an arc mid-path fails', () => {
    const model = new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY });
    const dev = new VfioDevice(model);
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY);
    model.failArc = { from: VFIO_DEVICE_STATE_STOP, to: VFIO_DEVICE_STATE_RESUMING, errno: 'EIO', toError: false };
    expect(errnoOf(() => dev.setMigrationState(VFIO_DEVICE_STATE_RESUMING))).toBe('EIO');
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_STOP);
  });

  it('ends the stream on reset', () => {
    const dev = new VfioDevice(new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }));
    const stream = dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream;
    dev.reset();
    expect(errnoOf(() => stream.read(new Uint8Array(4)))).toBe('ENODEV');
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
  });
});
