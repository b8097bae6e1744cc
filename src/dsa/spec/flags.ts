/**
 * Generic descriptor flags, bytes 4–6 bits 15:0 (dsa-operations.md §2.1). Each carries its Linux
 * `include/uapi/linux/idxd.h` name; where ours differs it is the DSA specification's (rev 3.0) name
 * for the bit, and Linux's is the older one.
 */
export const Flag = {
  /** Fence (batch elements only). Linux `IDXD_OP_FLAG_FENCE`. */
  FENCE: 1 << 0,
  /** Block on fault. Linux `IDXD_OP_FLAG_BOF`. */
  BOF: 1 << 1,
  /** Completion Record Address Valid. Linux `IDXD_OP_FLAG_CRAV`. */
  CRAV: 1 << 2,
  /** Request Completion Record. Linux `IDXD_OP_FLAG_RCR`. */
  RCR: 1 << 3,
  /** Request Completion Interrupt. Linux `IDXD_OP_FLAG_RCI`. */
  RCI: 1 << 4,
  /** Cache Control 3 (rev 3.0; reserved in the DSA 1.0 baseline). Linux `IDXD_OP_FLAG_CRSTS` (the old "completion record steering tag"). */
  CC3: 1 << 5,
  /** Always reserved (Linux defines no name for bit 6). */
  RESERVED6: 1 << 6,
  /** Check Result. Linux `IDXD_OP_FLAG_CR`. */
  CHECK_RESULT: 1 << 7,
  /** Cache Control 1 (1.0: allocate in cache). Linux `IDXD_OP_FLAG_CC`. */
  CC1: 1 << 8,
  /** Address 1 traffic-class selector. Linux `IDXD_OP_FLAG_ADDR1_TCS`. */
  ADDR1_TCS: 1 << 9,
  /** Address 2 traffic-class selector. Linux `IDXD_OP_FLAG_ADDR2_TCS`. */
  ADDR2_TCS: 1 << 10,
  /** Address 3 traffic-class selector. Linux `IDXD_OP_FLAG_ADDR3_TCS`. */
  ADDR3_TCS: 1 << 11,
  /** Completion record traffic-class selector. Linux `IDXD_OP_FLAG_CR_TCS`. */
  CR_TCS: 1 << 12,
  /** Strict ordering. Linux `IDXD_OP_FLAG_STORD`. */
  STRICT_ORDER: 1 << 13,
  /** Cache Control 2 (1.0: destination readback). Linux `IDXD_OP_FLAG_DRDBK` (the old "destination readback"). */
  CC2: 1 << 14,
  /** Always reserved. Linux `IDXD_OP_FLAG_DSTS` (the old "destination steering tag"). */
  RESERVED15: 1 << 15,
} as const;

/** Mask of the three cache-control flag bits (CC3, CC2, CC1). */
export const CACHE_CONTROL_FLAGS = Flag.CC3 | Flag.CC2 | Flag.CC1;
/** Flag bits that are reserved for every operation. */
export const ALWAYS_RESERVED_FLAGS = Flag.RESERVED6 | Flag.RESERVED15;
/** Mask of the operation-specific flag bits 23:16. */
export const OP_SPECIFIC_FLAGS = 0xff0000;

/**
 * Operation-specific flags, bits 23:16 (§2.2). Linux's uapi names none of DSA's: its `IDXD_OP_FLAG_*`
 * values at bits 21:16 (`IDXD_OP_FLAG_RD_SRC2_AECS`, …, `IDXD_OP_FLAG_CRC_RFC3720`) are IAA's.
 */
