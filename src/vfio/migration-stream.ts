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
