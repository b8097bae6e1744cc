/**
 * `vidxd/guest`: the reference guest driver of an idxd (DSA) device, written against the VFIO device
 * API only (docs/guest-driver.md). `IdxdGuest.open({ device, memory, ... })` probes and brings the
 * device up; its typed operations return promises of their results.
 */
export { IdxdGuest } from './driver.js';
export type { GuestRam, GuestWqMode, IdxdGuestOptions, PageFault } from './options.js';
export type {
  BatchResult, Completion, CompareResult, CrcOptions, CrcResult, DeltaResult, DifBlockSize, DifCheckOptions, DifOptions, DifResult, DifUpdateDest,
  OpName, OpResult, OpResults, OpSpec, Pattern,
} from './ops.js';
export {
  commandName, type GuestErrorReason, IdxdCommandError, IdxdGuestError, IdxdLostInterruptError, IdxdStatusError, statusName,
} from './errors.js';
export { decodeSwerr, PASID_REJECTED, type SoftwareErrorReport, swerrName } from './swerr.js';
export { GuestHeap } from './heap.js';
export type { GuestStats, OpStats } from './stats.js';
export type { DsaCaps, WqInfo } from './dsa-probe.js';
export type { FoundCapability, MsixInfo, PasidInfo, PciProbe, SizedBar } from './pci-probe.js';
export type { GuestVfio } from './io.js';
export type { PortalLike } from './bringup.js';
