/**
 * The VFIO migration v2 state machine as data (`vfio-uapi.md` §8.3): the states each feature set
 * supports, the kernel's raw next-step table, the next-step function exactly as
 * `vfio_mig_get_next_state` computes it (with the loop that stops on ERROR), and a runner that walks
 * a path one arc at a time.
 */
import {
  VFIO_DEVICE_STATE_ERROR as ERR,
  VFIO_DEVICE_STATE_NR,
  VFIO_DEVICE_STATE_PRE_COPY as PC,
  VFIO_DEVICE_STATE_PRE_COPY_P2P as PCP,
  VFIO_DEVICE_STATE_RESUMING as RS,
  VFIO_DEVICE_STATE_RUNNING as RUN,
  VFIO_DEVICE_STATE_RUNNING_P2P as RP,
  VFIO_DEVICE_STATE_STOP as STOP,
  VFIO_DEVICE_STATE_STOP_COPY as SC,
  VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
} from './constants.js';
import { VfioError } from './errors.js';
import { MigrationArcError, type MigrationStreamOps } from './migration-ops.js';

/** State names by value, for messages and tables. */
export const MIG_STATE_NAMES: readonly string[] = [
  'ERROR',
  'STOP',
  'RUNNING',
  'STOP_COPY',
  'RESUMING',
  'RUNNING_P2P',
  'PRE_COPY',
  'PRE_COPY_P2P',
];

/** The name of a state value (`'state 9'` outside 0–7). */
export function migStateName(state: number): string {
  return MIG_STATE_NAMES[state] ?? `state ${state}`;
}

/** The migration flag sets a device may offer: STOP_COPY alone, + P2P, + PRE_COPY, + both. */
export const VALID_MIGRATION_FLAG_SETS: readonly number[] = [
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
];

/** True when `flags` is one of {@link VALID_MIGRATION_FLAG_SETS}. */
export function isValidMigrationFlags(flags: number): boolean {
  return VALID_MIGRATION_FLAG_SETS.includes(flags);
}

/** Flags each state needs (ERROR needs every bit: never supported). */
export const MIG_STATE_REQUIRED_FLAGS: readonly number[] = [
  0xffff_ffff,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
];

/** True when a device with migration `flags` supports `state` (never ERROR, never a value ≥ 8). */
export function isMigStateSupported(state: number, flags: number): boolean {
  if (!Number.isInteger(state) || state < 0 || state >= VFIO_DEVICE_STATE_NR) return false;
  const need = MIG_STATE_REQUIRED_FLAGS[state] as number;
  return ((need & flags) >>> 0) === need >>> 0;
}

/** The raw table T[cur][target] of Linux `vfio_from_fsm_table` (`vfio-uapi.md` §8.3). */
export const MIG_FSM_TABLE: readonly (readonly number[])[] = [
  /* ERROR        */ [ERR, ERR, ERR, ERR, ERR, ERR, ERR, ERR],
  /* STOP         */ [ERR, STOP, RP, SC, RS, RP, RP, RP],
  /* RUNNING      */ [ERR, RP, RUN, RP, RP, RP, PC, RP],
  /* STOP_COPY    */ [ERR, STOP, STOP, SC, STOP, STOP, ERR, ERR],
  /* RESUMING     */ [ERR, STOP, STOP, STOP, RS, STOP, STOP, STOP],
  /* RUNNING_P2P  */ [ERR, STOP, RUN, STOP, STOP, RP, RUN, PCP],
  /* PRE_COPY     */ [ERR, RUN, RUN, PCP, RUN, RUN, PC, PCP],
  /* PRE_COPY_P2P */ [ERR, RP, RP, SC, RP, RP, PC, PCP],
];

/**
 * The next state on the way from `cur` to `target` for a device with migration `flags`, as
 * `vfio_mig_get_next_state`: EINVAL when either end is unsupported (ERROR, values > 7, optional states
 * the device lacks) or the arc is blocked (STOP_COPY → PRE_COPY*). `cur == target` returns `target`.
 */
