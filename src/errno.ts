/**
 * The one errno table of the library: Linux x86-64 errno names and numbers. Every typed error of the
 * library follows Node's convention for system errors: `code` is the name (`'EINVAL'`), `errno` the
 * number (22). This module imports nothing, so every layer may use it.
 */

/** errno name → number, Linux x86-64 values (only the ones the library reports). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
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
  EPIPE: 32,
  ENOMSG: 42,
  EPROTO: 71,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
} as const;

/** One of the errno names of {@link ERRNO}. */
export type ErrnoName = keyof typeof ERRNO;

/** The errno name for a number, or `undefined` when the library does not use that number. */
export function errnoName(errno: number): ErrnoName | undefined {
  for (const name of Object.keys(ERRNO) as ErrnoName[]) if (ERRNO[name] === errno) return name;
  return undefined;
}
