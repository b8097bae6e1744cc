/**
 * Errors of the host driver's API. Misuse of the API (a bad configuration, an unknown WQ, a WQ that
 * is already claimed) and device refusals (a CMDSTS error) throw a {@link HostError} carrying a
 * Linux errno name and number and, for a refusal, the CMDSTS code.
 */
import { describeCmdStatus } from '../dsa/index.js';
import { ERRNO } from '../errno.js';

/** The errno names the host driver reports (numbers from the library's one errno table). */
export type HostErrnoName = 'EPERM' | 'ENOENT' | 'ENXIO' | 'EBUSY' | 'ENODEV' | 'EINVAL' | 'ENOSPC' | 'ETIMEDOUT';

/** The errno values the host driver reports (a view of the library's errno table). */
export const HostErrno: Readonly<Record<HostErrnoName, number>> = Object.freeze({
  EPERM: ERRNO.EPERM,
  ENOENT: ERRNO.ENOENT,
  ENXIO: ERRNO.ENXIO,
  EBUSY: ERRNO.EBUSY,
  ENODEV: ERRNO.ENODEV,
  EINVAL: ERRNO.EINVAL,
  ENOSPC: ERRNO.ENOSPC,
  ETIMEDOUT: ERRNO.ETIMEDOUT,
});

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

/**
 * EBUSY from a reset or a configuration of the device while users hold parts of it: `held` names
 * the WQs claimed, the PASIDs in use on WQs and the interrupt-handle entries allocated.
 */
export class HostBusyError extends HostError {
  /** What is held. */
  readonly held: {
    readonly claimedWqs: readonly number[];
    readonly pasids: readonly { readonly wq: number; readonly pasid: number }[];
    readonly interruptHandles: readonly number[];
  };

  /** `what` cannot be done while `held` is held. */
  constructor(what: string, held: HostBusyError['held']) {
    const parts: string[] = [];
    if (held.claimedWqs.length > 0) parts.push(`WQs claimed: ${held.claimedWqs.join(', ')}`);
    if (held.pasids.length > 0) parts.push(`PASIDs in use: ${held.pasids.map((p) => `${p.pasid} (WQ ${p.wq})`).join(', ')}`);
    if (held.interruptHandles.length > 0) parts.push(`interrupt-handle entries allocated: ${held.interruptHandles.join(', ')}`);
    super('EBUSY', `${what}: its users hold ${parts.join('; ')} (tear them down first, or pass { force: true })`);
    this.name = 'HostBusyError';
    this.held = held;
  }
}
