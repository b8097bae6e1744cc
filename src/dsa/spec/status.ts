/**
 * Operation status codes written to CR byte 0 bits 5:0 (dsa-operations.md §10; Linux
 * `enum dsa_completion_status`, whose names are `DSA_COMP_` + ours). Linux also lists the 2.0
 * event-log codes `DSA_COMP_DRAIN_EVL` (0x26) and `DSA_COMP_BATCH_EVL_ERR` (0x27); they only ever
 * appear in an event log, which the model does not implement (§13), so they are not here.
 */
export const Status = {
  /** Never written by hardware. Linux `DSA_COMP_NONE`. */
  NONE: 0x00,
  /** Success. Linux `DSA_COMP_SUCCESS`. */
  SUCCESS: 0x01,
  /** Success with false predicate. Linux `DSA_COMP_SUCCESS_PRED`. */
  SUCCESS_PRED: 0x02,
  /** Partial completion: page fault without block-on-fault. Linux `DSA_COMP_PAGE_FAULT_NOBOF`. */
  PAGE_FAULT_NOBOF: 0x03,
  /** Partial completion: page request refused or retried too often. Linux `DSA_COMP_PAGE_FAULT_IR`. */
  PAGE_FAULT_IR: 0x04,
  /** Batch: at least one element failed. Linux `DSA_COMP_BATCH_FAIL`. */
  BATCH_FAIL: 0x05,
  /** Batch: fault reading the descriptor list. Linux `DSA_COMP_BATCH_PAGE_FAULT`. */
  BATCH_PAGE_FAULT: 0x06,
  /** AP_DELTA offsets not increasing. Linux `DSA_COMP_DR_OFFSET_NOINC`. */
  DR_OFFSET_NOINC: 0x07,
  /** AP_DELTA offset beyond the transfer size. Linux `DSA_COMP_DR_OFFSET_ERANGE`. */
  DR_OFFSET_ERANGE: 0x08,
  /** DIF check failure. Linux `DSA_COMP_DIF_ERR`. */
  DIF_ERR: 0x09,
  /** Unsupported opcode, or not allowed in a batch. Linux `DSA_COMP_BAD_OPCODE`. */
  BAD_OPCODE: 0x10,
  /** Invalid flags. Linux `DSA_COMP_INVALID_FLAGS`. */
  INVALID_FLAGS: 0x11,
  /** Non-zero reserved field. Linux `DSA_COMP_NOZERO_RESERVE`. */
  NOZERO_RESERVE: 0x12,
  /** Transfer size out of range. Linux `DSA_COMP_XFER_ERANGE`. */
  XFER_ERANGE: 0x13,
  /** Batch descriptor count out of range. Linux `DSA_COMP_DESC_CNT_ERANGE`. */
  DESC_CNT_ERANGE: 0x14,
  /** Invalid delta record size. Linux `DSA_COMP_DR_ERANGE`. */
  DR_ERANGE: 0x15,
  /** Overlapping buffers. Linux `DSA_COMP_OVERLAP_BUFFERS`. */
  OVERLAP_BUFFERS: 0x16,
  /** Dualcast destinations differ in bits 11:0. Linux `DSA_COMP_DCAST_ERR`. */
  DCAST_ERR: 0x17,
  /** Descriptor list not 64-byte aligned. Linux `DSA_COMP_DESCLIST_ALIGN`. */
  DESCLIST_ALIGN: 0x18,
  /** Invalid completion interrupt handle. Linux `DSA_COMP_INT_HANDLE_INVAL`. */
  INT_HANDLE_INVAL: 0x19,
  /** Completion record address untranslatable. Linux `DSA_COMP_CRA_XLAT`. */
  CRA_XLAT: 0x1a,
  /** Completion record address not 32-byte aligned. Linux `DSA_COMP_CRA_ALIGN`. */
  CRA_ALIGN: 0x1b,
  /** Misaligned address or size. Linux `DSA_COMP_ADDR_ALIGN`. */
  ADDR_ALIGN: 0x1c,
  /** Priv = 1 on an SWQ without privileged mode. Linux `DSA_COMP_PRIV_BAD`. */
  PRIV_BAD: 0x1d,
  /** Traffic class not enabled (never produced by the model). Linux `DSA_COMP_TRAFFIC_CLASS_CONF`. */
  TRAFFIC_CLASS_CONF: 0x1e,
  /** Fault on a Drain readback address. Linux `DSA_COMP_PFAULT_RDBA`. */
  PFAULT_RDBA: 0x1f,
  /** Hardware error on a read (injection only). Linux `DSA_COMP_HW_ERR1`. */
  HW_ERR1: 0x20,
  /** Hardware error on a write or readback (injection only). Linux `DSA_COMP_HW_ERR_DRB`. */
  HW_ERR_DRB: 0x21,
  /** ATS / page-request transport failure (injection only). Linux `DSA_COMP_TRANSLATION_FAIL`. */
  TRANSLATION_FAIL: 0x22,
} as const;

/** CR status byte bit 7: the faulting access was a write. Linux `DSA_COMP_STATUS_WRITE`. */
export const STATUS_WRITE = 0x80;
/**
 * CR status byte bits 5:0: the status code. The DSA specification (dsa-operations.md §3.1) defines
 * the status byte as code [5:0], 0 [6], R/W [7], and every code it assigns is below 0x40. Linux's
 * `DSA_COMP_STATUS_MASK` is 0x7f: it clears only the R/W bit and keeps bit 6, which the device
 * always writes 0 (test/dsa/engine-hostile.test.ts checks it for every record), so both masks give
 * the same code for any record a DSA 1.0 device writes. This one is the field as specified.
 */
export const STATUS_CODE_MASK = 0x3f;

/**
 * Software error codes that never concern a completion record (§11.1). Linux's uapi has no names for
 * them; the idxd mdev patches called the first two `DSA_ERR_PCI_CFG` and `DSA_ERR_CMD_REG`.
 */
export const SoftwareErrorCode = {
  /** Unsupported PCI config change while enabled (idxd mdev patches: `DSA_ERR_PCI_CFG`). */
  PCI_CFG: 0x51,
  /** CMD written while a command was active (idxd mdev patches: `DSA_ERR_CMD_REG`). */
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

/**
 * What a portal submission came to (dsa-operations.md §9.2–§9.3): the answer of a MOVDIR64B or
 * ENQCMD(S) write to a portal.
 */
export const SubmitStatus = {
  /** The descriptor was queued. */
  ACCEPTED: 0,
  /** ENQCMD/ENQCMDS not accepted (full, limited portal at threshold, or the WQ cannot take it); nothing queued. */
  RETRY: 1,
  /** MOVDIR64B to a full dedicated WQ: dropped and SWERR 0x53 logged. */
  DROPPED: 2,
  /** The write was ignored (disabled WQ, wrong kind of write, bad portal). */
  IGNORED: 3,
} as const;

/** One of the {@link SubmitStatus} values. */
export type SubmitStatusValue = (typeof SubmitStatus)[keyof typeof SubmitStatus];
