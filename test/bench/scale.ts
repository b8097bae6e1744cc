/**
 * Scale section of the bench: 1,000 `dsa-1swq-v1` vdevs on one parent (one shared WQ whose
 * `sharedSlots` takes them all).
 *
 * - `scale.vdevs1000`: milliseconds to create 1,000 vdevs, open each, bring each up as its guest
 *   would (PCI, PASID/ATS/PRI, WQCFG PASID, ENABLE_DEVICE, ENABLE_WQ through the VFIO region
 *   accesses), then close and remove them all; all 1,000 live on the parent at once. Best of a few
 *   cycles on fresh parents (the first one also warms the code).
 * - `scale.bytesPerVdev`: retained memory per vdev with 1,000 created and open, from
 *   `process.memoryUsage()` after full GCs (`--expose-gc`): JS heap plus external memory (typed
 *   arrays' backing stores are external), divided by 1,000.
 */
import type { VfioDevice } from '../../src/vfio/index.js';
import { BenchGuest, nextUuid, rig, type Rig, SHARED_CONFIG, SWQ } from './rig.js';
import { type BenchRow, row } from './timing.js';
import type { VdevPortalMapping } from '../../src/vidxd/index.js';

const VDEVS = 1000;
const TYPE = SWQ;
const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

function parent(): Rig {
  return rig(SHARED_CONFIG, { sharedSlots: VDEVS });
}

/** One create → open → enable → close → remove cycle of {@link VDEVS} vdevs; returns its milliseconds. */
function cycle(): number {
  const r = parent();
  const uuids = Array.from({ length: VDEVS }, () => nextUuid());
  const devs: VfioDevice<VdevPortalMapping>[] = [];
  const t0 = performance.now();
  for (const uuid of uuids) {
    r.bus.create(TYPE, uuid);
    devs.push(new BenchGuest(r.bus, uuid, 0).up(true).dev);
  }
  for (let i = 0; i < VDEVS; i++) {
    (devs[i] as VfioDevice<VdevPortalMapping>).close();
    r.bus.remove(uuids[i] as string);
  }
  const ms = performance.now() - t0;
  if (r.parent.vdev(uuids[0] as string) !== undefined) throw new Error('a removed vdev is still known to the parent');
  return ms;
}

function retained(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Rows of the scale section. */
export function scaleSection(): BenchRow[] {
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) best = Math.min(best, cycle());

  const r = parent();
  const before = retained();
  const devs: VfioDevice<VdevPortalMapping>[] = [];
  let last = '';
  for (let i = 0; i < VDEVS; i++) {
    last = nextUuid();
    r.bus.create(TYPE, last);
    devs.push(r.bus.open(last));
  }
  const after = retained();
  // Also keeps `devs` alive until after the measurement.
  if (devs.length !== VDEVS || r.parent.vdev(last) === undefined) throw new Error('the vdevs were not kept');
  return [row('scale.vdevs1000', best, 'ms'), row('scale.bytesPerVdev', (after - before) / VDEVS, 'B')];
}
