/**
 * The commands of the CMD register (vidxd-device.md §5, Linux `enum idxd_cmd`) as a header: each
 * command's code, name, operand and meaning, the GENSTS.state values they move between, and the
 * operand encodings. What a device does for each command (its checks and CMDSTS errors) is the
 * device's: the model's handlers are in commands.ts.
 */

/** One command as the specification defines it. */
export interface CommandCode {
  /** Command code (CMD bits 24:20). */
  readonly code: number;
  /** Name: Linux's `IDXD_CMD_*` (`enum idxd_cmd`) without the prefix. */
  readonly name: string;
  /** What the operand (CMD bits 19:0) holds. */
  readonly operand: string;
  /** What the command does. */
  readonly doc: string;
}

const CODES = [
  // Linux `IDXD_CMD_ENABLE_DEVICE`.
  {
    code: 1, name: 'ENABLE_DEVICE', operand: 'none', doc: 'Validate GENCFG, GRPCFG and WQCFG and enter Enabled',
  },
  // Linux `IDXD_CMD_DISABLE_DEVICE`.
  {
    code: 2, name: 'DISABLE_DEVICE', operand: 'none', doc: 'Stop taking work, wait for every queued descriptor, disable every WQ, enter Disabled',
  },
  // Linux `IDXD_CMD_DRAIN_ALL`.
  {
    code: 3, name: 'DRAIN_ALL', operand: 'none', doc: 'Wait for every descriptor accepted before the command',
  },
  // Linux `IDXD_CMD_ABORT_ALL`.
  {
    code: 4, name: 'ABORT_ALL', operand: 'none', doc: 'Abandon every queued descriptor (no record, no interrupt)',
  },
  // Linux `IDXD_CMD_RESET_DEVICE`.
  {
    code: 5, name: 'RESET_DEVICE', operand: 'none', doc: 'Abort everything, disable every WQ, reset every register but CMD, CMDSTS and SWERR, enter Disabled',
  },
  // Linux `IDXD_CMD_ENABLE_WQ`.
  {
    code: 6, name: 'ENABLE_WQ', operand: 'WQ index', doc: 'Validate the WQ configuration and enable the WQ',
  },
  // Linux `IDXD_CMD_DISABLE_WQ`.
  {
    code: 7, name: 'DISABLE_WQ', operand: 'WQ mask', doc: 'Stop the WQs taking work, wait for their queued descriptors, disable them',
  },
  // Linux `IDXD_CMD_DRAIN_WQ`.
  {
    code: 8, name: 'DRAIN_WQ', operand: 'WQ mask', doc: 'Wait for the descriptors accepted into the WQs before the command',
  },
  // Linux `IDXD_CMD_ABORT_WQ`.
  {
    code: 9, name: 'ABORT_WQ', operand: 'WQ mask', doc: 'Abandon the queued descriptors of the WQs',
  },
  // Linux `IDXD_CMD_RESET_WQ`.
  {
    code: 10, name: 'RESET_WQ', operand: 'WQ mask', doc: 'Abandon the queued descriptors of the WQs and disable them (configuration kept)',
  },
  // Linux `IDXD_CMD_DRAIN_PASID`.
  {
    code: 11, name: 'DRAIN_PASID', operand: 'PASID', doc: 'Wait for the queued descriptors with the PASID (dedicated WQs programmed with it: all of theirs)',
  },
  // Linux `IDXD_CMD_ABORT_PASID`.
  {
    code: 12, name: 'ABORT_PASID', operand: 'PASID', doc: 'Abandon the queued descriptors with the PASID, leaving other PASIDs\' work queued',
  },
  // Linux `IDXD_CMD_REQUEST_INT_HANDLE`.
  {
    code: 13, name: 'REQUEST_INT_HANDLE', operand: '[15:0] MSI-X vector or IMS entry, [16] IMS', doc: 'Allocate an interrupt handle; CMDSTS.result = the handle',
  },
  // Linux `IDXD_CMD_RELEASE_INT_HANDLE`.
  {
    code: 14, name: 'RELEASE_INT_HANDLE', operand: '[15:0] handle, [16] IMS', doc: 'Free an interrupt handle',
  },
] as const satisfies readonly CommandCode[];

/** Every command, in code order. */
export const COMMAND_CODES: readonly CommandCode[] = Object.freeze(CODES);

/** A command's name (`'ENABLE_WQ'`). */
export type CommandName = (typeof CODES)[number]['name'];

/** Command codes by name (`Command.ENABLE_WQ === 6`). */
export const Command = Object.freeze(Object.fromEntries(COMMAND_CODES.map((c) => [c.name, c.code]))) as {
  readonly [N in CommandName]: Extract<(typeof CODES)[number], { name: N }>['code'];
};

/** The command named `name`. */
export function commandCode(name: CommandName): CommandCode {
  return COMMAND_CODES.find((c) => c.name === name) as CommandCode;
}

/** GENSTS.state values (Linux `enum idxd_device_status_state`: `IDXD_DEVICE_STATE_` + the key). */
export const DeviceState = {
  /** Linux `IDXD_DEVICE_STATE_DISABLED`. */
  DISABLED: 0,
  /** Linux `IDXD_DEVICE_STATE_ENABLED`. */
  ENABLED: 1,
  /** Disable Device in progress. Linux `IDXD_DEVICE_STATE_DRAIN`. */
  DRAIN: 2,
  /** Linux `IDXD_DEVICE_STATE_HALT`. */
  HALT: 3,
} as const;

/** Operand bit 16 of the interrupt-handle commands: the handle is an IMS (interrupt-handle table) handle. Linux `CMD_INT_HANDLE_IMS`. */
export const INT_HANDLE_IMS = 0x10000;

/** The mask operand naming WQ `wq` (Linux: bits 15:0 a mask of 16 WQs, bits 19:16 which set of 16). */
export function wqMaskOperand(wq: number): number {
  return ((1 << (wq & 15)) | ((wq >>> 4) << 16)) >>> 0;
}
