/**
 * A vdev's side of VFIO migration v2 (vidxd-device.md §10, vfio-uapi.md §8): STOP_COPY and PRE_COPY
 * (flags 0x5), the arcs of §10.1, the saving and loading streams (the record format is in
 * `migration-format.ts`), MIG_DATA_SIZE and PRECOPY_INFO, and the checks a loaded stream must pass
 * before anything of it is applied (§10.3). What the arcs do to the vdev itself (stop accepting and
 * complete what the WQ holds, capture and apply its state, run again) is the vdev's
 * ({@link VdevMigrationContext}).
 */
import {
  MigrationArcError, type MigrationOps, type MigrationStreamOps, type PrecopyInfo, VFIO_DEVICE_STATE_PRE_COPY as PRE_COPY,
  VFIO_DEVICE_STATE_RESUMING as RESUMING, VFIO_DEVICE_STATE_RUNNING as RUNNING, VFIO_DEVICE_STATE_STOP as STOP,
  VFIO_DEVICE_STATE_STOP_COPY as STOP_COPY, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY, VfioError,
} from '../vfio/index.js';
import { decodeStream, encodeRecord, MIG_MAX_STREAM, MigRecordKind, MigStreamError, type VdevImage } from './migration-format.js';

/** What the migration arcs do to the vdev (supplied by the vdev). */
export interface VdevMigrationContext {
  /**
   * RUNNING → STOP: stop accepting new work, then complete (or take back, when it has had no effect
   * yet) every descriptor the WQ holds of the vdev. Throws a `MigrationArcError` (state unchanged)
   * when a descriptor is in the middle of its write-back to memory reached only by messages.
   */
  stop(): void;
  /** STOP → RUNNING: run again (replay what was queued while stopped). */
  run(): void;
  /** The vdev's state as a record (`final`: complete, with what is queued; the vdev is stopped). */
  capture(final: boolean): VdevImage;
  /** STOP → RESUMING: to reset state, still stopped. */
  prepareLoad(): void;
  /**
   * RESUMING → STOP: checks `image` against the saved facts and this vdev, then applies it. Throws
   * `MigStreamError` or `VfioError` (nothing applied: the vdev is left at reset state).
   */
  load(image: VdevImage): void;
  /** The vdev is back at reset state after a refused load. */
  refused(): void;
}

/** A saving stream: the records of the pre-copy phase, then the final record. */
class SavingStream implements MigrationStreamOps {
  private pending: Uint8Array;
  private pos = 0;
  /** The bytes of the first (initial) record still unread. */
  private initialLeft: number;
  /** The last image sent, to tell whether the state changed since (pre-copy). */
  private lastSent: Uint8Array;
  private final = false;

  constructor(private readonly ctx: VdevMigrationContext, final: boolean) {
    this.pending = encodeRecord(ctx.capture(final));
    this.lastSent = this.pending;
    this.final = final;
    this.initialLeft = final ? 0 : this.pending.length;
  }

  /** PRE_COPY → STOP_COPY: the vdev has stopped; the final record follows what is left to read. */
  finish(): void {
    const rest = this.pending.subarray(this.pos);
    const last = encodeRecord(this.ctx.capture(true));
    const next = new Uint8Array(rest.length + last.length);
    next.set(rest);
    next.set(last, rest.length);
    this.pending = next;
    this.pos = 0;
    this.final = true;
  }

  read(buf: Uint8Array): number {
    if (this.pos === this.pending.length && !this.final) this.resendIfChanged();
    const n = Math.min(buf.length, this.pending.length - this.pos);
    buf.set(this.pending.subarray(this.pos, this.pos + n));
    this.pos += n;
    if (this.initialLeft > 0) this.initialLeft = Math.max(0, this.initialLeft - n);
    return n;
  }

  precopyInfo(): PrecopyInfo {
    const unread = this.pending.length - this.pos;
    let dirty = unread - this.initialLeft;
    if (unread === 0) dirty += this.changedSize();
    return { initialBytes: this.initialLeft, dirtyBytes: dirty };
  }

  /** A new pre-copy record when the state differs from the last one sent. */
  private resendIfChanged(): void {
    const now = encodeRecord(this.ctx.capture(false));
    if (sameBytes(now, this.lastSent)) return;
    this.pending = now;
    this.lastSent = now;
    this.pos = 0;
  }

  private changedSize(): number {
    const now = encodeRecord(this.ctx.capture(false));
    return sameBytes(now, this.lastSent) ? 0 : now.length;
  }
}

/** A loading stream: bytes kept until RESUMING → STOP. */
class LoadingStream implements MigrationStreamOps {
  private chunks: Uint8Array[] = [];
  private total = 0;

  write(buf: Uint8Array): number {
    if (this.total + buf.length > MIG_MAX_STREAM) {
      throw new VfioError('EINVAL', `migration stream: longer than ${MIG_MAX_STREAM} bytes, more than any vdev stream holds`);
    }
    this.chunks.push(buf.slice());
    this.total += buf.length;
    return buf.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The vdev's migration operations: the arcs and the streams. */
export class VdevMigration implements MigrationOps {
  /** STOP_COPY | PRE_COPY (0x5); never P2P. */
  readonly flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY;
  private saving: SavingStream | null = null;
  private loading: LoadingStream | null = null;

  /** The operations of a vdev whose arcs run through `ctx`. */
  constructor(private readonly ctx: VdevMigrationContext) {}

  /** Runs one arc of §10.1 (the core has checked it is a valid next step). */
  arc(from: number, to: number): MigrationStreamOps | void {
    const ctx = this.ctx;
    if (from === RUNNING && to === STOP) return ctx.stop();
    if (from === STOP && to === RUNNING) return ctx.run();
    if (from === RUNNING && to === PRE_COPY) {
      this.saving = new SavingStream(ctx, false);
      return this.saving;
    }
    if (from === PRE_COPY && to === RUNNING) {
      this.saving = null;
      return;
    }
    if (from === PRE_COPY && to === STOP_COPY) {
      ctx.stop();
      const s = this.saving;
      if (s === null) throw new MigrationArcError('EINVAL', 'migration: PRE_COPY without its stream', true);
      s.finish();
      return;
    }
    if (from === STOP && to === STOP_COPY) {
      this.saving = new SavingStream(ctx, true);
      return this.saving;
    }
    if (from === STOP_COPY && to === STOP) {
      this.saving = null;
      return;
    }
    if (from === STOP && to === RESUMING) {
      ctx.prepareLoad();
      this.loading = new LoadingStream();
      return this.loading;
    }
    if (from === RESUMING && to === STOP) return this.load();
    throw new MigrationArcError('EINVAL', `migration: the vdev has no arc ${from} → ${to}`, false);
  }

  /** MIG_DATA_SIZE: the length of a final record of the vdev's state now. */
  dataSize(): number {
    return encodeRecord(this.ctx.capture(true)).length;
  }

  /** The state the core's reset or close returns the device to: no stream. */
  forget(): void {
    this.saving = null;
    this.loading = null;
  }

  private load(): void {
    const stream = this.loading;
    this.loading = null;
    let image: VdevImage;
    try {
      if (stream === null) throw new MigStreamError('no loading stream');
      image = decodeStream(stream.bytes());
      if (image.kind !== MigRecordKind.FINAL) throw new MigStreamError('the stream ends without a final record');
      this.ctx.load(image);
    } catch (e) {
      this.ctx.refused();
      if (e instanceof MigStreamError || e instanceof VfioError) {
        throw new MigrationArcError('EINVAL', `migration stream refused: ${e.message}`, true, { cause: e });
      }
      throw e;
    }
  }
}
