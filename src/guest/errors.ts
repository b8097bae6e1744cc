/**
 * What the driver throws or rejects with. Every error is an {@link IdxdGuestError} carrying a reason
 * and the Linux errno a kernel driver would return for it; command failures and failed descriptors
 * add the device's own code and name (CMDSTS table, status table), so a message never says less than
 * the device did.
 */
import { cmdStatusInfo } from '../dsa/spec/cmdsts.js';
import { COMMAND_CODES } from '../dsa/spec/command-codes.js';
import { STATUS_CODE_MASK, STATUS_NAMES } from '../dsa/spec/status.js';
import { ERRNO } from '../vfio/index.js';
import type { SoftwareErrorReport } from './swerr.js';

/** Why an operation or a call failed. */
export type GuestErrorReason =
  /** A bad argument (size 0, an address outside guest memory, an unsupported option). */
  | 'argument'
  /** The device is not what the driver drives (IDs, capabilities, BARs, no WQ). */
  | 'probe'
  /** A command completed with a CMDSTS error. */
  | 'command'
  /** A descriptor completed with an error status. */
  | 'status'
  /** A page fault the fault hook did not resolve (or there is no hook). */
  | 'page-fault'
  /** A shared WQ kept answering Retry. */
  | 'retry'
  /** The device halted. */
  | 'halted'
  /** A descriptor vanished: the device went idle without completing it (dropped, rejected, disabled WQ). */
  | 'lost'
  /** A completion record was written but its completion interrupt never came (see {@link IdxdLostInterruptError}). */
  | 'interrupt-lost'
  /** Polling gave up (no poll hook, and the device never completed). */
  | 'timeout'
  /** The guest-memory allocator has no room. */
  | 'memory'
  /** The driver was shut down. */
  | 'closed';

/** The errno names the guest driver reports. */
export type GuestErrnoName = 'EINVAL' | 'ENODEV' | 'EIO' | 'EFAULT' | 'EAGAIN' | 'ETIMEDOUT' | 'ENOMEM' | 'ESHUTDOWN';

/** The errno a kernel driver would return for each reason. */
const REASON_ERRNO: Readonly<Record<GuestErrorReason, GuestErrnoName>> = {
  argument: 'EINVAL',
  probe: 'ENODEV',
  command: 'EIO',
  status: 'EIO',
  'page-fault': 'EFAULT',
  retry: 'EAGAIN',
  halted: 'EIO',
  lost: 'EIO',
  'interrupt-lost': 'ETIMEDOUT',
  timeout: 'ETIMEDOUT',
  memory: 'ENOMEM',
  closed: 'ESHUTDOWN',
};

/** An error of the reference guest driver. */
export class IdxdGuestError extends Error {
  /** Why. */
  readonly reason: GuestErrorReason;
  /** The errno name a kernel driver would return (`'EIO'`, `'EFAULT'`, …), as Node's system errors. */
  readonly code: GuestErrnoName;
  /** Its Linux errno number (5, 14, …). */
  readonly errno: number;
  /** The software error the device logged around the failure, when there was one. */
  readonly swerr: SoftwareErrorReport | undefined;

  /** An error for `reason`, optionally with the SWERR report that explains it. */
  constructor(reason: GuestErrorReason, message: string, swerr?: SoftwareErrorReport) {
    super(message);
    this.name = 'IdxdGuestError';
    this.reason = reason;
    this.code = REASON_ERRNO[reason];
    this.errno = ERRNO[this.code];
    this.swerr = swerr;
  }
}

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** The name of command `code` (`ENABLE_WQ`), or `command <n>`. */
export function commandName(code: number): string {
  return COMMAND_CODES.find((c) => c.code === code)?.name ?? `command ${code}`;
}

