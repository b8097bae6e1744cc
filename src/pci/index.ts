/**
 * `vidxd/pci`: a generic PCI function — config space with per-byte masks, BARs, capabilities,
 * MSI-X, chain validation, snapshot/restore and the lspci dump. Knows nothing of DSA or VFIO.
 */
export { type BarInfo, type BarKind, type BarOptions } from './bar.js';
export { PciFunctionBuilder, type PciFunctionOptions } from './builder.js';
export { type Capability, CapabilityBase, type CapabilityHost, CapabilityId, ExtCapabilityId } from './capability.js';
export { AtsCapability, AtsControl, type AtsOptions } from './capabilities/ats.js';
export {
  MSIX_ENTRY_SIZE, MSIX_VECTOR_CONTROL, MsixCapability, MsixControl, type MsixDelivery, type MsixOptions, type MsixSink,
} from './capabilities/msix.js';
export { PasidCapability, PasidControl, type PasidOptions } from './capabilities/pasid.js';
export {
  PCIE_DEVICE_STATUS_DYNAMIC, PCIE_DEVICE_STATUS_ERRORS, PcieCapability, PcieDeviceCapability, PcieDeviceControl, PcieDeviceType,
  type PcieDeviceTypeValue, type PcieLinkOptions, type PcieOptions, PcieReg,
} from './capabilities/pci-express.js';
export { Pmcsr, PowerManagementCapability, type PowerManagementOptions } from './capabilities/power-management.js';
export { PriCapability, PriControl, type PriOptions, PriStatus } from './capabilities/pri.js';
export { VendorCapability } from './capabilities/vendor.js';
export {
  CONFIG_SIZE_CONVENTIONAL, CONFIG_SIZE_EXPRESS, type ConfigSize, ConfigSpace, type ConfigWriteObserver,
  OWNER_FIRST_CAPABILITY, OWNER_HEADER, OWNER_NONE,
} from './config-space.js';
export {
  type BarListener, type CapabilityWriteListener, type CommandListener, type FunctionResetListener, PciFunction, type PciFunctionParts,
} from './function.js';
export { Command, Header, ROM_INDEX, Status } from './header.js';
export { formatLspciDump } from './lspci.js';
export { SNAPSHOT_MAGIC, SNAPSHOT_VERSION } from './snapshot.js';
export { validateCapabilityChains } from './validate.js';
