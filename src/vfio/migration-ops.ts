/**
 * The device side of migration v2: the arcs a device implements and its data streams
 * (`vfio-uapi.md` §8). The core runs the FSM and calls one arc at a time.
 */
import { VfioError, type ErrnoName } from './errors.js';

/** Estimates a saving stream reports in PRE_COPY (VFIO_MIG_GET_PRECOPY_INFO). */
export interface PrecopyInfo {
  /** Unread part of the initial image. */
  readonly initialBytes: number;
  /** State changed since last read. */
  readonly dirtyBytes: number;
}

/**
 * A data stream opened by an arc. Saving streams implement `read`, loading streams `write`. The core
 * checks that the stream is still valid (ENODEV otherwise) before calling either.
 */
export interface MigrationStreamOps {
  /**
   * Fills `buf` from the front of the stream and returns the byte count; 0 = no data now (in PRE_COPY
   * the core answers ENOMSG, in STOP_COPY end of stream).
   */
  read?(buf: Uint8Array): number;
  /** Consumes `buf` (any segmentation) and returns the byte count taken. */
  write?(buf: Uint8Array): number;
  /** PRE_COPY estimates; mandatory when the device offers PRE_COPY. */
  precopyInfo?(): PrecopyInfo;
}

/** The device's migration support. */
export interface MigrationOps {
  /** VFIO_MIGRATION_STOP_COPY, optionally | PRE_COPY and/or | P2P (valid sets: 1, 3, 5, 7). */
  readonly flags: number;
  /**
   * Runs the single arc `from → to`. Stream-opening arcs (STOP→STOP_COPY, RUNNING→PRE_COPY,
   * RUNNING_P2P→PRE_COPY_P2P, STOP→RESUMING) return the new stream. To fail, throw a
   * {@link MigrationArcError} (or any {@link VfioError}: the state stays at `from`); any other exception
   * is an internal failure reported as EIO with the state set to ERROR.
   */
  arc(from: number, to: number): MigrationStreamOps | void;
  /** Estimated STOP_COPY stream length in bytes (feature MIG_DATA_SIZE); 0 when absent. */
  dataSize?(): number;
}

/**
 * An arc failed. `toError` says whether the device is left in ERROR (it could not stay at the arc's
 * starting state) or stays at the state the arc started from.
 */
export class MigrationArcError extends VfioError {
  /** True: the device state becomes ERROR. */
  readonly toError: boolean;

  /** Builds the error. */
  constructor(code: ErrnoName, message: string, toError: boolean, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'MigrationArcError';
    this.toError = toError;
  }
}
