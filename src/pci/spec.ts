/**
 * The PCI "header file": what the PCI, PCI Express and PM specifications define about a type-0
 * configuration space — sizes, header offsets, command/status/BAR bits, capability IDs, and the
 * register offsets and control/status bits of the capabilities the library implements. Every other
 * module of src/pci (the header builder, the function, the validator, each capability) and the
 * reference guest driver take these numbers from here; nothing is written twice. Plain constants
 * only: no vendor's numbers, no policy (what a function makes writable, what it defaults to), no
 * classes, no imports.
 */

// ---------------------------------------------------------------- configuration space

/** Size of a conventional PCI configuration space. */
export const CONFIG_SIZE_CONVENTIONAL = 256;
/** Size of a PCI Express (extended) configuration space. */
export const CONFIG_SIZE_EXPRESS = 4096;
/** Offset of the first extended capability (and the end of the standard, 256-byte space). */
export const EXT_CAPABILITY_START = 0x100;

// ---------------------------------------------------------------- type-0 header

/** Offsets of the type-0 header registers. */
export const Header = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION_ID: 0x08,
  CLASS_CODE: 0x09,
  CACHE_LINE_SIZE: 0x0c,
  LATENCY_TIMER: 0x0d,
  HEADER_TYPE: 0x0e,
  BIST: 0x0f,
  BAR0: 0x10,
  CARDBUS_CIS: 0x28,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  ROM_ADDRESS: 0x30,
  CAPABILITY_LIST: 0x34,
  INTERRUPT_LINE: 0x3c,
  INTERRUPT_PIN: 0x3d,
  MIN_GNT: 0x3e,
  MAX_LAT: 0x3f,
  /** First byte after the header: the lowest offset a standard capability may use. */
  END: 0x40,
} as const;

/** Command register bits. */
export const Command = {
  IO: 1 << 0,
  MEMORY: 1 << 1,
  BUS_MASTER: 1 << 2,
  SPECIAL_CYCLES: 1 << 3,
  MWI: 1 << 4,
  VGA_SNOOP: 1 << 5,
  PARITY: 1 << 6,
  STEPPING: 1 << 7,
  SERR: 1 << 8,
  FAST_BACK: 1 << 9,
  INTX_DISABLE: 1 << 10,
  /** Every bit the PCI specification defines in the command register. */
  DEFINED: 0x07ff,
} as const;

/** Status register bits. */
export const Status = {
  INTERRUPT: 1 << 3,
  CAP_LIST: 1 << 4,
  MASTER_DATA_PARITY: 1 << 8,
  SIG_TARGET_ABORT: 1 << 11,
  REC_TARGET_ABORT: 1 << 12,
  REC_MASTER_ABORT: 1 << 13,
  SIG_SYSTEM_ERROR: 1 << 14,
  DETECTED_PARITY: 1 << 15,
  /** The error bits a PCI Express function implements as RW1C (8, 11..15). */
  ERRORS: 0xf900,
} as const;

/** Low-order bits of a BAR's first dword. */
export const BarBits = {
  /** Bit 0: an I/O space BAR. */
  IO: 0x1,
  /** Bits 1:0 of an I/O BAR are flags, not address. */
  IO_FLAGS: 0x3,
  /** Bits 2:1 of a memory BAR: its type (0 = 32-bit, 2 = 64-bit). */
  TYPE_MASK: 0x6,
  /** Type value of a 64-bit memory BAR (bits 2:1 = 2). */
  TYPE_64: 0x4,
  /** Bit 3: prefetchable memory. */
  PREFETCH: 0x8,
  /** Bits 3:0 of a memory BAR are flags, not address. */
  MEM_FLAGS: 0xf,
} as const;

/** Expansion ROM base address register (at {@link Header.ROM_ADDRESS}). */
export const RomBar = {
  /** Bit 0: ROM address decode enable. */
  ENABLE: 0x1,
  /** Bits 31:11: the ROM's address. */
  ADDRESS_MASK: 0xfffff800,
} as const;

// ---------------------------------------------------------------- capability lists

/** Standard capability IDs (the byte at cap+0). */
export const CapabilityId = {
  POWER_MANAGEMENT: 0x01,
  MSI: 0x05,
  VENDOR_SPECIFIC: 0x09,
  PCI_EXPRESS: 0x10,
  MSIX: 0x11,
} as const;

/** Extended capability IDs (bits [15:0] of the dword at cap+0). */
export const ExtCapabilityId = {
  VENDOR_SPECIFIC: 0x000b,
  ATS: 0x000f,
  PRI: 0x0013,
  PASID: 0x001b,
} as const;

/** A standard capability's header: ID byte at +0, next pointer at +1 (bits 1:0 reserved, masked off). */
export const CapHeader = { ID: 0, NEXT: 1, POINTER_MASK: 0xfc } as const;

