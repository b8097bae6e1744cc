/**
 * PRE_COPY (vidxd-device.md §10.1, vfio-uapi.md §8.5): the initial image (everything but the trapped
 * queue) with `initial_bytes` falling as it is read, ENOMSG at a temporary end, a register change made
 * visible as `dirty_bytes` and sent again, PRE_COPY → STOP_COPY continuing the same stream with the
 * final record, and a destination loading the whole concatenation.
 */
import { describe, expect, it } from 'vitest';
import {
  VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY, type VfioMigrationStream,
} from '../../src/vfio/index.js';
import { errnoOf } from '../util/errno.js';
import { createVdev, DWQ, Guest, parentRig, SWQ } from './fixtures.js';
import { load, readAll, secondParent } from './migration-fixtures.js';

describe('migration: PRE_COPY', () => {
  it('reports initial_bytes falling as read, ENOMSG at a temporary end, dirty_bytes after a change, and continues into STOP_COPY', () => {
    const rig = parentRig();
    const g = new Guest(rig, createVdev(rig, DWQ).uuid).up();
    g.handle(1);
    const s = g.dev.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
    const first = s.precopyInfo();
    expect(first.initialBytes).toBeGreaterThan(100);
    expect(first.dirtyBytes).toBe(0);
    const part = new Uint8Array(64);
    expect(s.read(part)).toBe(64);
    expect(s.precopyInfo()).toEqual({ initialBytes: first.initialBytes - 64, dirtyBytes: 0 });
    const rest = new Uint8Array(first.initialBytes);
    expect(s.read(rest)).toBe(first.initialBytes - 64);
    expect(s.precopyInfo()).toEqual({ initialBytes: 0, dirtyBytes: 0 });
    expect(errnoOf(() => s.read(new Uint8Array(16)))).toBe('ENOMSG');
    // The guest changes a register: the state is sent again.
    g.w32(0x88, 1);
    const info = s.precopyInfo();
    expect(info.initialBytes).toBe(0);
    expect(info.dirtyBytes).toBeGreaterThan(100);
    const again = new Uint8Array(info.dirtyBytes);
    expect(s.read(again)).toBe(info.dirtyBytes);
    expect(errnoOf(() => s.read(new Uint8Array(16)))).toBe('ENOMSG');
    // PRE_COPY → STOP_COPY: the same stream carries the final record, then ends.
    expect(g.dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY)).toBeNull();
    expect(s.valid).toBe(true);
    const last = readAll(s);
    expect(s.read(new Uint8Array(16))).toBe(0);
    g.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(s.valid).toBe(false);
    // The destination takes the whole concatenation.
    const all = new Uint8Array(first.initialBytes + again.length + last.length);
    all.set(part, 0);
    all.set(rest.subarray(0, first.initialBytes - 64), 64);
    all.set(again, first.initialBytes);
    all.set(last, first.initialBytes + again.length);
    const rigB = secondParent();
    const d = new Guest(rigB, createVdev(rigB, DWQ).uuid);
    load(d.dev, all, 77);
    d.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(d.r32(0x88)).toBe(1);
    expect(d.r32(0x90) & 3).toBe(1);
  });

  it('PRE_COPY → RUNNING closes the stream and changes nothing', () => {
    const rig = parentRig();
    const g = new Guest(rig, createVdev(rig, SWQ).uuid).up();
    const s = g.dev.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
    g.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(errnoOf(() => s.read(new Uint8Array(8)))).toBe('ENODEV');
    expect(g.r32(0x90) & 3).toBe(1);
  });

  it('a stream of pre-copy records without the final one is refused', () => {
    const rig = parentRig();
    const g = new Guest(rig, createVdev(rig, DWQ).uuid).up();
    const s = g.dev.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
    const info = s.precopyInfo();
    const bytes = new Uint8Array(info.initialBytes);
    s.read(bytes);
    const rigB = secondParent();
    const d = new Guest(rigB, createVdev(rigB, DWQ).uuid);
    expect(() => load(d.dev, bytes)).toThrowError(/final/);
  });
});
