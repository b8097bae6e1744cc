/**
 * Fixtures of the reference-driver tests: a VM (a vdev of the vidxd test parent, opened as a VFIO
 * device, with its own guest memory mapped 1:1 at IOVA 0 in its own IOAS, optionally with pages left
 * unmapped until the fault hook maps them) and the reference driver opened on it. The device model is
 * deterministic; the driver's poll hook steps it, as a VMM's `cpu_relax` would.
 */
import { IdxdGuest, type IdxdGuestOptions, type PageFault } from '../../src/guest/index.js';
import { GuestMemory, PAGE_SIZE } from '../../src/memory/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, type VfioDevice, VfioIoas } from '../../src/vfio/index.js';
import type { Vdev } from '../../src/vidxd/index.js';
import { createVdev, DWQ, GUEST_MEM, type ParentRig, parentRig, SWQ } from '../vidxd/fixtures.js';
import type { VdevPortalMapping } from '../../src/vidxd/index.js';

export { DWQ, SWQ };

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/** A VM with the reference driver. */
export interface GuestVm {
  readonly rig: ParentRig;
  readonly vdev: Vdev;
  /** The vdev opened as a VFIO device (what the driver drives). */
  readonly device: VfioDevice<VdevPortalMapping>;
  readonly mem: GuestMemory;
  readonly ioas: VfioIoas;
  readonly g: IdxdGuest;
  /** Faults the driver asked the fault hook about. */
  readonly faults: PageFault[];
  /** Pages still unmapped. */
  readonly holes: Set<number>;
  /** `n` bytes of guest memory at `iova`. */
  at(iova: number, n: number): Uint8Array;
}

/** What {@link openVm} sets up. */
export interface VmOptions extends Partial<Omit<IdxdGuestOptions, 'device' | 'memory'>> {
  /** Pages (IOVAs) left unmapped; the default fault hook maps them when the driver reports a fault there. */
  readonly holes?: readonly number[];
  /** The rig to create the vdev on (default: a fresh one). */
  readonly rig?: ParentRig;
}

/** Creates a vdev of `type`, opens it in a VM and brings the reference driver up on it. */
export async function openVm(type: string, o: VmOptions = {}): Promise<GuestVm> {
  const rig = o.rig ?? parentRig();
  const { uuid, vdev } = createVdev(rig, type);
  const device = rig.bus.open(uuid);
  const mem = new GuestMemory(GUEST_MEM);
  const ioas = new VfioIoas();
  const holes = new Set((o.holes ?? []).map((h) => h - (h % PAGE_SIZE)));
  for (let page = 0; page < GUEST_MEM; page += PAGE_SIZE) {
    if (!holes.has(page)) ioas.map({ iova: page, size: PAGE_SIZE, memory: mem, offset: page, flags: RW });
  }
  device.attachIoas(ioas);
  const faults: PageFault[] = [];
  const g = await IdxdGuest.open({
    poll: () => rig.dev.step(),
    onPageFault: (f) => {
      faults.push(f);
      const page = f.address - (f.address % PAGE_SIZE);
      if (!holes.delete(page)) return false;
      ioas.map({ iova: page, size: PAGE_SIZE, memory: mem, offset: page, flags: RW });
      return true;
    },
    ...o,
    device,
    memory: mem,
  });
  return { rig, vdev, device, mem, ioas, g, faults, holes, at: (iova, n) => mem.bytes.subarray(iova, iova + n) };
}

/** The four ways the driver reaches a vdev: both types, mapped portal and trapped BAR2 writes. */
export const VARIANTS = [
  ['dedicated', DWQ, 'mapped'],
  ['dedicated', DWQ, 'trapped'],
  ['shared', SWQ, 'mapped'],
  ['shared', SWQ, 'trapped'],
] as const;
