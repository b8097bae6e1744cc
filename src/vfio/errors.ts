/**
 * Linux errno names and numbers (x86-64) used by the device API, and the typed error every host-API
 * misuse throws (`vfio-uapi.md` §1.3). The mdev core uses the same class.
 */

/** errno name → number, Linux x86-64 values. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  ENOMSG: 42,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
} as const;

/** One of the errno names of {@link ERRNO}. */
export type ErrnoName = keyof typeof ERRNO;

/** The errno name for a number, or `undefined` when the library does not use that number. */
export function errnoName(code: number): ErrnoName | undefined {
  for (const name of Object.keys(ERRNO) as ErrnoName[]) if (ERRNO[name] === code) return name;
  return undefined;
}

/**
 * A host-API call was rejected. `errno` is the Linux errno name (`'EINVAL'`), `code` its number (22);
 * the message says what was wrong. A call that throws this changed no state, unless its documentation
 * says otherwise (a failing migration arc, parent teardown).
 */
export class VfioError extends Error {
  /** The Linux errno name. */
  readonly errno: ErrnoName;
  /** The Linux errno number. */
  readonly code: number;

  /** Builds the error; the message is prefixed with the errno name. */
  constructor(errno: ErrnoName, message: string, options?: { cause?: unknown }) {
    super(`${errno}: ${message}`, options);
    this.name = 'VfioError';
    this.errno = errno;
    this.code = ERRNO[errno];
  }
}

/** True when `e` is a {@link VfioError}, optionally with the given errno name. */
export function isVfioError(e: unknown, errno?: ErrnoName): e is VfioError {
  return e instanceof VfioError && (errno === undefined || e.errno === errno);
}
