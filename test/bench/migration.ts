/**
 * Migration section of the bench (vidxd-device.md §10): the downtime of a stop-and-copy migration of a
 * dedicated vdev to a vdev of a second parent, in-process — from STOP on the source to RUNNING on the
 * destination: the source stops, its final stream is read, the destination (opened and attached
 * beforehand, as a VMM prepares it) loads it and runs — for an idle vdev (enabled, a handle held) and
 * for one whose trapped queue is full (the WQ size in NOOPs queued while stopped, replayed on the
 * destination); and the size of the STOP_COPY stream of each. The median of 60 migrations (after 15 to warm up).
 */
import { Command, Desc, Flag, Opcode, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import {
  VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY, type VfioMigrationStream,
} from '../../src/vfio/index.js';
import { BAR2, BenchGuest, DEDICATED_CONFIG, DWQ, nextUuid, rig } from './rig.js';
import { type BenchRow, row } from './timing.js';

const RUNS = 60;
const WARMUP = 15;

/** One migration: returns the downtime in ms and the stream's size. */
function once(queue: number): { ms: number; bytes: number } {
  const a = rig(DEDICATED_CONFIG);
  const ua = nextUuid();
  a.bus.create(DWQ, ua);
  const src = new BenchGuest(a.bus, ua, 0x10000).up(false, { interrupts: true });
  src.cmd(Command.REQUEST_INT_HANDLE, 1);
  const b = rig(DEDICATED_CONFIG);
  for (let i = 0; i < 3; i++) b.host.allocInterruptHandle(() => {}, null);
  const ub = nextUuid();
  b.bus.create(DWQ, ub);
  const dst = new BenchGuest(b.bus, ub, 0x10000);
  const desc = new Uint8Array(64);
  const v = new DataView(desc.buffer);
  const t0 = performance.now();
  src.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
  for (let i = 0; i < queue; i++) {
    writeDescHeader(v, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI, 0, false);
    writeDescAddr(v, 0, Desc.CR_ADDR, 0x1000 + 32 * i);
    v.setUint16(Desc.INT_HANDLE, 0, true);
    src.dev.writeRegion(BAR2, 0, desc);
  }
  const bytes = (src.dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream).readAll(16384);
  src.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
  (dst.dev.setMigrationState(VFIO_DEVICE_STATE_RESUMING) as VfioMigrationStream).write(bytes);
  dst.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
  const ms = performance.now() - t0;
  b.dev.runUntilIdle();
  return { ms, bytes: bytes.length };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1] as number;
}

/** Rows of the migration section. */
export function migrationSection(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [name, queue] of [['idle', 0], ['fullqueue', 128]] as const) {
    const ms: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS + WARMUP; i++) {
      const r = once(queue);
      if (i >= WARMUP) ms.push(r.ms);
      bytes = r.bytes;
    }
    rows.push(row(`migration.downtime.${name}`, median(ms), 'ms'));
    rows.push(row(`migration.stream.bytes${name === 'idle' ? '' : `.${name}`}`, bytes, 'B'));
  }
  return rows;
}
