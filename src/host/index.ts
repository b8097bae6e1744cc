/**
 * `vidxd/host`: the host driver of the DSA model. It brings a device up through config-space and
 * BAR0 accesses only (as Linux idxd does), applies a configuration given as plain data, hands out
 * WQ objects and routes error and completion interrupts to their owners. Imports `dsa`, `pci`.
 */
export { dwordField, packRegister, unpackField } from './codec.js';
export { type DeviceConfig, type GroupConfig, validateConfig, type WqMode, type WqSpec } from './config.js';
export {
  type CompletionHandler, type DsaPciDevice, type HostHeld, type HostTeardownOptions, IdxdHost, type IdxdHostOptions, type InterruptHandle,
} from './driver.js';
export { HostBusyError, HostErrno, type HostErrnoName, HostError } from './errors.js';
export {
  enableCommand, enableDevice, enableMsix, enableSvm, findCapability, findExtCapability, type MsixInfo, readMsix, type SvmState,
} from './pci.js';
export { type DsaDeviceInfo, probeRegisters, readRegister, type RegisterAccess } from './probe.js';
export { type SoftwareErrorRecord, takeSoftwareError } from './swerr.js';
export { HostWq, type WqOwner } from './wq.js';
