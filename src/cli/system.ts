/**
 * The system the commands build, playing the VMM: the default DSA model (deterministic: the VMM
 * steps it), its host driver configured with one group holding a dedicated and a shared mediated WQ,
 * the vidxd parent on an mdev bus, and per virtual machine a vdev opened as a VFIO device with its
 * own guest memory and IOAS.
 */
import { BAR0_BLOCKS, type BlockDef, DsaDevice, type RegisterFile } from '../dsa/index.js';
import { type DeviceConfig, IdxdHost } from '../host/index.js';
import { GuestMemory, PAGE_SIZE } from '../memory/index.js';
import { MdevBus } from '../mdev/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VfioDevice, VfioIoas } from '../vfio/index.js';
import { DEDICATED_TYPE, pfVfioOps, SHARED_TYPE, VDEV_BLOCKS, type VdevTypeName, VidxdParent, type VdevPortalMapping } from '../vidxd/index.js';

/** The device types the commands know. */
export const DEVICE_TYPES = [DEDICATED_TYPE, SHARED_TYPE, 'pf'] as const;
/** One of {@link DEVICE_TYPES}. */
export type DeviceType = (typeof DEVICE_TYPES)[number];

/**
 * The host configuration: group 0 with every engine, WQ 0 dedicated and WQ 1 shared, both mediated
 * (so the host driver turns GENCFG.user_int_en on by default: the shared WQ's user-mode PASID
 * descriptors request completion interrupts).
 */
export const DEMO_CONFIG: DeviceConfig = {
  groups: [{ id: 0, engines: [0, 1, 2, 3] }],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 32, mediated: true },
    { id: 1, group: 0, mode: 'shared', size: 64, threshold: 48, mediated: true },
  ],
};

/** The parent side: device model, host driver, vidxd parent and the mdev bus. */
export interface HostSystem {
  /** The DSA device model (deterministic unless built otherwise). */
  readonly dev: DsaDevice;
  /** Its host driver. */
  readonly host: IdxdHost;
  /** The vidxd mdev parent. */
  readonly parent: VidxdParent;
  /** The mdev bus the parent is registered on. */
  readonly bus: MdevBus<VdevPortalMapping>;
}

/**
 * Builds the parent side. `mode`: deterministic (default; the VMM steps the model) or automatic (the
 * model runs descriptors as they arrive, as `vidxd serve` needs).
 */
export function buildHost(mode: 'deterministic' | 'automatic' = 'deterministic'): HostSystem {
  const dev = new DsaDevice({ mode });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(DEMO_CONFIG);
  const parent = new VidxdParent(host);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  return { dev, host, parent, bus };
}

/** A virtual machine's view: its vdev opened as a VFIO device, its memory and its IOAS. */
export interface DemoVm {
  /** The vdev's UUID. */
  readonly uuid: string;
  /** Its mdev type name. */
  readonly type: string;
  /** The vdev opened as a VFIO device. */
  readonly device: VfioDevice<VdevPortalMapping>;
  /** The VM's memory. */
  readonly memory: GuestMemory;
  /** The VM's IOAS. */
  readonly ioas: VfioIoas;
  /** Pages of memory the VMM has not mapped yet (IOVAs). */
  readonly unmapped: Set<number>;
  /** Maps the page holding `iova` (the VMM resolving a guest's page fault); false when it is not a missing page. */
  mapPage(iova: number): boolean;
}

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/**
 * Creates a vdev of `type` with `uuid`, opens it and gives it `memSize` bytes of guest memory mapped
 * 1:1 at IOVA 0 in a new IOAS, except the pages listed in `holes` (mapped later by {@link DemoVm.mapPage}).
 */
export function createVm(sys: HostSystem, type: VdevTypeName, uuid: string, memSize: number, holes: readonly number[] = []): DemoVm {
  sys.bus.create(sys.parent.typeId(type), uuid);
  const device = sys.bus.open(uuid);
  const memory = new GuestMemory(memSize);
  const ioas = new VfioIoas();
  const unmapped = new Set(holes.map((h) => h - (h % PAGE_SIZE)));
  let start = 0;
  for (const hole of [...unmapped].sort((a, b) => a - b)) {
    if (hole > start) ioas.map({ iova: start, size: hole - start, memory, offset: start, flags: RW });
    start = hole + PAGE_SIZE;
  }
  if (start < memSize) ioas.map({ iova: start, size: memSize - start, memory, offset: start, flags: RW });
  device.attachIoas(ioas);
  return {
    uuid, type, device, memory, ioas, unmapped,
    mapPage(iova: number): boolean {
      const page = iova - (iova % PAGE_SIZE);
      if (!unmapped.delete(page)) return false;
      ioas.map({ iova: page, size: PAGE_SIZE, memory, offset: page, flags: RW });
      return true;
    },
  };
}

/** A device the lspci and regs commands look at. */
export interface InspectedDevice {
  /** The VFIO device. */
  readonly device: VfioDevice<unknown>;
  /** Its BAR0 register tables (the vdev's own, or the DSA model's). */
  readonly blocks: readonly BlockDef[];
  /** Its register file, compiled from those tables: where each block sits ({@link RegisterFile.placement}). */
  readonly regs: RegisterFile;
  /** The guest memory of the VM that opened it. */
  readonly memory: GuestMemory;
  /** The VMM's progress hook (steps the device model). */
  readonly poll: () => boolean;
}

/** A VFIO device of `type` at its reset state: a fresh vdev opened by a VM, or the whole DSA PF passed through. */
export function inspectDevice(type: DeviceType): InspectedDevice {
  if (type === 'pf') {
    const pf = new DsaDevice();
    const device = new VfioDevice(pfVfioOps(pf));
    const memory = new GuestMemory(0x10000);
    const ioas = new VfioIoas();
    ioas.map({ iova: 0, size: memory.size, memory, offset: 0, flags: RW });
    device.attachIoas(ioas);
    return { device, blocks: BAR0_BLOCKS, regs: pf.regs, memory, poll: () => pf.step() };
  }
  const sys = buildHost();
  const uuid = '3b0ad1a5-0000-4000-8000-000000000001';
  const vm = createVm(sys, type, uuid, 0x10000);
  const vdev = sys.parent.vdev(uuid);
  if (vdev === undefined) throw new Error(`vdev ${uuid} was not created`);
  return { device: vm.device, blocks: VDEV_BLOCKS[vdev.mode], regs: vdev.regs, memory: vm.memory, poll: () => sys.dev.step() };
}
