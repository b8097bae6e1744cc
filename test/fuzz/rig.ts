/**
 * The system under fuzz: one DSA device model in deterministic mode on a recording IOMMU, its host
 * driver with two mediated dedicated WQs, two mediated shared WQs (one tiny, so limits and retries
 * are reached) and one dedicated WQ of the host's own, the vidxd parent registered on an mdev bus
 * (the vdevs' vector count and the vdevs a shared WQ takes drawn per run), and the parent's own
 * memory mapped at PASID 0 (the requester-ID space its own WQ uses).
 */
import { DsaDevice, dsaProfile, type Portal } from '../../src/dsa/index.js';
import { type DeviceConfig, type HostWq, IdxdHost } from '../../src/host/index.js';
import { IoAddressSpace, Perm } from '../../src/memory/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { PARENT_CONFIG } from '../vidxd/fixtures.js';
import type { Prng } from '../util/prng.js';
import { MAPPABLE_END, MEM_SIZE } from './layout.js';
import { RecordingIommu } from './recording-iommu.js';
import { HOST_OWNER, WatchedMemory } from './watched-memory.js';

/** WQ of the host's own work (dedicated, no PASID: the requester-ID space). */
export const HOST_WQ = 4;

/**
 * The parent configuration: group 0 (engines 0, 1) holds the dedicated WQs 0 (16 entries) and 1
 * (8, priority 5, block on fault, 1 MiB transfers) for vdevs and WQ 4 for the host; group 1
 * (engines 2, 3) holds the shared WQs 2 (32, threshold 24) and 3 (4, threshold 2).
 */
export const FUZZ_CONFIG: DeviceConfig = {
  // The vdev tests' parent, with shared WQ 3 shrunk so its limit and threshold are reached.
  ...PARENT_CONFIG,
  wqs: PARENT_CONFIG.wqs.map((w) => (w.id === 3 ? { ...w, size: 4, threshold: 2 } : w)),
};

/** MSI-X vectors a run may give its vdevs (vector 0 only, up to seven completion vectors). */
export const VECTOR_CHOICES: readonly number[] = [1, 2, 3, 3, 3, 8];

/** Full type ids of the dedicated-WQ and shared-WQ types on the bus. */
export { DWQ as DWQ_TYPE, SWQ as SWQ_TYPE } from '../vidxd/fixtures.js';

/** The parent side of the fuzzed system. */
export interface FuzzRig {
  /** The DSA model. */
  readonly dev: DsaDevice;
  /** Its IOMMU (every translation logged). */
  readonly iommu: RecordingIommu;
  /** The host driver. */
  readonly host: IdxdHost;
  /** The vidxd parent. */
  readonly parent: VidxdParent;
  /** The mdev bus. */
  readonly bus: MdevBus<VdevPortalMapping>;
  /** The parent's own memory (PASID 0, identity-mapped). */
  readonly hostMemory: WatchedMemory;
  /** The host's own WQ. */
  readonly hostWq: HostWq;
  /** The portal the host submits its own work through. */
  readonly hostPortal: Portal;
}

/**
 * Builds the rig. `wait` is what the host driver calls between polls of a command that waits for
 * descriptors: the fuzzer steps the model there, one checked descriptor at a time.
 */
export function buildRig(r: Prng, wait: () => void): FuzzRig {
  const vectors = r.pick(VECTOR_CHOICES);
  const iommu = new RecordingIommu();
  const dev = new DsaDevice({ profile: dsaProfile(), iommu, mode: 'deterministic' });
  const host = new IdxdHost(dev, { wait, maxPolls: 1000 });
  host.probe();
  // GENCFG.user_int_en drawn per run: without it, Priv-0 descriptors of PASID WQs may not request interrupts.
  host.load({ ...FUZZ_CONFIG, userInterrupts: r.chance(0.75) });
  const hostMemory = new WatchedMemory('parent memory', MEM_SIZE, HOST_OWNER, r);
  const space = new IoAddressSpace();
  space.map(0, MAPPABLE_END, hostMemory.memory, 0, Perm.RW);
  iommu.attach(0, space);
  const parent = new VidxdParent(host, { vectors, sharedSlots: r.range(2, 8) });
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  const hostWq = host.wq(HOST_WQ);
  return { dev, iommu, host, parent, bus, hostMemory, hostWq, hostPortal: hostWq.portal() };
}
