/**
 * CMDSTS error codes (vidxd-device.md §5.3; Linux `enum idxd_cmdsts_err` in
 * `drivers/dma/idxd/registers.h`) with the condition the model reports each one for, as one table.
 * Keys are descriptive; each entry's `name` is Linux's without the `IDXD_CMDSTS_` prefix and its
 * TSDoc gives the whole Linux name.
 */

/** One CMDSTS error code. */
export interface CmdStatusDef {
  /** Code in CMDSTS bits 7:0. */
  readonly code: number;
  /**
   * Name: Linux's `IDXD_CMDSTS_*` without the prefix. 0x43, which Linux's enum does not list, is
   * named in the same style (`ERR_INVAL_INT_HANDLE`).
   */
  readonly name: string;
  /** What the model reports it for. */
  readonly message: string;
}

/** Every CMDSTS error code, keyed by a descriptive name, in code order. */
export const CMDSTS_ERRORS = {
  /** Linux `IDXD_CMDSTS_SUCCESS`. */
  SUCCESS: { code: 0x00, name: 'SUCCESS', message: 'success' },
  /** Linux `IDXD_CMDSTS_INVAL_CMD`. */
  INVALID_COMMAND: { code: 0x01, name: 'INVAL_CMD', message: 'command not implemented (not in CMDCAP)' },
  /** Linux `IDXD_CMDSTS_INVAL_WQIDX`. */
  INVALID_WQ_INDEX: { code: 0x02, name: 'INVAL_WQIDX', message: 'WQ index or WQ mask names no existing WQ' },
  /** Linux `IDXD_CMDSTS_HW_ERR`. */
  HARDWARE_ERROR: { code: 0x03, name: 'HW_ERR', message: 'device halted (hardware error); only Reset Device is accepted' },
  /** Linux `IDXD_CMDSTS_ERR_DEV_ENABLED`. */
  DEVICE_ENABLED: { code: 0x10, name: 'ERR_DEV_ENABLED', message: 'device is not Disabled' },
  /** Linux `IDXD_CMDSTS_ERR_CONFIG`. */
  CONFIG_ERROR: { code: 0x11, name: 'ERR_CONFIG', message: 'GENCFG invalid: read-buffer limit without support or above the total' },
  /** Linux `IDXD_CMDSTS_ERR_BUSMASTER_EN`. */
  BUS_MASTER_DISABLED: { code: 0x12, name: 'ERR_BUSMASTER_EN', message: 'bus master enable is 0 in the PCI command register' },
  /** Linux `IDXD_CMDSTS_ERR_PASID_INVAL`. */
  INVALID_PASID: { code: 0x13, name: 'ERR_PASID_INVAL', message: 'a grouped WQ has PASID enable set with a PASID wider than the PASID capability allows' },
  /** Linux `IDXD_CMDSTS_ERR_WQ_SIZE_ERANGE`. */
  WQ_SIZE_RANGE: { code: 0x14, name: 'ERR_WQ_SIZE_ERANGE', message: 'sum of the WQ sizes exceeds WQCAP.total_wq_size' },
  /** Linux `IDXD_CMDSTS_ERR_GRP_CONFIG`. */
  GROUP_WQS: { code: 0x15, name: 'ERR_GRP_CONFIG', message: 'a WQ belongs to more than one group' },
  /** Linux `IDXD_CMDSTS_ERR_GRP_CONFIG2`. */
  GROUP_ENGINES: { code: 0x16, name: 'ERR_GRP_CONFIG2', message: 'an engine belongs to more than one group' },
  /** Linux `IDXD_CMDSTS_ERR_GRP_CONFIG3`. */
  GROUP_NO_ENGINE: { code: 0x17, name: 'ERR_GRP_CONFIG3', message: 'a group has WQs but no engine' },
  /** Linux `IDXD_CMDSTS_ERR_GRP_CONFIG4`. */
  GROUP_READ_BUFFERS: { code: 0x18, name: 'ERR_GRP_CONFIG4', message: 'group read buffers: reserved sum or allowed count above the total, or controls used without support' },
  /** Linux `IDXD_CMDSTS_ERR_DEV_NOTEN`. */
  DEVICE_NOT_ENABLED: { code: 0x20, name: 'ERR_DEV_NOTEN', message: 'device is not Enabled' },
  /** Linux `IDXD_CMDSTS_ERR_WQ_ENABLED`. */
  WQ_ENABLED: { code: 0x21, name: 'ERR_WQ_ENABLED', message: 'WQ is already enabled' },
  /** Linux `IDXD_CMDSTS_ERR_WQ_SIZE`. */
  WQ_SIZE: { code: 0x22, name: 'ERR_WQ_SIZE', message: 'WQ size 0, WQ in no group, sizes of the enabled WQs above the total, or threshold above the size' },
  /** Linux `IDXD_CMDSTS_ERR_WQ_PRIOR`. */
  WQ_PRIORITY: { code: 0x23, name: 'ERR_WQ_PRIOR', message: 'WQ priority 0' },
  /** Linux `IDXD_CMDSTS_ERR_WQ_MODE`. */
  WQ_MODE: { code: 0x24, name: 'ERR_WQ_MODE', message: 'WQ mode not supported (WQCAP)' },
  /** Linux `IDXD_CMDSTS_ERR_BOF_EN`. */
  BLOCK_ON_FAULT: { code: 0x25, name: 'ERR_BOF_EN', message: 'block on fault set without GENCAP support or without PCI PRI enabled' },
  /** Linux `IDXD_CMDSTS_ERR_PASID_EN`. */
  PASID_ENABLE: { code: 0x26, name: 'ERR_PASID_EN', message: 'shared WQ without PASID enable, PASID enable without PCI PASID, or a privileged dedicated WQ without PASID privileged mode, or PASID too wide' },
  /** Linux `IDXD_CMDSTS_ERR_MAX_BATCH_SIZE`. */
  MAX_BATCH_SIZE: { code: 0x27, name: 'ERR_MAX_BATCH_SIZE', message: 'WQ max batch shift above GENCAP.max_batch_shift' },
  /** Linux `IDXD_CMDSTS_ERR_MAX_XFER_SIZE`. */
  MAX_TRANSFER_SIZE: { code: 0x28, name: 'ERR_MAX_XFER_SIZE', message: 'WQ max transfer shift above GENCAP.max_xfer_shift' },
  /** Linux `IDXD_CMDSTS_ERR_DIS_DEV_EN`. */
  DEVICE_DISABLED: { code: 0x31, name: 'ERR_DIS_DEV_EN', message: 'device is not Enabled (already disabled)' },
  /** Linux `IDXD_CMDSTS_ERR_DEV_NOT_EN`. */
  WQ_NOT_ENABLED: { code: 0x32, name: 'ERR_DEV_NOT_EN', message: 'a WQ named by the command is not enabled' },
  /** Linux `IDXD_CMDSTS_ERR_INVAL_INT_IDX`. */
  INVALID_INT_INDEX: { code: 0x41, name: 'ERR_INVAL_INT_IDX', message: 'interrupt index is vector 0, or beyond the MSI-X or IMS table' },
  /** Linux `IDXD_CMDSTS_ERR_NO_HANDLE`. */
  NO_HANDLE: { code: 0x42, name: 'ERR_NO_HANDLE', message: 'no interrupt handle available (table full, or IMS requested without an IMS table)' },
  /** No Linux name: `enum idxd_cmdsts_err` stops at 0x42 (`IDXD_CMDSTS_ERR_NO_HANDLE`); named in its style. */
  INVALID_HANDLE: { code: 0x43, name: 'ERR_INVAL_INT_HANDLE', message: 'interrupt handle to release is not allocated' },
} as const satisfies Readonly<Record<string, CmdStatusDef>>;

