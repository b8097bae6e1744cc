import { describe, expect, it } from 'vitest';
import {
  HandleTable,
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_FEATURE_GET as GET,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE as MIG_STATE,
  VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
  VFIO_DEVICE_FEATURE_PROBE as PROBE,
  VFIO_DEVICE_FEATURE_SET as SET,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VfioDevice,
  VfioIoctl,
  VfioMigrationStream,
  decodeDeviceFeature,
  decodeFeatureU64,
  decodeMigState,
  encodeDeviceFeature,
  encodeMigState,
} from '../../src/vfio/index.js';
import { TestDevice } from './test-device.js';
import { errnoOf } from '../util/errno.js';

function migDevice(flags = VFIO_MIGRATION_STOP_COPY): { model: TestDevice; dev: VfioDevice } {
  const model = new TestDevice({ migrationFlags: flags });
  return { model, dev: new VfioDevice(model) };
}


describe('VFIO_DEVICE_FEATURE generic checks (vfio-uapi.md §7.1), in order', () => {
  it('row 2: flag bits outside 0x7FFFF → EINVAL', () => {
    expect(errnoOf(() => migDevice().dev.feature(0x80000 | GET | VFIO_DEVICE_FEATURE_MIGRATION, new Uint8Array(8)))).toBe('EINVAL');
  });

  it('row 3: GET and SET together without PROBE → EINVAL, even for an unknown feature', () => {
    expect(errnoOf(() => migDevice().dev.feature(GET | SET | 99, new Uint8Array(8)))).toBe('EINVAL');
  });

  it('row 4: a feature unknown to the device → ENOTTY', () => {
    expect(errnoOf(() => migDevice().dev.feature(GET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, new Uint8Array(16)))).toBe('ENOTTY');
    expect(errnoOf(() => migDevice().dev.feature(PROBE | 42))).toBe('ENOTTY');
  });

  it('row 5: a migration feature on a device without migration → ENOTTY', () => {
    const dev = new VfioDevice(new TestDevice());
    expect(errnoOf(() => dev.feature(GET | VFIO_DEVICE_FEATURE_MIGRATION, new Uint8Array(8)))).toBe('ENOTTY');
    expect(errnoOf(() => dev.migrationState())).toBe('ENOTTY');
    expect(errnoOf(() => dev.setMigrationState(VFIO_DEVICE_STATE_STOP))).toBe('ENOTTY');
  });

  it('row 6: SET on a GET-only feature → EINVAL, also under PROBE', () => {
    expect(errnoOf(() => migDevice().dev.feature(SET | VFIO_DEVICE_FEATURE_MIGRATION, new Uint8Array(8)))).toBe('EINVAL');
    expect(errnoOf(() => migDevice().dev.feature(PROBE | SET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE))).toBe('EINVAL');
  });

  it('row 7: PROBE succeeds without touching data', () => {
    const data = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    expect(migDevice().dev.feature(PROBE | GET | SET | MIG_STATE, data)).toBeNull();
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('row 8: neither GET nor SET → EINVAL', () => {
    expect(errnoOf(() => migDevice().dev.feature(MIG_STATE, new Uint8Array(8)))).toBe('EINVAL');
  });

  it('row 9: data shorter than the feature needs → EINVAL', () => {
    expect(errnoOf(() => migDevice().dev.feature(GET | MIG_STATE, new Uint8Array(7)))).toBe('EINVAL');
  });
});

describe('migration features', () => {
  it('MIGRATION GET reports the device flags as a u64', () => {
    const data = new Uint8Array(8);
    migDevice(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY).dev.feature(GET | VFIO_DEVICE_FEATURE_MIGRATION, data);
    expect([...data]).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('MIG_DEVICE_STATE GET reports the state and data_fd −1', () => {
    const data = new Uint8Array(8);
    migDevice().dev.feature(GET | MIG_STATE, data);
    expect(decodeMigState(data)).toEqual({ deviceState: VFIO_DEVICE_STATE_RUNNING, dataFd: -1 });
  });

  it('MIG_DEVICE_STATE SET runs the arcs and returns the stream a stream-opening last arc made', () => {
    const { model, dev } = migDevice();
    const data = encodeMigState({ deviceState: VFIO_DEVICE_STATE_STOP_COPY, dataFd: 0 });
    const stream = dev.feature(SET | MIG_STATE, data);
    expect(stream).toBeInstanceOf(VfioMigrationStream);
    expect(model.arcs).toEqual(['RUNNING>STOP', 'STOP>STOP_COPY']);
    expect(decodeMigState(data).dataFd).toBe(-1);
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_STOP_COPY);
  });

  it('MIG_DATA_SIZE GET reports the device estimate', () => {
    const data = new Uint8Array(8);
    migDevice().dev.feature(GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, data);
    expect(decodeFeatureU64(data)).toBe(4 + 0x1000);
  });

  it('round-trips the feature header and the mig state struct', () => {
    const raw = encodeDeviceFeature(GET | MIG_STATE, encodeMigState({ deviceState: 3, dataFd: -1 }));
    expect([...raw]).toEqual([16, 0, 0, 0, 2, 0, 1, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const d = decodeDeviceFeature(raw);
    expect([d.argsz, d.flags]).toEqual([16, 0x10002]);
    expect(decodeMigState(d.data)).toEqual({ deviceState: 3, dataFd: -1 });
  });

  describe('through the ioctl front end', () => {
    it('returns a stream handle in data_fd and registers the stream in the handle table', () => {
      const handles = new HandleTable();
      const { dev } = migDevice();
      const io = new VfioIoctl(dev, handles);
      const arg = encodeDeviceFeature(SET | MIG_STATE, encodeMigState({ deviceState: VFIO_DEVICE_STATE_STOP_COPY, dataFd: -1 }));
      expect(io.ioctl(VFIO_DEVICE_FEATURE, arg)).toBe(0);
      const fd = decodeMigState(arg.subarray(8)).dataFd;
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(handles.get(fd)).toBeInstanceOf(VfioMigrationStream);
    });

    it('leaves data_fd −1 when the transition opens no stream', () => {
      const io = new VfioIoctl(migDevice().dev);
      const arg = encodeDeviceFeature(SET | MIG_STATE, encodeMigState({ deviceState: VFIO_DEVICE_STATE_STOP, dataFd: 7 }));
      io.ioctl(VFIO_DEVICE_FEATURE, arg);
      expect(decodeMigState(arg.subarray(8)).dataFd).toBe(-1);
    });

    it('answers argsz < 8 with EINVAL and argsz past the buffer with EFAULT', () => {
      const io = new VfioIoctl(migDevice().dev);
      const arg = encodeDeviceFeature(GET | MIG_STATE, new Uint8Array(8));
      arg[0] = 7;
      expect(errnoOf(() => io.ioctl(VFIO_DEVICE_FEATURE, arg))).toBe('EINVAL');
      arg[0] = 32;
      expect(errnoOf(() => io.ioctl(VFIO_DEVICE_FEATURE, arg))).toBe('EFAULT');
    });
  });
});
