/**
 * The type-0 configuration header: register offsets and bit definitions, defined once here and
 * used by the builder, the function and the validator.
 */

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

/** Index under which BAR events and accessors report the expansion ROM (as VFIO's ROM region). */
export const ROM_INDEX = 6;