/** CMDSTS error codes by key (`CmdStatus.WQ_SIZE === 0x22`). */
export const CmdStatus = Object.freeze(
  Object.fromEntries(Object.entries(CMDSTS_ERRORS).map(([k, d]) => [k, d.code])),
) as { readonly [K in keyof typeof CMDSTS_ERRORS]: (typeof CMDSTS_ERRORS)[K]['code'] };

/** Every CMDSTS error code, in code order. */
export const CMDSTS_CODES: readonly CmdStatusDef[] = Object.freeze(Object.values(CMDSTS_ERRORS));

const BY_CODE = new Map(CMDSTS_CODES.map((d) => [d.code, d]));

/** The table entry of `code`, or undefined for a code the model never reports. */
export function cmdStatusInfo(code: number): CmdStatusDef | undefined {
  return BY_CODE.get(code & 0xff);
}

/** "0x14 ERR_WQ_SIZE_ERANGE: sum of the WQ sizes exceeds …" for an error code. */
export function describeCmdStatus(code: number): string {
  const c = code & 0xff;
  const d = BY_CODE.get(c);
  const hex = `0x${c.toString(16).padStart(2, '0')}`;
  return d === undefined ? `${hex} (unknown)` : `${hex} ${d.name}: ${d.message}`;
}
