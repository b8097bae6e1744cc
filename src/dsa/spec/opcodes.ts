/**
 * DSA 1.0 operation codes (dsa-operations.md §7; Linux `enum dsa_opcode`, whose names are
 * `DSA_OPCODE_` + ours, FILL excepted). The 2.0 opcodes Linux also lists, `DSA_OPCODE_TRANSL_FETCH`
 * (0x0A) and `DSA_OPCODE_DIX_GEN` (0x17), are not in the model's DSA 1.0 set (§13).
 */
export const Opcode = {
  /** No operation. Linux `DSA_OPCODE_NOOP`. */
  NOOP: 0x00,
  /** Batch of descriptors read from memory. Linux `DSA_OPCODE_BATCH`. */
  BATCH: 0x01,
  /** Wait for earlier descriptors. Linux `DSA_OPCODE_DRAIN`. */
  DRAIN: 0x02,
  /** Memory copy. Linux `DSA_OPCODE_MEMMOVE`. */
  MEMMOVE: 0x03,
  /** Fill with an 8-byte pattern (the DSA specification's name). Linux `DSA_OPCODE_MEMFILL`. */
  FILL: 0x04,
  /** Compare two buffers. Linux `DSA_OPCODE_COMPARE`. */
  COMPARE: 0x05,
  /** Compare a buffer with an 8-byte pattern. Linux `DSA_OPCODE_COMPVAL`. */
  COMPVAL: 0x06,
  /** Create a delta record. Linux `DSA_OPCODE_CR_DELTA`. */
  CR_DELTA: 0x07,
  /** Apply a delta record. Linux `DSA_OPCODE_AP_DELTA`. */
  AP_DELTA: 0x08,
  /** Copy to two destinations. Linux `DSA_OPCODE_DUALCAST`. */
  DUALCAST: 0x09,
  /** CRC-32C generation. Linux `DSA_OPCODE_CRCGEN`. */
  CRCGEN: 0x10,
  /** Copy with CRC-32C generation. Linux `DSA_OPCODE_COPY_CRC`. */
  COPY_CRC: 0x11,
  /** Check DIF tuples. Linux `DSA_OPCODE_DIF_CHECK`. */
  DIF_CHECK: 0x12,
  /** Insert DIF tuples. Linux `DSA_OPCODE_DIF_INS`. */
  DIF_INS: 0x13,
  /** Strip DIF tuples. Linux `DSA_OPCODE_DIF_STRP`. */
  DIF_STRP: 0x14,
  /** Update DIF tuples. Linux `DSA_OPCODE_DIF_UPDT`. */
  DIF_UPDT: 0x15,
  /** Cache flush. Linux `DSA_OPCODE_CFLUSH`. */
  CFLUSH: 0x20,
} as const;

/** Opcode names by value (the keys of {@link Opcode}: Linux's without `DSA_OPCODE_`, FILL for `MEMFILL`). */
export const OPCODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Opcode).map(([name, value]) => [value, name]),
);
