/**
 * `vidxd/pci`: a generic PCI function — config space with per-byte masks, BARs, capabilities,
 * MSI-X, chain validation, snapshot/restore and the lspci dump. Knows nothing of DSA or VFIO. The
 * numbers the PCI specifications define (offsets, capability IDs, control and status bits) are in
 * spec.ts, re-exported here.
 */
export { type BarInfo, type BarKind, type BarOptions, ROM_INDEX } from './bar.js';
export { PciFunctionBuilder, type PciFunctionOptions } from './builder.js';
export { type Capability, CapabilityBase, type CapabilityHost } from './capability.js';
export { AtsCapability, type AtsOptions } from './capabilities/ats.js';
export { MsixCapability, type MsixDelivery, type MsixOptions, type MsixSink } from './capabilities/msix.js';
export { PasidCapability, type PasidOptions } from './capabilities/pasid.js';
export { PcieCapability, type PcieLinkOptions, type PcieOptions } from './capabilities/pci-express.js';
export { PowerManagementCapability, type PowerManagementOptions } from './capabilities/power-management.js';
export { PriCapability, type PriOptions } from './capabilities/pri.js';
export { VendorCapability } from './capabilities/vendor.js';
export {
  type ConfigSize, ConfigSpace, type ConfigWriteObserver, OWNER_FIRST_CAPABILITY, OWNER_HEADER, OWNER_NONE,
} from './config-space.js';
export {
  type BarListener, type CapabilityWriteListener, type CommandListener, type FunctionResetListener, PciFunction, type PciFunctionParts,
} from './function.js';
export { formatLspciDump } from './lspci.js';
export { SNAPSHOT_MAGIC, SNAPSHOT_VERSION } from './snapshot.js';
export {
  AtsCap, AtsControl, AtsReg, BarBits, CapabilityId, CapHeader, Command, CONFIG_SIZE_CONVENTIONAL, CONFIG_SIZE_EXPRESS,
  EXT_CAPABILITY_START, ExtCapabilityId, ExtCapHeader, Header, MSIX_BIR_MASK, MSIX_ENTRY_SIZE, MSIX_VECTOR_CONTROL, MSIX_VECTOR_MASKED,
  MsiControl, MsixControl, MsixReg, PasidCap, PasidControl, PasidReg, PCIE_DEVICE_STATUS_DYNAMIC, PCIE_DEVICE_STATUS_ERRORS,
  PcieDeviceCapability, PcieDeviceCapability2, PcieDeviceControl, PcieDeviceControl2, PcieLink, PcieDeviceType, type PcieDeviceTypeValue,
  PcieFlags, PcieReg, PmReg, Pmc, Pmcsr, PriControl, PriReg, PriStatus, RomBar, Status, VENDOR_CAP_LENGTH,
} from './spec.js';
export { validateCapabilityChains } from './validate.js';
