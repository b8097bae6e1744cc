/**
 * The user's side of a migration data stream (the `data_fd` of MIG_DEVICE_STATE SET): validity,
 * direction and the PRE_COPY/STOP_COPY read rules of `vfio-uapi.md` §8.5, around the device's stream.
 */
import { VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_PRE_COPY_P2P } from './constants.js';
import { VfioError } from './errors.js';
import type { MigrationStreamOps, PrecopyInfo } from './migration-ops.js';

/** A migration data stream handed to the user. */
export class VfioMigrationStream {
  private ended = false;

  /**
   * Wraps a device stream. `saving`: opened by an arc into the saving group (read side); otherwise a
   * loading stream (write side). `state` reports the device's current migration state.
   */
  constructor(
    private readonly ops: MigrationStreamOps,
    readonly saving: boolean,
    private readonly state: () => number,
  ) {}

  /** False once the transfer ended (state left the stream's group), or after reset, close or `close()`. */
  get valid(): boolean {
    return !this.ended;
  }

  /** Ends the stream; later use → ENODEV. */
  terminate(): void {
    this.ended = true;
  }

  /** Alias of {@link terminate}: the user closed the stream. */
  close(): void {
    this.ended = true;
  }

  /**
   * Reads from a saving stream into `buf`; returns the byte count, 0 at end of stream (STOP_COPY).
   * ENOMSG at a temporary end in PRE_COPY; ENODEV after the transfer ended; EINVAL on a loading stream.
   */
  read(buf: Uint8Array): number {
    this.check();
    if (!this.saving || this.ops.read === undefined) throw new VfioError('EINVAL', 'migration stream: not readable');
    const n = this.ops.read(buf);
    if (n === 0 && this.inPrecopy()) throw new VfioError('ENOMSG', 'migration stream: no data now (PRE_COPY)');
    return n;
  }

  /**
   * Reads what a saving stream has now, in `chunk`-byte reads, as one array: to its end in STOP_COPY
   * (a read of 0), or until the device has nothing more for the moment in PRE_COPY (ENOMSG). Throws
   * as {@link read} does otherwise (EINVAL on a loading stream, ENODEV after the transfer ended).
   */
  readAll(chunk = 4096): Uint8Array {
    if (!(Number.isSafeInteger(chunk) && chunk > 0)) throw new VfioError('EINVAL', `migration stream: a read of ${String(chunk)} bytes`);
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(chunk);
      let n: number;
      try {
        n = this.read(buf);
      } catch (e) {
        if (e instanceof VfioError && e.code === 'ENOMSG') break;
        throw e;
      }
      if (n === 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Writes `buf` to a loading stream; returns the byte count. ENODEV after the transfer ended; EINVAL on a saving stream. */
  write(buf: Uint8Array): number {
    this.check();
    if (this.saving || this.ops.write === undefined) throw new VfioError('EINVAL', 'migration stream: not writable');
    return this.ops.write(buf);
  }

  /** VFIO_MIG_GET_PRECOPY_INFO: only in PRE_COPY / PRE_COPY_P2P, else EINVAL. */
  precopyInfo(): PrecopyInfo {
    this.check();
    if (!this.inPrecopy()) throw new VfioError('EINVAL', 'migration stream: PRECOPY_INFO outside PRE_COPY');
    if (this.ops.precopyInfo === undefined) throw new VfioError('ENOTTY', 'migration stream: device gives no PRE_COPY info');
    return this.ops.precopyInfo();
  }

  private inPrecopy(): boolean {
    const s = this.state();
    return s === VFIO_DEVICE_STATE_PRE_COPY || s === VFIO_DEVICE_STATE_PRE_COPY_P2P;
  }

  private check(): void {
    if (this.ended) throw new VfioError('ENODEV', 'migration stream: the transfer has ended');
  }
}