/** An extended capability's header dword: ID [15:0], version [19:16], next pointer [31:20] (bits 1:0 reserved). */
export const ExtCapHeader = { ID_MASK: 0xffff, VERSION_SHIFT: 16, VERSION_MASK: 0xf, NEXT_SHIFT: 20, NEXT_MASK: 0xffc } as const;

// ---------------------------------------------------------------- MSI and MSI-X

/** MSI Message Control (cap+2) bits that change the capability's length. */
export const MsiControl = {
  /** 64-bit message address (4 more bytes). */
  ADDRESS_64: 0x0080,
  /** Per-vector masking (mask and pending dwords: 10 more bytes). */
  PER_VECTOR_MASK: 0x0100,
} as const;

/** MSI-X capability register offsets (from the capability). */
export const MsixReg = {
  /** Message Control (16 bits). */
  CONTROL: 2,
  /** Table offset / BIR dword: [2:0] BIR, [31:3] offset. */
  TABLE: 4,
  /** PBA offset / BIR dword: [2:0] BIR, [31:3] offset. */
  PBA: 8,
} as const;

/** Message Control (cap+2) bits. */
export const MsixControl = {
  /** Table size − 1. */
  TABLE_SIZE: 0x07ff,
  FUNCTION_MASK: 0x4000,
  ENABLE: 0x8000,
} as const;

/** The BAR indicator (BIR) bits of the table and PBA dwords; the rest is the offset in that BAR. */
export const MSIX_BIR_MASK = 0x7;
/** Bytes per table entry. */
export const MSIX_ENTRY_SIZE = 16;
/** Offset of Vector Control in an entry; bit 0 is the mask bit. */
export const MSIX_VECTOR_CONTROL = 12;
/** Vector Control bit 0: the vector is masked. */
export const MSIX_VECTOR_MASKED = 0x1;

// ---------------------------------------------------------------- PCI Express

/** Register offsets inside the PCI Express capability. */
export const PcieReg = {
  CAPABILITIES: 0x02,
  DEVICE_CAPABILITIES: 0x04,
  DEVICE_CONTROL: 0x08,
  DEVICE_STATUS: 0x0a,
  LINK_CAPABILITIES: 0x0c,
  LINK_CONTROL: 0x10,
  LINK_STATUS: 0x12,
  DEVICE_CAPABILITIES_2: 0x24,
  DEVICE_CONTROL_2: 0x28,
  LINK_CAPABILITIES_2: 0x2c,
  LINK_CONTROL_2: 0x30,
} as const;

/** PCI Express Capabilities register (cap+2) fields. */
export const PcieFlags = {
  /** Capability version. */
  VERSION_MASK: 0x000f,
  /** Device/port type (see {@link PcieDeviceType}). */
  TYPE_SHIFT: 4,
} as const;

/** Device/port types a type-0 header can have (PCIe capabilities register bits [7:4]). */
export const PcieDeviceType = {
  ENDPOINT: 0x0,
  LEGACY_ENDPOINT: 0x1,
  ROOT_COMPLEX_INTEGRATED_ENDPOINT: 0x9,
  ROOT_COMPLEX_EVENT_COLLECTOR: 0xa,
} as const;

/** One of the {@link PcieDeviceType} values. */
export type PcieDeviceTypeValue = (typeof PcieDeviceType)[keyof typeof PcieDeviceType];

/** Device Capabilities bits. */
export const PcieDeviceCapability = {
  /** Max Payload Size Supported (128 << n bytes). */
  MAX_PAYLOAD: 0x00000007,
  /** Extended (8-bit) Tag Field Supported. */
  EXTENDED_TAG: 1 << 5,
  /** Role-Based Error Reporting. */
  ROLE_BASED_ERROR: 1 << 15,
  /** Function Level Reset Capability. */
  FLR: 1 << 28,
} as const;

/** Device Control bits and fields. */
export const PcieDeviceControl = {
  /** Correctable, non-fatal, fatal and unsupported-request reporting enables. */
  ERROR_REPORTING: 0x000f,
  RELAXED_ORDERING: 0x0010,
  MAX_PAYLOAD: 0x00e0,
  EXTENDED_TAG: 0x0100,
  NO_SNOOP: 0x0800,
  MAX_READ_REQUEST: 0x7000,
  /** Initiate Function Level Reset (endpoints; write-only, reads 0). */
  INITIATE_FLR: 0x8000,
} as const;