export const OpFlag = {
  /** BATCH: an earlier batch already had an error (needs batch continuation support). */
  BATCH_ERROR: 1 << 16,
  /** DRAIN: readback address 1 valid. */
  DRAIN_READBACK1: 1 << 16,
  /** DRAIN: readback address 2 valid. */
  DRAIN_READBACK2: 1 << 17,
  /** DRAIN: suppress the implicit readback on TC-A. */
  DRAIN_SUPPRESS_TCA: 1 << 18,
  /** DRAIN: suppress the implicit readback on TC-B. */
  DRAIN_SUPPRESS_TCB: 1 << 19,
  /** FILL: 16-byte pattern (2.0). */
  FILL_PATTERN16: 1 << 18,
  /** CRCGEN/COPY_CRC: read the seed from the seed address. */
  CRC_SEED_ADDR: 1 << 16,
  /** CRCGEN/COPY_CRC: bypass CRC inversion and reflection. */
  CRC_BYPASS_INVERSION: 1 << 17,
  /** CRCGEN/COPY_CRC: bypass data reflection. */
  CRC_BYPASS_DATA_REFLECTION: 1 << 18,
  /** CRCGEN/COPY_CRC: CRC-64 instead of CRC-32C (2.0). */
  CRC64: 1 << 19,
} as const;

/** DIF Flags (descriptor byte 42) bits (§7.13). Bits 7:4 are reserved. */
export const DifFlag = {
  /** Block-size field mask (bits 1:0): index into `DIF_BLOCK_SIZES`. */
  BLOCK_SIZE_MASK: 0x03,
  /** Guard CRC starts from 0xFFFF. */
  INVERT_SEED: 0x04,
  /** Guard CRC result complemented. */
  INVERT_RESULT: 0x08,
  /** Reserved bits. */
  RESERVED: 0xf0,
} as const;

/** Data block sizes selected by DIF Flags bits 1:0. */
export const DIF_BLOCK_SIZES: readonly number[] = [512, 520, 4096, 4104];
/** Size of one DIF tuple in the data stream. */
export const DIF_TUPLE_SIZE = 8;

/** Source DIF flags (byte 40 of DIF_CHECK, DIF_STRP, DIF_UPDT). */
export const SrcDifFlag = {
  /** Reference tag fixed (else incrementing). */
  REF_FIXED: 0x80,
  /** Reference tag check disable. */
  REF_CHECK_DISABLE: 0x40,
  /** Guard check disable. */
  GUARD_CHECK_DISABLE: 0x20,
  /** Application tag incrementing (else fixed). */
  APP_INCREMENT: 0x10,
  /** Skip checks when app = 0xFFFF and ref = 0xFFFFFFFF. */
  APP_REF_F_DETECT: 0x08,
  /** Skip checks when app = 0xFFFF. */
  APP_F_DETECT: 0x04,
  /** Skip checks when the whole tuple is all ones. */
  ALL_F_DETECT: 0x02,
  /** With ALL_F_DETECT: report an all-ones tuple as an error instead. */
  ALL_F_DETECT_ERROR: 0x01,
} as const;

/** Destination DIF flags (byte 41 of DIF_INS, DIF_UPDT). Bits 2:0 are reserved. */
export const DstDifFlag = {
  /** Reference tag fixed (else incrementing). */
  REF_FIXED: 0x80,
  /** DIF_UPDT: copy the source reference tag. */
  REF_PASS_THROUGH: 0x40,
  /** DIF_UPDT: copy the source guard. */
  GUARD_PASS_THROUGH: 0x20,
  /** Application tag incrementing (else fixed). */
  APP_INCREMENT: 0x10,
  /** DIF_UPDT: copy the source application tag. */
  APP_PASS_THROUGH: 0x08,
  /** Reserved bits. */
  RESERVED: 0x07,
} as const;

/** DIF status bits (CR byte 1 with status 0x09). */
export const DifStatus = {
  /** Guard mismatch. */
  GUARD: 0x01,
  /** Application tag mismatch. */
  APP_TAG: 0x02,
  /** Reference tag mismatch. */
  REF_TAG: 0x04,
  /** All-ones tuple with all-F detect error. */
  ALL_F: 0x08,
} as const;
