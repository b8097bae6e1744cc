/**
 * Fixtures of the migration tests: a second parent that differs from the first in everything a stream
 * must never name (its mediated WQs have other indices, its host PASIDs and interrupt-handle numbers
 * start elsewhere), and the VMM's side of a migration of one VFIO device to another (the data stream
 * moved as QEMU moves it: every byte read from the source written to the destination).
 */
import type { DeviceConfig } from '../../src/host/index.js';
import {
  type VfioDevice, VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY,
  type VfioMigrationStream,
} from '../../src/vfio/index.js';
import { type ParentRig, parentRig } from './fixtures.js';

/**
 * The second parent's configuration: WQ 0 for the host's own use; the mediated dedicated WQs are 2
 * (16 entries) and 3 (8, block on fault), the mediated shared WQs 5 (32, threshold 24) and 6 — the same
 * shapes as the first parent's, at other indices.
 */
export const SECOND_PARENT_CONFIG: DeviceConfig = {
  groups: [
    { id: 0, engines: [0] },
    { id: 1, engines: [1, 2] },
    { id: 2, engines: [3], tcA: 2, tcB: 3 },
  ],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 8 },
    { id: 2, group: 1, mode: 'dedicated', size: 16, mediated: true },
    { id: 3, group: 1, mode: 'dedicated', size: 8, priority: 5, blockOnFault: true, maxTransferShift: 20, mediated: true },
    { id: 5, group: 2, mode: 'shared', size: 32, threshold: 24, mediated: true },
    { id: 6, group: 2, mode: 'shared', size: 16, mediated: true },
  ],
};

/**
 * A second parent whose host PASIDs and interrupt-handle numbers are taken up to `offset` by the
 * host itself, so every vdev created on it gets other numbers than on a fresh {@link parentRig}.
 */
export function secondParent(offset = 5): ParentRig {
  const rig = parentRig({ config: SECOND_PARENT_CONFIG });
  for (let i = 0; i < offset; i++) rig.host.allocatePasid(null);
  for (let i = 0; i < offset; i++) rig.host.allocInterruptHandle(() => {}, null);
  return rig;
}

/** Reads a saving stream to its end (`VfioMigrationStream.readAll`). */
export function readAll(stream: VfioMigrationStream, chunk = 4096): Uint8Array {
  return stream.readAll(chunk);
}

/** The final stream of a stopped-and-saved source (RUNNING → STOP → STOP_COPY, read, → STOP). */
export function saveFinal(src: VfioDevice): Uint8Array {
  const s = src.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream;
  const bytes = readAll(s);
  src.setMigrationState(VFIO_DEVICE_STATE_STOP);
  return bytes;
}

/** Loads `bytes` into `dst` (→ RESUMING, write in `chunk`-byte pieces, → STOP). */
export function load(dst: VfioDevice, bytes: Uint8Array, chunk = 1000): void {
  const s = dst.setMigrationState(VFIO_DEVICE_STATE_RESUMING) as VfioMigrationStream;
  for (let at = 0; at < bytes.length; at += chunk) s.write(bytes.subarray(at, Math.min(bytes.length, at + chunk)));
  dst.setMigrationState(VFIO_DEVICE_STATE_STOP);
}

/** A stop-and-copy migration of `src` to `dst`; both end RUNNING (the source may be closed afterwards). Returns the stream. */
export function migrate(src: VfioDevice, dst: VfioDevice): Uint8Array {
  const bytes = saveFinal(src);
  load(dst, bytes);
  dst.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
  return bytes;
}