/** Device Capabilities 2 bits and fields. */
export const PcieDeviceCapability2 = {
  /** Completion Timeout Ranges Supported (4-bit mask). */
  COMPLETION_TIMEOUT_RANGES: 0x0000000f,
  COMPLETION_TIMEOUT_DISABLE: 1 << 4,
  /** LTR Mechanism Supported. */
  LTR: 1 << 11,
  /** Extended Fmt Field Supported. */
  EXTENDED_FMT: 1 << 20,
  /** End-End TLP Prefix Supported. */
  END_END_TLP_PREFIX: 1 << 21,
  /** Max End-End TLP Prefixes: bits 23:22 (0 = 4). */
  MAX_END_END_TLP_PREFIXES_SHIFT: 22,
} as const;

/** Device Control 2 bits and fields. */
export const PcieDeviceControl2 = {
  COMPLETION_TIMEOUT_VALUE: 0x000f,
  COMPLETION_TIMEOUT_DISABLE: 1 << 4,
  LTR_ENABLE: 1 << 10,
} as const;

/** Link Capabilities / Link Status fields, and Link Control bits. */
export const PcieLink = {
  /** LnkCap and LnkSta: link speed in bits 3:0, width from bit 4. */
  WIDTH_SHIFT: 4,
  /** LnkCap: ASPM Optionality Compliance. */
  ASPM_OPTIONALITY: 1 << 22,
  /** LnkCtl: Common Clock Configuration. */
  COMMON_CLOCK: 0x0040,
  /** LnkCtl: Extended Synch. */
  EXTENDED_SYNCH: 0x0080,
} as const;

/** Device Status error bits (RW1C): correctable, non-fatal, fatal, unsupported request detected. */
export const PCIE_DEVICE_STATUS_ERRORS = 0x000f;
/** Device Status bits the device drives (AUX power detected, transactions pending). */
export const PCIE_DEVICE_STATUS_DYNAMIC = 0x0030;

// ---------------------------------------------------------------- ATS, PRI, PASID

/** ATS capability register offsets (from the capability). */
export const AtsReg = { CAPABILITY: 4, CONTROL: 6 } as const;

/** ATS capability (cap+4) fields. */
export const AtsCap = {
  /** Invalidate Queue Depth (0 = 32). */
  QUEUE_DEPTH: 0x001f,
  /** Page Aligned Request. */
  PAGE_ALIGNED: 1 << 5,
  /** Global Invalidate Supported. */
  GLOBAL_INVALIDATE: 1 << 6,
} as const;

/** ATS control (cap+6) bits. */
export const AtsControl = {
  /** Smallest Translation Unit. */
  STU_MASK: 0x001f,
  ENABLE: 0x8000,
} as const;

/** PRI capability register offsets (from the capability). */
export const PriReg = { CONTROL: 4, STATUS: 6, CAPACITY: 8, ALLOCATION: 0xc } as const;

/** PRI control (cap+4) bits. */
export const PriControl = {
  ENABLE: 0x0001,
  RESET: 0x0002,
} as const;

/** PRI status (cap+6) bits. */
export const PriStatus = {
  RESPONSE_FAILURE: 0x0001,
  UNEXPECTED_PRG_INDEX: 0x0002,
  STOPPED: 0x0100,
  PASID_REQUIRED: 0x8000,
} as const;

/** PASID capability register offsets (from the capability). */
export const PasidReg = { CAPABILITY: 4, CONTROL: 6 } as const;

/** PASID capability (cap+4) fields. */
export const PasidCap = {
  /** Execute Permission Supported. */
  EXECUTE: 0x0002,
  /** Privileged Mode Supported. */
  PRIVILEGED: 0x0004,
  /** Max PASID Width: bits 12:8. */
  WIDTH_SHIFT: 8,
  WIDTH_MASK: 0x1f,
} as const;

/** PASID control (cap+6) bits. */
export const PasidControl = {
  ENABLE: 0x0001,
  EXECUTE: 0x0002,
  PRIVILEGED: 0x0004,
} as const;

// ---------------------------------------------------------------- power management

/** Power Management capability register offsets (from the capability). */
export const PmReg = { PMC: 2, PMCSR: 4 } as const;

/** PMC (cap+2) fields. */
export const Pmc = {
  /** Version (3 = PM 1.2). */
  VERSION_MASK: 0x0007,
  D1: 1 << 9,
  D2: 1 << 10,
  /** PME_Support: bits 15:11, bit 11 = from D0 .. bit 15 = from D3cold. */
  PME_SHIFT: 11,
} as const;

/** PMCSR (cap+4) bits. */
export const Pmcsr = {
  STATE_MASK: 0x0003,
  NO_SOFT_RESET: 0x0008,
  PME_ENABLE: 0x0100,
  PME_STATUS: 0x8000,
} as const;

/** Vendor-specific capability: the length byte (header included) at cap+2. */
export const VENDOR_CAP_LENGTH = 2;
