/**
 * Completion-record codec: byte offsets of the 32-byte record (dsa-operations.md §3) and readers
 * for embedders and tests. The engine writes records in place (bytes 1–31 first, status last).
 */

/** Size of a completion record. */
export const CR_SIZE = 32;
/** Required alignment of a completion record address. */
export const CR_ALIGN = 32;

/** Byte offsets of completion-record fields; each gives the field of Linux's `struct dsa_completion_record` it is. */
export const Cr = {
  /** u8 status: [5:0] code, [7] R/W of the faulting access (Linux `status`). */
  STATUS: 0,
  /** u8 result / DIF status (Linux `result`, `dif_status`). */
  RESULT: 1,
  /** u8 fault info (2.0): [3:1] operand id, [0] address masked (Linux `fault_info`). */
  FAULT_INFO: 2,
  /** u32 bytes completed (descriptors completed for BATCH) (Linux `bytes_completed`, `descs_completed`). */
  BYTES_COMPLETED: 4,
  /** u64 fault address (Linux `fault_addr`). */
  FAULT_ADDR: 8,
  /** u24 invalid flags (status 0x11) (Linux `invalid_flags`). */
  INVALID_FLAGS: 16,
  /** u32 CR_DELTA delta record size (Linux `delta_rec_size`). */
  DELTA_SIZE: 16,
  /** u32 (u64 with CRC64) CRC value (Linux `crc_val`). */
  CRC: 16,
  /** u32 DIF_CHECK/STRP ref tag, DIF_UPDT source ref tag (Linux `dif_chk_ref_tag`, `dif_upd_src_ref_tag`). */
  SRC_REF_TAG: 16,
  /** u16 source app tag mask (Linux `dif_chk_app_tag_mask`, `dif_upd_src_app_tag_mask`). */
  SRC_APP_MASK: 20,
  /** u16 source app tag (Linux `dif_chk_app_tag`, `dif_upd_src_app_tag`). */
  SRC_APP_TAG: 22,
  /** u32 DIF_INS / DIF_UPDT destination ref tag (Linux `dif_ins_ref_tag`, `dif_upd_dest_ref_tag`). */
  DST_REF_TAG: 24,
  /** u16 destination app tag mask (Linux `dif_ins_app_tag_mask`, `dif_upd_dest_app_tag_mask`). */
  DST_APP_MASK: 28,
  /** u16 destination app tag (Linux `dif_ins_app_tag`, `dif_upd_dest_app_tag`). */
  DST_APP_TAG: 30,
} as const;

/** Operand ids of the CR Fault Info byte and SWERROR (2.0, §3.1). */
export const OperandId = {
  /** Unknown. */
  UNKNOWN: 0,
  /** src / src1 / descriptor list / delta record (AP_DELTA) / readback 1. */
  SRC1: 1,
  /** src2 / CRC seed address / readback 2. */
  SRC2: 2,
  /** dst / dst1 / delta record (CR_DELTA). */
  DST1: 3,
  /** dst2. */
  DST2: 4,
  /** Completion record. */
  CR: 5,
} as const;