export function nextMigState(cur: number, target: number, flags: number): number {
  if (!isMigStateSupported(cur, flags)) {
    throw new VfioError('EINVAL', `migration: current state ${migStateName(cur)} is not a supported state`);
  }
  if (!isMigStateSupported(target, flags)) {
    throw new VfioError('EINVAL', `migration: ${migStateName(target)} is not a supported target state`);
  }
  let n = (MIG_FSM_TABLE[cur] as readonly number[])[target] as number;
  // Skip optional states the device lacks; stop on ERROR (a blocked arc), never loop.
  while (n !== ERR && !isMigStateSupported(n, flags)) n = (MIG_FSM_TABLE[n] as readonly number[])[target] as number;
  if (n === ERR) {
    throw new VfioError('EINVAL', `migration: ${migStateName(cur)} → ${migStateName(target)} is not permitted`);
  }
  return n;
}

/** The whole path from `cur` to `target` (excluding `cur`; empty when equal). Throws as {@link nextMigState}. */
export function migPath(cur: number, target: number, flags: number): number[] {
  const path: number[] = [];
  let s = cur;
  nextMigState(cur, target, flags); // validates both ends even when cur == target
  while (s !== target) {
    s = nextMigState(s, target, flags);
    path.push(s);
    if (path.length > VFIO_DEVICE_STATE_NR) throw new Error('migration path does not converge'); // table bug guard
  }
  return path;
}

/** The states that share one saving stream. */
export function isSavingState(state: number): boolean {
  return state === PC || state === PCP || state === SC;
}

/** True for the arcs that open a new stream (saving or loading). */
export function opensStream(from: number, to: number): boolean {
  return (
    (from === STOP && to === SC) || (from === RUN && to === PC) || (from === RP && to === PCP) || (from === STOP && to === RS)
  );
}

/** Runs one arc; returns the stream the arc opened, if any. */
export type MigrationArc = (from: number, to: number) => MigrationStreamOps | void;

/**
 * The migration state of one device and the runner of §8.3 SET_STATE: walks the path one arc at a
 * time. A failing arc leaves the state at the last state reached, or ERROR when the arc says so
 * ({@link MigrationArcError} `toError`, or a non-VFIO exception, reported as EIO). Only `reset()` leaves
 * ERROR.
 */
export class MigrationFsm {
  private current = RUN;

  /** Builds the FSM at RUNNING; throws a plain Error for an invalid flag set. */
  constructor(
    readonly flags: number,
    private readonly arc: MigrationArc,
  ) {
    if (!isValidMigrationFlags(flags)) throw new Error(`invalid migration flags 0x${flags.toString(16)}`);
  }

  /** The current state. */
  get state(): number {
    return this.current;
  }

  /**
   * Moves to `target`. Returns the stream opened by the last arc (paths put a stream-opening arc last),
   * or undefined. Validation failures (EINVAL) change nothing.
   */
  setState(target: number): MigrationStreamOps | undefined {
    let stream: MigrationStreamOps | undefined;
    nextMigState(this.current, target, this.flags); // reject bad ends before any arc runs
    while (this.current !== target) {
      const next = nextMigState(this.current, target, this.flags);
      const from = this.current;
      let result: MigrationStreamOps | void;
      try {
        result = this.arc(from, next);
      } catch (e) {
        if (e instanceof MigrationArcError) {
          if (e.toError) this.current = ERR;
          throw e;
        }
        if (e instanceof VfioError) throw e;
        this.current = ERR;
        throw new VfioError('EIO', `migration arc ${migStateName(from)} → ${migStateName(next)} failed`, { cause: e });
      }
      this.current = next;
      stream = opensStream(from, next) && result ? result : undefined;
    }
    return stream;
  }

  /** VFIO_DEVICE_RESET: back to RUNNING (the only way out of ERROR). */
  reset(): void {
    this.current = RUN;
  }
}
