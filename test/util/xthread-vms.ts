/**
 * The VMs of the cross-thread tests: the demo's host system, and per VM a vdev opened by its VMM, its
 * memory a SharedArrayBuffer mapped 1:1 but for the demo's fault page (mapped when the guest asks, a VMM
 * call of the host), served to a guest thread by an `XthreadDeviceHost` sharing one ring set.
 */
import { FAULT_PAGE, MEM_SIZE } from '../../src/cli/demo.js';
import type { HostSystem } from '../../src/cli/system.js';
import type { SharedPortalSet } from '../../src/dsa/index.js';
import type { VdevPortalMapping } from '../../src/vidxd/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, type VfioDevice, VfioIoas } from '../../src/vfio/index.js';
import type { VdevTypeName } from '../../src/vidxd/index.js';
import { XthreadDeviceHost } from '../../src/vidxd/xthread/index.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const PAGE = 0x1000;

/** One VM of the device thread. */
export interface XthreadVm {
  /** The vdev's UUID. */
  readonly uuid: string;
  /** The vdev opened by the VMM. */
  readonly device: VfioDevice<VdevPortalMapping>;
  /** The guest memory (shared). */
  readonly memory: GuestMemory;
  /** The host serving the guest thread. */
  readonly host: XthreadDeviceHost;
}

/** VM `i` of type `type` on `sys`, its rings in `rings`. */
export function xthreadVm(sys: HostSystem, rings: SharedPortalSet, type: VdevTypeName, i: number): XthreadVm {
  const uuid = `3b0ad1a5-0000-4000-8000-${(i + 1).toString(16).padStart(12, '0')}`;
  sys.bus.create(sys.parent.typeId(type), uuid);
  const device = sys.bus.open(uuid);
  const memory = new GuestMemory(MEM_SIZE, true);
  const ioas = new VfioIoas();
  ioas.map({ iova: 0, size: FAULT_PAGE, memory, offset: 0, flags: RW });
  ioas.map({ iova: FAULT_PAGE + PAGE, size: MEM_SIZE - FAULT_PAGE - PAGE, memory, offset: FAULT_PAGE + PAGE, flags: RW });
  device.attachIoas(ioas);
  let mapped = false;
  const host = new XthreadDeviceHost({
    device,
    rings,
    step: () => sys.dev.step(),
    runUntilIdle: (max) => sys.dev.runUntilIdle(max),
    calls: {
      mapPage: (page) => {
        if (page !== FAULT_PAGE || mapped) return false;
        ioas.map({ iova: FAULT_PAGE, size: PAGE, memory, offset: FAULT_PAGE, flags: RW });
        mapped = true;
        return true;
      },
    },
  });
  return { uuid, device, memory, host };
}
