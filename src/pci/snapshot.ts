/**
 * The versioned byte layout of a function's saved state:
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 4 | magic `VXPC` |
 * | 4 | 2 | layout version (1), little-endian |
 * | 6 | 2 | header length (16) |
 * | 8 | 4 | config-space size (256 or 4096) |
 * | 12 | 4 | size of the capabilities' out-of-config state (e.g. the MSI-X table and PBA) |
 * | 16 | config size | config-space bytes |
 * | … | state size | each capability's state, in capability order |
 */
import { readLe } from './bytes.js';

/** Magic at the start of a snapshot ("VXPC"). */
export const SNAPSHOT_MAGIC = 0x43505856;
/** Layout version written and accepted by this library. */
export const SNAPSHOT_VERSION = 1;
/** Bytes before the config image. */
export const SNAPSHOT_HEADER_SIZE = 16;

/** Writes the snapshot header for a config of `configSize` bytes and `stateSize` bytes of extra state into a new buffer. */
export function newSnapshot(configSize: number, stateSize: number): Uint8Array {
  const out = new Uint8Array(SNAPSHOT_HEADER_SIZE + configSize + stateSize);
  const view = new DataView(out.buffer);
  view.setUint32(0, SNAPSHOT_MAGIC, true);
  view.setUint16(4, SNAPSHOT_VERSION, true);
  view.setUint16(6, SNAPSHOT_HEADER_SIZE, true);
  view.setUint32(8, configSize, true);
  view.setUint32(12, stateSize, true);
  return out;
}

/** Throws a plain `Error` unless `snap` is a snapshot of this layout version with these sizes. */
export function checkSnapshot(snap: Uint8Array, configSize: number, stateSize: number): void {
  if (snap.length < SNAPSHOT_HEADER_SIZE || readLe(snap, 0, 4) !== SNAPSHOT_MAGIC) {
    throw new Error('not a vidxd PCI function snapshot (bad magic)');
  }
  const version = readLe(snap, 4, 2);
  if (version !== SNAPSHOT_VERSION) throw new Error(`snapshot layout version ${version} is not supported (expected ${SNAPSHOT_VERSION})`);
  if (readLe(snap, 6, 2) !== SNAPSHOT_HEADER_SIZE) throw new Error(`snapshot header length ${readLe(snap, 6, 2)} is not ${SNAPSHOT_HEADER_SIZE}`);
  const cfg = readLe(snap, 8, 4);
  const state = readLe(snap, 12, 4);
  if (cfg !== configSize) throw new Error(`snapshot holds a ${cfg}-byte config space; this function has ${configSize}`);
  if (state !== stateSize) throw new Error(`snapshot holds ${state} bytes of capability state; this function needs ${stateSize}`);
  const total = SNAPSHOT_HEADER_SIZE + configSize + stateSize;
  if (snap.length !== total) throw new Error(`snapshot is ${snap.length} bytes; expected ${total}`);
}
