/**
 * Memory the device reaches only by messages: the contract between an address space whose pages live in
 * another process (a vfio-user client that shared no file descriptor for them) and the transport that
 * fetches and writes them back (vfio-user DMA_READ / DMA_WRITE, `vfio-uapi.md` §11.8).
 */

/**
 * The transport side of remote memory. Both calls are asynchronous: a port never calls `done`
 * synchronously from inside `read` or `write`.
 */
export interface RemoteMemoryPort {
  /**
   * Fetches `[iova, iova + length)`. Calls `done` once, later, with exactly `length` bytes (which the
   * callee may keep), or with `null` when the peer refused or the connection ended (the range is then
   * treated as unmapped by whoever asked).
   */
  read(iova: number, length: number, done: (bytes: Uint8Array | null) => void): void;
  /**
   * Writes `bytes` at `iova`, strictly after every earlier `write` of this port (the peer applies them
   * in order). The port copies or sends `bytes` before returning, so the caller may reuse them. Calls
   * `done` once, later, with true when the peer acknowledged, false when it refused or went away.
   */
  write(iova: number, bytes: Uint8Array, done: (ok: boolean) => void): void;
}
