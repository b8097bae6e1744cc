/**
 * Trapped-path section of the bench: nanoseconds per 4-byte access of an open, enabled dedicated
 * vdev — BAR0 read (GENSTS) and write (GENCTRL), config-space read (vendor/device ID) and write
 * (cache line size and latency timer, both writable so the write does real work). The `trap.*` rows
 * go through the VFIO device's `read`/`write` at a region-encoded position (`index << 40 | offset`,
 * as a VMM's pread/pwrite); the `trap.*.region` rows through `readRegion`/`writeRegion`, the form
 * that takes the index and offset as small integers. Each is measured in interleaved batches with its
 * baseline, a `DataView` read of the same offset of a plain 8 KiB buffer. Neither form allocates
 * (no GC over 10 million accesses).
 */
import { VDEV_GENCTRL, VDEV_GENSTS } from '../../src/vidxd/index.js';
import { regionOffset } from '../../src/vfio/index.js';
import { BAR0, BenchGuest, CONFIG, DEDICATED_CONFIG, DWQ, nextUuid, rig } from './rig.js';
import { type BenchRow, ratePair, row } from './timing.js';

/** Config-space offsets: vendor/device ID (read), cache line size + latency timer (written). */
const CFG_ID = 0x00;
const CFG_CACHE_LINE = 0x0c;

/** Rows of the trapped-path section. */
export function trapSection(): BenchRow[] {
  const r = rig(DEDICATED_CONFIG);
  const uuid = nextUuid();
  r.bus.create(DWQ, uuid);
  const dev = new BenchGuest(r.bus, uuid, 0).up(false).dev;
  const buf = new Uint8Array(4);
  const genctrl = new Uint8Array([3, 0, 0, 0]);
  const cacheLine = new Uint8Array([0x10, 0, 0, 0]);
  const plain = new DataView(new ArrayBuffer(0x2000));
  const bar0 = regionOffset(BAR0);
  const config = regionOffset(CONFIG);
  let sink = 0;

  const cases: readonly (readonly [string, number, (n: number) => void])[] = [
    ['trap.bar0.read', VDEV_GENSTS.offset, (n) => {
      for (let i = 0; i < n; i++) sink += dev.read(bar0 + VDEV_GENSTS.offset, buf);
    }],
    ['trap.bar0.write', VDEV_GENCTRL.offset, (n) => {
      for (let i = 0; i < n; i++) sink += dev.write(bar0 + VDEV_GENCTRL.offset, genctrl);
    }],
    ['trap.config.read', CFG_ID, (n) => {
      for (let i = 0; i < n; i++) sink += dev.read(config + CFG_ID, buf);
    }],
    ['trap.config.write', CFG_CACHE_LINE, (n) => {
      for (let i = 0; i < n; i++) sink += dev.write(config + CFG_CACHE_LINE, cacheLine);
    }],
    ['trap.bar0.read.region', VDEV_GENSTS.offset, (n) => {
      for (let i = 0; i < n; i++) sink += dev.readRegion(BAR0, VDEV_GENSTS.offset, buf);
    }],
    ['trap.bar0.write.region', VDEV_GENCTRL.offset, (n) => {
      for (let i = 0; i < n; i++) sink += dev.writeRegion(BAR0, VDEV_GENCTRL.offset, genctrl);
    }],
    ['trap.config.read.region', CFG_ID, (n) => {
      for (let i = 0; i < n; i++) sink += dev.readRegion(CONFIG, CFG_ID, buf);
    }],
    ['trap.config.write.region', CFG_CACHE_LINE, (n) => {
      for (let i = 0; i < n; i++) sink += dev.writeRegion(CONFIG, CFG_CACHE_LINE, cacheLine);
    }],
  ];
  const rows: BenchRow[] = [];
  for (const [name, offset, body] of cases) {
    const [trapped, direct] = ratePair(body, (n) => {
      for (let i = 0; i < n; i++) sink += plain.getUint32(offset, true);
    }, 800);
    rows.push(row(name, 1e9 / trapped, 'ns', 1e9 / direct));
  }
  // Keeps the loops' results alive; also a check that the accesses reported their sizes.
  if (sink === 0) throw new Error('the trapped accesses reported no bytes');
  return rows;
}
