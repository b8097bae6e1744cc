/**
 * The optional fd-passing addon (`native/vidxd_fd.c`, built by node-gyp at install): its typed
 * interface and its loader (the shared leaf loader `src/native.ts`). {@link loadNative} returns null
 * when the binary is absent or fails to load, or when `VIDXD_NO_ADDON=1` is set (then the vfio-user
 * transport runs without fds).
 */
import { addonUnavailableReason, loadAddon } from '../native.js';

/** The addon's calls (see `native/vidxd_fd.c`). Data-path calls return −errno; set-up calls throw. */
export interface NativeFd {
  /** A listening non-blocking AF_UNIX stream socket bound to `path`. */
  listen(path: string, backlog: number): number;
  /** Accepts one connection: its fd, or −errno (−11 when none is pending). */
  accept(fd: number): number;
  /** A connected non-blocking AF_UNIX stream socket. */
  connect(path: string): number;
  /** `recvmsg` into `buf`; `fds[0]` = descriptors received, `fds[1..]` the descriptors. Bytes, 0 at EOF, or −errno. */
  recvmsg(fd: number, buf: Uint8Array, fds: Int32Array): number;
  /** `sendmsg` of `buf` with `fds` as SCM_RIGHTS (at most 32). Bytes sent, or −errno. */
  sendmsg(fd: number, buf: Uint8Array, fds: Int32Array | null): number;
  /** Closes `fd`. */
  close(fd: number): void;
  /** A non-blocking eventfd. */
  eventfd(): number;
  /** Adds `n` to an eventfd: 0, or −errno. */
  eventfdWrite(fd: number, n: number): number;
  /** Reads and resets an eventfd: its count, 0 when nothing was signalled. */
  eventfdRead(fd: number): number;
  /** A sealed memfd of `size` bytes (its size cannot change). */
  memfd(name: string, size: number): number;
  /** A shared mapping of `length` bytes of `fd` at `offset`, as an ArrayBuffer (unmapped when collected). */
  mmap(fd: number, offset: number, length: number, writable: boolean): ArrayBuffer;
  /** Calls `cb(events)` on the event loop while `fd` is readable (1) and/or writable (2). */
  watch(fd: number, events: number, cb: (events: number) => void): NativeWatch;
  /** Changes the events a watch waits for. */
  rewatch(handle: NativeWatch, events: number): void;
  /** Stops a watch for good. */
  unwatch(handle: NativeWatch): void;
}

/** An opaque watch handle. */
export type NativeWatch = object & { readonly __nativeWatch?: never };

/** −EAGAIN as the data-path calls return it. */
export const NATIVE_EAGAIN = -11;

/** The addon, or null (see {@link nativeUnavailableReason}). Loaded once. */
export function loadNative(): NativeFd | null {
  return loadAddon<NativeFd>('vidxd_fd');
}

/** Why {@link loadNative} returned null ('' when it did not). */
export function nativeUnavailableReason(): string {
  return addonUnavailableReason('vidxd_fd');
}
