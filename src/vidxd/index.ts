/**
 * `vidxd/vidxd`: the virtual idxd device — a mediated device whose config space and BAR0 are trapped
 * and emulated and whose BAR2 portal pages are passed through to one work queue of a DSA device owned
 * by its host driver (vidxd-device.md §3–§9) — its mdev parent, and the whole DSA PF as a
 * pass-through VFIO device. Imports every layer below it through their entry points.
 */
export { VdevBar0 } from './bar0.js';
export { VDEV_BAR2_AREAS, VdevBar2 } from './bar2.js';
export {
  COMMAND_WAITS, VDEV_COMMAND_BY_CODE, VDEV_COMMAND_MASK, VDEV_COMMANDS, type VdevCommandContext, type VdevCommandDef,
  type VdevCommandUnit, type VdevPciState, type VdevWaitKind, type VdevWqConfig,
} from './commands.js';
export {
  buildVdevFunction, VDEV_CLASS_CODE, VDEV_SUBSYSTEM_VENDOR_ID, VDEV_VENDOR_ID, VdevCapOffset, type VdevPciParts,
} from './config.js';
export { type VdevFacts, vdevFacts, type VdevMode } from './facts.js';
export { VdevHandles } from './handles.js';
export { VdevErrorCode, VdevInterrupts } from './interrupts.js';
export {
  LIMITED_PAGE, UNLIMITED_PAGE, VDEV_BAR0_SIZE, VDEV_BAR2_SIZE, VDEV_DEFAULT_VECTORS, VDEV_LAYOUT, VDEV_MAX_VECTORS,
  VDEV_PORTAL_BAR, VDEV_REGISTER_BAR,
} from './layout.js';
export { DEDICATED_TYPE, SHARED_TYPE, type VdevTypeName, VidxdParent, type VidxdParentOptions } from './parent.js';
export { type PfMapping, pfVfioOps } from './pf.js';
export { VdevPortalMapping, VdevPortals } from './portals.js';
export {
  VDEV_BLOCKS, VDEV_CMD, VDEV_CMDCAP, VDEV_CMDSTS, VDEV_ENGCAP, VDEV_EXACT_WRITES, VDEV_GENCAP, VDEV_GENCFG, VDEV_GENCTRL,
  VDEV_GENERAL_BLOCK, VDEV_GENSTS, VDEV_GRPCAP, VDEV_GRPCFG_BLOCK, VDEV_GRPENGCFG, VDEV_GRPFLAGS, VDEV_GRPWQCFG, VDEV_INTCAUSE,
  VDEV_MSIX_ENTRY, VDEV_MSIX_PBA, VDEV_MSIX_PBA_BLOCK, VDEV_MSIX_PERM, VDEV_MSIX_PERM_BLOCK, VDEV_MSIX_TABLE_BLOCK, VDEV_OFFSETS,
  VDEV_OPCAP, VDEV_SWERR, VDEV_VERSION, VDEV_WQCAP, VDEV_WQCFG_DEDICATED, VDEV_WQCFG_SHARED, type VdevRegisterContext,
  vdevRegisterContext, vdevWqcfg,
} from './registers.js';
export { checkSharedLimit, type SharedLimit, Vdev, type VdevOptions } from './vdev.js';
