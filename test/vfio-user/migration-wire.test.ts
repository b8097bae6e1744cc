/**
 * Migration and DMA logging over the wire (vfio-uapi.md §11.9): DEVICE_FEATURE carries MIGRATION,
 * MIG_DEVICE_STATE, MIG_DATA_SIZE and DMA logging (ranges and bitmap inline); MIG_DATA_READ is valid
 * only on a saving stream (PRE_COPY, STOP_COPY; a short read marks the end of what is there),
 * MIG_DATA_WRITE only in RESUMING, EINVAL elsewhere; a stream read from one served vdev loads into
 * another; DMA logging's checks answer with their errno.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  VFIO_DEVICE_STATE_ERROR, VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, VFIO_DEVICE_FEATURE_SET, VfioError,
} from '../../src/vfio/index.js';
import { VfioUserClient } from '../../src/vfio-user/index.js';
import { SHARED_TYPE } from '../../src/vidxd/index.js';
import { type Served, serveVdev, u32le } from './wire.js';

const served: Served[] = [];
const clients: VfioUserClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of served.splice(0)) await s.server.close();
});

async function attach(type?: string): Promise<{ s: Served; c: VfioUserClient }> {
  const s = await serveVdev('net', type);
  served.push(s);
  const c = await VfioUserClient.connect(s.path, { transport: 'net' });
  clients.push(c);
  return { s, c };
}

async function errno(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof VfioError ? e.code : 'not a VfioError';
  }
  return undefined;
}

describe('migration over vfio-user', () => {
  it('moves a vdev\'s state from one served device to another with MIG_DATA_READ and MIG_DATA_WRITE', async () => {
    const { s: a, c: ca } = await attach(SHARED_TYPE);
    const { s: b, c: cb } = await attach(SHARED_TYPE);
    expect(await ca.migrationFlags()).toBe(5);
    const gencfg = new Uint8Array(4);
    new DataView(gencfg.buffer).setUint32(0, 3, true);
    await ca.writeRegion(0, 0x88, gencfg);
    const size = await ca.migrationDataSize();
    await ca.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY);
    expect(await ca.migrationState()).toBe(VFIO_DEVICE_STATE_STOP_COPY);
    const bytes = await ca.migrationReadAll();
    expect(bytes.length).toBe(size);
    expect((await ca.migrationRead()).length).toBe(0);
    await ca.setMigrationState(VFIO_DEVICE_STATE_STOP);
    await cb.setMigrationState(VFIO_DEVICE_STATE_RESUMING);
    // In two pieces, as a client with a small transfer size would.
    await cb.migrationWrite(bytes.subarray(0, 100));
    await cb.migrationWrite(bytes.subarray(100));
    await cb.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    const back = new Uint8Array(4);
    await cb.readRegion(0, 0x88, back);
    expect(new DataView(back.buffer).getUint32(0, true)).toBe(3);
    expect(b.vdev.wq.id).toBe(a.vdev.wq.id);
  });

  it('answers MIG_DATA_READ and MIG_DATA_WRITE with EINVAL outside their states; PRE_COPY reads run short at a temporary end', async () => {
    const { c } = await attach();
    expect(await errno(c.migrationRead(64))).toBe('EINVAL');
    expect(await errno(c.migrationWrite(new Uint8Array(8)))).toBe('EINVAL');
    await c.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY);
    const first = await c.migrationReadAll();
    expect(first.length).toBeGreaterThan(0);
    expect((await c.migrationRead(64)).length).toBe(0);
    expect(await errno(c.migrationWrite(new Uint8Array(8)))).toBe('EINVAL');
    await c.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(await errno(c.migrationRead(64))).toBe('EINVAL');
    await c.setMigrationState(VFIO_DEVICE_STATE_RESUMING);
    expect(await errno(c.migrationRead(64))).toBe('EINVAL');
    await c.migrationWrite(new Uint8Array([1, 2, 3]));
    expect(await errno(c.setMigrationState(VFIO_DEVICE_STATE_STOP))).toBe('EINVAL');
    expect(await c.migrationState()).toBe(VFIO_DEVICE_STATE_ERROR);
    expect(await errno(c.migrationWrite(new Uint8Array(8)))).toBe('EINVAL');
    await c.reset();
    expect(await c.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
  });

  it('carries DMA logging: START echoes the page size, REPORT returns the bitmap inline, errors keep their errno', async () => {
    const { c } = await attach();
    expect(await c.dmaLoggingStart(0x1000, [{ iova: 0, length: 0x100000 }])).toBe(0x1000);
    const bitmap = await c.dmaLoggingReport(0, 0x100000, 0x1000);
    expect(bitmap.length).toBe(32);
    expect(bitmap.every((x) => x === 0)).toBe(true);
    expect(await errno(c.dmaLoggingStart(0x1000, [{ iova: 0, length: 0x1000 }]))).toBe('EBUSY');
    expect(await errno(c.dmaLoggingReport(0, 0x1000, 0x800))).toBe('EINVAL');
    await c.dmaLoggingStop();
    expect(await errno(c.dmaLoggingReport(0, 0x1000, 0x1000))).toBe('EINVAL');
    expect(await errno(c.dmaLoggingStart(0x1000, []))).toBe('EINVAL');
    expect(await errno(c.dmaLoggingStart(0x1000, Array.from({ length: 257 }, (_, i) => ({ iova: i * 0x1000, length: 0x1000 }))))).toBe('E2BIG');
    expect(await errno(c.dmaLoggingStart(0x1000, [{ iova: 0x800, length: 0x1000 }]))).toBe('EINVAL');
    // A START whose payload is shorter than its num_ranges says.
    expect(await errno(c.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, u32le(0x1000, 0, 2, 0)))).toBe('EINVAL');
  });
});
