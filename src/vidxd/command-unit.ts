/**
 * The vdev's command dispatch (vidxd-device.md §5.1), in one place: a CMD write while a command is
 * active is dropped with SWERR 0x52; otherwise CMDSTS.active is set and CMD latched, an
 * unimplemented command completes with 0x01, a halted vdev answers 0x03 to everything but
 * RESET_DEVICE, and the command runs. A command that waits for the vdev's descriptors keeps
 * CMDSTS.active and is re-evaluated each time the backing WQ makes progress (a listener installed
 * only while it waits, so nothing of the vdev runs on the fast path otherwise). Completion writes
 * CMDSTS once and, if CMD bit 31 asked for it, records INTCAUSE bit 1 and signals vector 0 — also
 * after RESET_DEVICE, which keeps CMD.
 */
import { CmdStatus, Command, COMMAND_WAITS, DeviceState, fieldOf, type RegisterFile, SoftwareErrorCode } from '../dsa/index.js';
import { VDEV_COMMAND_BY_CODE, type VdevCommandContext, type VdevWaitKind } from './commands.js';
import type { VdevInterrupts } from './interrupts.js';
import { VDEV_CMD, VDEV_CMDSTS, VDEV_INTCAUSE } from './registers.js';

/** What the dispatch needs besides the command context: the state of the vdev's descriptors. */
export interface VdevWaitSupport {
  /** True when none of the vdev's descriptors is left in the backing WQ. */
  idle(): boolean;
  /** Calls `listener` after each step of progress of the backing WQ; returns the remover. */
  watch(listener: () => void): () => void;
  /** The wait of `kind` is over: do what the command does last (unbind the WQ, enter Disabled). */
  finishWait(kind: VdevWaitKind): void;
}

/** The command register of one vdev. */
export class VdevCommandUnit {
  private readonly regs: RegisterFile;
  private readonly irq: VdevInterrupts;
  private readonly ctx: VdevCommandContext;
  private readonly waits: VdevWaitSupport;
  private readonly cmdDword: number;
  private readonly cmdstsDword: number;
  private readonly activeMask: number;
  private isActive = false;
  private intReq = false;
  private waitKind: VdevWaitKind | null = null;
  private unwatch: (() => void) | null = null;
  private readonly onProgress = (): void => this.checkWait();

  /** The dispatch over `regs`, interrupting through `irq`, running commands against `ctx`. */
  constructor(regs: RegisterFile, irq: VdevInterrupts, ctx: VdevCommandContext, waits: VdevWaitSupport) {
    this.regs = regs;
    this.irq = irq;
    this.ctx = ctx;
    this.waits = waits;
    this.cmdDword = regs.dwordIndex(VDEV_CMD);
    this.cmdstsDword = regs.dwordIndex(VDEV_CMDSTS);
    this.activeMask = (1 << VDEV_CMDSTS.fields.active.lo) >>> 0;
  }

  /** CMDSTS.active. */
  get active(): boolean {
    return this.isActive;
  }

  /** What the active command waits for (null: nothing). */
  get waiting(): VdevWaitKind | null {
    return this.waitKind;
  }

  /** A 4-byte CMD write of `value` (the register file's CMD hook): §5.1 steps 2–7. */
  write(value: number): void {
    if (this.isActive) {
      this.irq.reportDevice(SoftwareErrorCode.CMD_REG);
      return;
    }
    const v = this.regs.value;
    v[this.cmdDword] = value >>> 0;
    this.isActive = true;
    this.intReq = fieldOf(value, VDEV_CMD.fields.intReq) === 1;
    v[this.cmdstsDword] = ((v[this.cmdstsDword] as number) | this.activeMask) >>> 0;
    const code = fieldOf(value, VDEV_CMD.fields.cmd);
    const def = VDEV_COMMAND_BY_CODE[code];
    if (def === undefined) {
      this.complete(CmdStatus.INVALID_COMMAND);
    } else if (this.ctx.state === DeviceState.HALT && code !== Command.RESET_DEVICE) {
      this.complete(CmdStatus.HARDWARE_ERROR);
    } else {
      const result = def.run(this.ctx, fieldOf(value, VDEV_CMD.fields.operand));
      if (result !== COMMAND_WAITS) this.complete(result);
      else this.checkWait();
    }
  }

  /** Called by a handler (through the context): the active command waits for `kind`. */
  beginWait(kind: VdevWaitKind): void {
    this.waitKind = kind;
  }

  /** The vdev halted: an active command completes with 0x03 (hardware error). */
  halt(): void {
    if (this.isActive) this.complete(CmdStatus.HARDWARE_ERROR);
  }

  /**
   * Migration: stops watching the backing WQ (nothing of the vdev runs while it is stopped); a
   * waiting command stays active and waiting. {@link recheck} resumes it.
   */
  suspend(): void {
    const u = this.unwatch;
    this.unwatch = null;
    u?.();
  }

  /** Migration: re-evaluates a waiting command (it completes now, or watches the backing WQ again). */
  recheck(): void {
    this.checkWait();
  }

  /** Whether the active command asked for a completion interrupt (saved with the vdev's state). */
  get interruptRequested(): boolean {
    return this.intReq;
  }

  /**
   * Migration: the command state a saved vdev had (CMD and CMDSTS themselves are registers): active,
   * its interrupt request and what it waits for. Nothing is watched until {@link recheck}.
   */
  load(active: boolean, intReq: boolean, wait: VdevWaitKind | null): void {
    this.suspend();
    this.isActive = active;
    this.intReq = active && intReq;
    this.waitKind = active ? wait : null;
  }

  /** VFIO reset, close, remove: an active command is dropped without completing (the registers are reset next). */
  cancel(): void {
    this.stopWaiting();
    this.isActive = false;
    this.intReq = false;
  }

  /** Re-evaluates a waiting command: completes it once the vdev's descriptors are gone, else keeps watching. */
  private checkWait(): void {
    const kind = this.waitKind;
    if (kind === null) return;
    if (!this.waits.idle()) {
      if (this.unwatch === null) this.unwatch = this.waits.watch(this.onProgress);
      return;
    }
    this.stopWaiting();
    this.waits.finishWait(kind);
    this.complete(0);
  }

  private stopWaiting(): void {
    this.waitKind = null;
    const u = this.unwatch;
    this.unwatch = null;
    u?.();
  }

  /** Completes the active command once: CMDSTS = `value` (active clear), then the completion interrupt if requested. */
  private complete(value: number): void {
    this.stopWaiting();
    this.isActive = false;
    this.regs.value[this.cmdstsDword] = value & 0xffffff;
    if (this.intReq) this.irq.raiseCause(VDEV_INTCAUSE.fields.commandCompletion);
  }
}
