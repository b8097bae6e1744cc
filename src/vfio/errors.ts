/**
 * Linux errno names and numbers (x86-64) used by the device API, and the typed error every host-API
 * misuse throws (`vfio-uapi.md` §1.3). The mdev core uses the same class.
 */

export { ERRNO, errnoName, type ErrnoName } from '../errno.js';
import type { ErrnoName } from '../errno.js';
import { ERRNO } from '../errno.js';

/**
 * A host-API call was rejected. As Node's system errors: `code` is the Linux errno name (`'EINVAL'`),
 * `errno` its number (22); the message says what was wrong. A call that throws this changed no state,
 * unless its documentation says otherwise (a failing migration arc, parent teardown).
 */
export class VfioError extends Error {
  /** The Linux errno name (`'EINVAL'`). */
  readonly code: ErrnoName;
  /** The Linux errno number (22). */
  readonly errno: number;

  /** Builds the error; the message is prefixed with the errno name. */
  constructor(code: ErrnoName, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'VfioError';
    this.code = code;
    this.errno = ERRNO[code];
  }
}

/** True when `e` is a {@link VfioError}, optionally with the given errno name. */
export function isVfioError(e: unknown, code?: ErrnoName): e is VfioError {
  return e instanceof VfioError && (code === undefined || e.code === code);
}
