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

/**
 * The most one port call asks for or sends: 1 MiB, vfio-user's default `max_data_xfer_size`. Longer
 * fetches and write-backs are split; a port whose peer takes less splits further.
 */
export const REMOTE_TRANSFER_LIMIT = 1 << 20;

/** Something that keeps copies of a region's pages and must drop them when the region is unmapped. */
export interface RemotePageHolder {
  /** `[from, to)` of `region` is no longer mapped: forget every copy of it and every fetch of it under way. */
  dropRange(region: RemoteRegion, from: number, to: number): void;
}

/**
 * One mapping of memory reached only through a {@link RemoteMemoryPort}: its IOVA range, its permission
 * and the port. It counts the port calls not yet answered (fetches and write-backs in flight) so an
 * unmap can wait for them (`vfio-uapi.md` §11.8: DMA_UNMAP is answered only when no DMA to the range is
 * in flight), and it knows who holds copies of its pages so an unmap can make them forget them.
 *
 * Every call into the port goes through {@link read} and {@link write}, which contain a port that
 * throws or answers twice: a throw is a refusal (answered asynchronously), a second answer is ignored.
 */
export class RemoteRegion {
  private inFlight = 0;
  private readonly holders = new Set<RemotePageHolder>();
  private idle: (() => void)[] = [];

  /**
   * @param port the transport that reaches the memory
   * @param iova first IOVA of the mapping (4 KiB aligned)
   * @param size length in bytes (a non-zero multiple of 4 KiB)
   * @param perm the mapping's `Perm` bits
   */
  constructor(
    readonly port: RemoteMemoryPort,
    readonly iova: number,
    readonly size: number,
    readonly perm: number,
  ) {}

  /** Port calls made through this region and not yet answered. */
  get inflight(): number {
    return this.inFlight;
  }

  /** Fetches `[iova, iova + length)` through the port; `done` gets exactly `length` bytes or null. */
  read(iova: number, length: number, done: (bytes: Uint8Array | null) => void): void {
    this.inFlight++;
    let answered = false;
    const answer = (bytes: Uint8Array | null): void => {
      if (answered) return;
      answered = true;
      this.ended();
      done(bytes instanceof Uint8Array && bytes.length === length ? bytes : null);
    };
    try {
      this.port.read(iova, length, answer);
    } catch {
      queueMicrotask(() => answer(null));
    }
  }

  /** Writes `bytes` at `iova` through the port (in order with every earlier write of the port). */
  write(iova: number, bytes: Uint8Array, done: (ok: boolean) => void): void {
    this.inFlight++;
    let answered = false;
    const answer = (ok: boolean): void => {
      if (answered) return;
      answered = true;
      this.ended();
      done(ok === true);
    };
    try {
      this.port.write(iova, bytes, answer);
    } catch {
      queueMicrotask(() => answer(false));
    }
  }

  /** `holder` keeps copies of pages of this region (until {@link release}). */
  hold(holder: RemotePageHolder): void {
    this.holders.add(holder);
  }

  /** `holder` keeps no copy any more. */
  release(holder: RemotePageHolder): void {
    this.holders.delete(holder);
  }

  /** `[from, to)` of the region was unmapped: every holder forgets its copies of it. */
  invalidate(from: number, to: number): void {
    for (const h of [...this.holders]) h.dropRange(this, from, to);
  }

  /** Resolves once no port call of this region is in flight (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private ended(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.idle.length > 0) {
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
    }
  }
}
