/** Operation status codes written to CR byte 0 bits 5:0 (dsa-operations.md §10; Linux `enum dsa_completion_status`). */
export const Status = {
  /** Never written by hardware. */
  NONE: 0x00,
  /** Success. */
  SUCCESS: 0x01,
  /** Success with false predicate. */
  SUCCESS_PRED: 0x02,
  /** Partial completion: page fault without block-on-fault. */
  PAGE_FAULT_NOBOF: 0x03,
  /** Partial completion: page request refused or retried too often. */
  PAGE_FAULT_IR: 0x04,
  /** Batch: at least one element failed. */
  BATCH_FAIL: 0x05,
  /** Batch: fault reading the descriptor list. */
  BATCH_PAGE_FAULT: 0x06,
  /** AP_DELTA offsets not increasing. */
  DR_OFFSET_NOINC: 0x07,
  /** AP_DELTA offset beyond the transfer size. */
  DR_OFFSET_ERANGE: 0x08,
  /** DIF check failure. */
  DIF_ERR: 0x09,
  /** Unsupported opcode, or not allowed in a batch. */
  BAD_OPCODE: 0x10,
  /** Invalid flags. */
  INVALID_FLAGS: 0x11,
  /** Non-zero reserved field. */
  NOZERO_RESERVE: 0x12,
  /** Transfer size out of range. */
  XFER_ERANGE: 0x13,
  /** Batch descriptor count out of range. */
  DESC_CNT_ERANGE: 0x14,
  /** Invalid delta record size. */
  DR_ERANGE: 0x15,
  /** Overlapping buffers. */
  OVERLAP_BUFFERS: 0x16,
  /** Dualcast destinations differ in bits 11:0. */
  DCAST_ERR: 0x17,
  /** Descriptor list not 64-byte aligned. */
  DESCLIST_ALIGN: 0x18,
  /** Invalid completion interrupt handle. */
  INT_HANDLE_INVAL: 0x19,
  /** Completion record address untranslatable. */
  CRA_XLAT: 0x1a,
  /** Completion record address not 32-byte aligned. */
  CRA_ALIGN: 0x1b,
  /** Misaligned address or size. */
  ADDR_ALIGN: 0x1c,
  /** Priv = 1 on an SWQ without privileged mode. */
  PRIV_BAD: 0x1d,
  /** Traffic class not enabled (never produced by the model). */
  TRAFFIC_CLASS_CONF: 0x1e,
  /** Fault on a Drain readback address. */
  PFAULT_RDBA: 0x1f,
  /** Hardware error on a read (injection only). */
  HW_ERR1: 0x20,
  /** Hardware error on a write or readback (injection only). */
  HW_ERR_DRB: 0x21,
  /** ATS / page-request transport failure (injection only). */
  TRANSLATION_FAIL: 0x22,
} as const;

/** CR status byte bit 7: the faulting access was a write. */
export const STATUS_WRITE = 0x80;
/** CR status byte bits 5:0: the status code. */
export const STATUS_CODE_MASK = 0x3f;

/** Software error codes that never concern a completion record (§11.1). */
export const SoftwareErrorCode = {
  /** Unsupported PCI config change while enabled. */
  PCI_CFG: 0x51,
  /** CMD written while a command was active. */
  CMD_REG: 0x52,
  /** Descriptor written to a full DWQ. */
  DWQ_FULL: 0x53,
  /** Event log full (2.0). */
  EVL_FULL: 0x54,
} as const;

/** Status names by code. */
export const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Status).map(([name, value]) => [value, name]),
);

/** True for a status code of the DSA 1.0 set (bits 5:0 of the status byte). */
export function isStatusCode(code: number): boolean {
  return STATUS_NAMES[code] !== undefined;
}

/** True for the codes after which RCR = 0 suppresses the completion record: 0x01, 0x02, 0x05. */
export function isSuccessLike(code: number): boolean {
  return code === Status.SUCCESS || code === Status.SUCCESS_PRED || code === Status.BATCH_FAIL;
}

/** True for codes whose status byte bit 7 carries the R/W of the faulting access. */
export function hasRwBit(code: number): boolean {
  return code === 0x03 || code === 0x04 || code === 0x06 || code === 0x1a || code === 0x1f;
}
