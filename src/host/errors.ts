/**
 * Errors of the host driver's API. Misuse of the API (a bad configuration, an unknown WQ, a WQ that
 * is already claimed) and device refusals (a CMDSTS error) throw a {@link HostError} carrying a
 * Linux errno name and number and, for a refusal, the CMDSTS code.
 */
import { describeCmdStatus } from '../dsa/index.js';

/** The errno values the host driver reports. */
export const HostErrno = {
  EPERM: 1,
  ENOENT: 2,
  ENXIO: 6,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ETIMEDOUT: 110,
} as const;

/** One of the {@link HostErrno} names. */
export type HostErrnoName = keyof typeof HostErrno;

/** An error of the host driver API. */
export class HostError extends Error {
  /** Errno name. */
  readonly code: HostErrnoName;
  /** Errno number. */
  readonly errno: number;
  /** The CMDSTS value when the device refused a command (else undefined). */
  readonly cmdStatus: number | undefined;

  /** An error `code` with `message`; `cmdStatus` when the device refused a command. */
  constructor(code: HostErrnoName, message: string, cmdStatus?: number) {
    super(`${code}: ${message}`);
    this.name = 'HostError';
    this.code = code;
    this.errno = HostErrno[code];
    this.cmdStatus = cmdStatus;
  }

  /** The device refused `what` with CMDSTS `status` (ENXIO, with the code's meaning in the message). */
  static refused(what: string, status: number): HostError {
    return new HostError('ENXIO', `${what} failed: CMDSTS ${describeCmdStatus(status)}`, status & 0xff);
  }
}
