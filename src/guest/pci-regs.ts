/**
 * The PCI configuration-space constants the reference driver needs: header offsets, command-register
 * bits, capability IDs and the control registers of the capabilities it enables. They are the PCI
 * specification's, written here rather than imported because a guest driver reaches the device through
 * the VFIO API only (no `src/pci` object or table).
 */

/** Type-0 header offsets. */
export const PciHeader = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION_ID: 0x08,
  CLASS_CODE: 0x09,
  HEADER_TYPE: 0x0e,
  BAR0: 0x10,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  CAPABILITY_LIST: 0x34,
} as const;

/** Command-register bits. */
export const PciCommand = {
  MEMORY: 1 << 1,
  BUS_MASTER: 1 << 2,
  INTX_DISABLE: 1 << 10,
} as const;

/** Status-register bit: a capability list is present. */
export const PCI_STATUS_CAP_LIST = 1 << 4;

/** BAR low-dword bits. */
export const PciBar = {
  /** Bit 0: I/O space BAR. */
  IO: 0x1,
  /** Bits 2:1 = 2: a 64-bit memory BAR. */
  TYPE_MASK: 0x6,
  TYPE_64: 0x4,
  /** Bit 3: prefetchable. */
  PREFETCH: 0x8,
  /** Bits 3:0 of a memory BAR are flags, not address. */
  MEM_FLAGS: 0xf,
} as const;

/** Standard capability IDs the driver looks for. */
export const PciCapId = {
  PCI_EXPRESS: 0x10,
  MSIX: 0x11,
} as const;

/** Extended capability IDs the driver looks for. */
export const PciExtCapId = {
  ATS: 0x000f,
  PRI: 0x0013,
  PASID: 0x001b,
} as const;

/** First extended capability. */
export const PCI_EXT_CAP_START = 0x100;
/** Size of configuration space (PCI Express). */
export const PCI_CONFIG_SIZE = 0x1000;
/** Bound on a capability walk: 48 standard or 960 extended capabilities would fill the space; more is a loop. */
export const CAP_WALK_LIMIT = 960;

/** MSI-X capability registers (offsets from the capability). */
export const PciMsix = {
  /** Message control (16 bits): [10:0] table size − 1, bit 14 function mask, bit 15 enable. */
  CONTROL: 2,
  TABLE_SIZE_MASK: 0x7ff,
  FUNCTION_MASK: 1 << 14,
  ENABLE: 1 << 15,
  /** Table offset / BIR dword: [2:0] BIR, [31:3] offset. */
  TABLE: 4,
  /** PBA offset / BIR dword. */
  PBA: 8,
  BIR_MASK: 0x7,
  /** Bytes of one table entry; vector control is its last dword, bit 0 = masked. */
  ENTRY_SIZE: 16,
  ENTRY_VECTOR_CONTROL: 12,
} as const;

/** PCI Express capability: DevCap (32 bits at +4) bit 28 FLR capable; DevCtl (16 bits at +8) bit 15 initiate FLR. */
export const PciExp = { DEVCAP: 4, DEVCAP_FLR: 1 << 28, DEVCTL: 8, DEVCTL_INITIATE_FLR: 1 << 15 } as const;

/** ATS control (16 bits at +6): bit 15 enable. */
export const PciAts = { CONTROL: 6, ENABLE: 1 << 15 } as const;
/** PRI control (16 bits at +4): bit 0 enable. */
export const PciPri = { CONTROL: 4, ENABLE: 1 << 0 } as const;
/** PASID capability (+4, 16 bits) and control (+6, 16 bits): enable bit 0, privileged mode bit 2. */
export const PciPasid = {
  CAPABILITY: 4,
  CONTROL: 6,
  ENABLE: 1 << 0,
  PRIVILEGED: 1 << 2,
  /** Capability bits 12:8: max PASID width. */
  WIDTH_SHIFT: 8,
  WIDTH_MASK: 0x1f,
} as const;