/** A command completed with a CMDSTS error. */
export class IdxdCommandError extends IdxdGuestError {
  /** The command code. */
  readonly command: number;
  /** The CMDSTS error code (bits 7:0). */
  readonly cmdStatus: number;
  /** Its name in the CMDSTS table (`ERR_WQ_ENABLED`), or `UNKNOWN`. */
  readonly codeName: string;

  /** Command `command` completed with CMDSTS error `code`. */
  constructor(command: number, code: number) {
    const info = cmdStatusInfo(code);
    const name = info?.name ?? 'UNKNOWN';
    super('command', `${commandName(command)} failed: CMDSTS ${hex2(code)} ${name}${info === undefined ? '' : ` (${info.message})`}`);
    this.name = 'IdxdCommandError';
    this.command = command;
    this.cmdStatus = code;
    this.codeName = name;
  }
}

/** The name of a completion status byte's code (`PAGE_FAULT_NOBOF`), or `0x..`. */
export function statusName(status: number): string {
  const code = status & STATUS_CODE_MASK;
  return STATUS_NAMES[code] ?? hex2(code);
}

/** A descriptor completed with an error status (or a fault the hook did not resolve). */
export class IdxdStatusError extends IdxdGuestError {
  /** The operation (`memmove`, `crc32c`, …). */
  readonly op: string;
  /** The completion status byte (bit 7: the faulting access was a write). */
  readonly status: number;
  /** The name of its code. */
  readonly statusName: string;
  /** Bytes of the whole operation done before the failure (all submissions together). */
  readonly bytesCompleted: number;
  /** The fault address of a page fault (−1 otherwise). */
  readonly faultAddress: number;

  /** `op` failed with completion `status`; `reason` is 'status' or 'page-fault'. */
  constructor(reason: 'status' | 'page-fault', op: string, status: number, bytesCompleted: number, faultAddress: number, swerr?: SoftwareErrorReport) {
    const where = faultAddress >= 0 ? ` at IOVA 0x${faultAddress.toString(16)}` : '';
    super(reason, `${op}: completion status ${hex2(status)} ${statusName(status)}${where} after ${bytesCompleted} bytes`, swerr);
    this.name = 'IdxdStatusError';
    this.op = op;
    this.status = status;
    this.statusName = statusName(status);
    this.bytesCompleted = bytesCompleted;
    this.faultAddress = faultAddress;
  }
}

/**
 * The device wrote a descriptor's completion record (status other than 0x19, the one outcome that
 * comes without an interrupt by design) but the completion interrupt it requested never reached the
 * driver. The work itself is done — `status` says how it ended — but the interrupt path between the
 * device and the driver is broken (no trigger installed for the vector, a VMM that did not deliver it):
 * the driver reports that rather than quietly completing from the record, so a broken interrupt path
 * fails the run that would otherwise hide it. ETIMEDOUT, as a kernel driver whose wait for the
 * completion timed out.
 */
export class IdxdLostInterruptError extends IdxdGuestError {
  /** The operation (`memmove`, …, `batch`). */
  readonly op: string;
  /** The completion vector the interrupt was requested on. */
  readonly vector: number;
  /** The interrupt handle the descriptor named. */
  readonly handle: number;
  /** The completion status byte the record holds. */
  readonly status: number;
  /** The name of its code. */
  readonly statusName: string;

  /** `op`'s record holds `status`, but no interrupt came on `vector` (handle `handle`) within `turns` turns of the event loop. */
  constructor(op: string, vector: number, handle: number, status: number, turns: number) {
    super('interrupt-lost', `${op}: the completion record was written (status ${hex2(status)} ${statusName(status)}) but its completion ` +
      `interrupt (vector ${vector}, handle ${handle}) did not come within ${turns} turns of the event loop: the interrupt was lost ` +
      'between the device and the driver (no trigger installed for the vector, or the VMM did not deliver it)');
    this.name = 'IdxdLostInterruptError';
    this.op = op;
    this.vector = vector;
    this.handle = handle;
    this.status = status;
    this.statusName = statusName(status);
  }
}
