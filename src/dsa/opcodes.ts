/** DSA 1.0 operation codes (dsa-operations.md §7; Linux `enum dsa_opcode`). */
export const Opcode = {
  /** No operation. */
  NOOP: 0x00,
  /** Batch of descriptors read from memory. */
  BATCH: 0x01,
  /** Wait for earlier descriptors. */
  DRAIN: 0x02,
  /** Memory copy. */
  MEMMOVE: 0x03,
  /** Fill with an 8-byte pattern. */
  FILL: 0x04,
  /** Compare two buffers. */
  COMPARE: 0x05,
  /** Compare a buffer with an 8-byte pattern. */
  COMPVAL: 0x06,
  /** Create a delta record. */
  CR_DELTA: 0x07,
  /** Apply a delta record. */
  AP_DELTA: 0x08,
  /** Copy to two destinations. */
  DUALCAST: 0x09,
  /** CRC-32C generation. */
  CRCGEN: 0x10,
  /** Copy with CRC-32C generation. */
  COPY_CRC: 0x11,
  /** Check DIF tuples. */
  DIF_CHECK: 0x12,
  /** Insert DIF tuples. */
  DIF_INS: 0x13,
  /** Strip DIF tuples. */
  DIF_STRP: 0x14,
  /** Update DIF tuples. */
  DIF_UPDT: 0x15,
  /** Cache flush. */
  CFLUSH: 0x20,
} as const;

/** Opcode names (Linux-style) by value. */
export const OPCODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Opcode).map(([name, value]) => [value, name]),
);
