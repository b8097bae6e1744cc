/**
 * The command register of a DSA-like device (vidxd-device.md §5.1), written once for the device
 * model and every virtual device: a CMD write while a command is active is dropped with SWERR 0x52;
 * otherwise CMD is latched and CMDSTS.active set, a command the table lacks or the device does not
 * implement completes with 0x01, a halted device answers 0x03 to everything but RESET_DEVICE, and
 * the command's handler runs. A handler that answers {@link COMMAND_WAITS} keeps CMDSTS.active; the
 * owner's {@link CommandWaitStrategy} says when the wait is over and does what the command does
 * last. Completion writes CMDSTS once and, if CMD bit 31 asked for it, records INTCAUSE bit 1 and
 * raises vector 0. The unit also runs the halt of §3.3 (an unsupported PCI change while Enabled):
 * SWERR 0x51, the owner's work abandoned, GENSTS = Halt with reset type FLR, an active command
 * completed with 0x03, the halt interrupt when GENCTRL enables it.
 *
 * What differs between owners is a parameter: the command table (and its context), which codes are
 * implemented, the wait strategy, and the device hooks (state, halt clean-up, SWERR, vector 0).
 */
import { Command as PciCommand } from '../../pci/index.js';
import { CmdStatus } from '../spec/cmdsts.js';
import { Command, COMMAND_WAITS, DeviceState } from './commands.js';
import { type FieldDef, fieldMask, fieldOf } from '../spec/register-def.js';
import type { RegisterFile } from './register-file.js';
import { CMD, CMDSTS, GENCTRL, GENSTS, INTCAUSE } from './registers.js';
import { SoftwareErrorCode } from '../spec/status.js';

/** What the dispatch needs of one command of a table: its code and its handler. */
export interface CommandEntry<Ctx> {
  /** Command code (CMD bits 24:20). */
  readonly code: number;
  /** Runs the checks and the command; returns `error | result << 8` or {@link COMMAND_WAITS}. */
  readonly run: (context: Ctx, operand: number) => number;
}

/**
 * How a command that answered {@link COMMAND_WAITS} waits (`K`: what it waits for, set by the
 * handler through {@link CommandUnit.beginWait}). The unit re-evaluates the wait when the command
 * starts waiting and at each {@link CommandUnit.recheck}.
 */
export interface CommandWaitStrategy<K> {
  /** Whether the wait of `kind` is over. */
  isOver(kind: K): boolean;
  /** The wait of `kind` is over: what the command does last (disable WQs, enter Disabled). */
  finish(kind: K): void;
  /** The command has just begun a wait that is not over yet (e.g. run the device in automatic mode). */
  started?(): void;
  /** A re-evaluation found the wait not over: make sure {@link CommandUnit.recheck} is called on progress. */
  watch?(): void;
  /** The wait ended (completed, halted, cancelled) or is suspended: stop what {@link watch} set up. */
  unwatch?(): void;
}

/** What the unit needs of the device it belongs to. */
export interface CommandUnitDevice {
  /** GENSTS.state. */
  readonly state: number;
  /** Enters state `s` (GENSTS.state). */
  setState(s: number): void;
  /** Halt: abandon the device's work and disable its WQs (called before GENSTS says Halt). */
  abandon(): void;
  /** Logs a device error without a descriptor in SWERR (0x51, 0x52), with its interrupt. */
  reportDevice(code: number): void;
  /** Records `cause` (an INTCAUSE field) and raises vector 0. */
  raiseCause(cause: FieldDef): void;
}

/** What a {@link CommandUnit} is made of. */
export interface CommandUnitOptions<Ctx, K> {
  /** The register file holding CMD, CMDSTS, GENSTS, GENCTRL and INTCAUSE (the DSA model's registers). */
  readonly regs: RegisterFile;
  /** The commands by code (undefined: no such command). */
  readonly table: readonly (CommandEntry<Ctx> | undefined)[];
  /** Whether the device implements command `code` of the table (absent: every command of the table). */
  readonly implemented?: (code: number) => boolean;
  /** What the handlers act on. */
  readonly context: Ctx;
  /** How a waiting command waits. */
  readonly waits: CommandWaitStrategy<K>;
  /** The device. */
  readonly device: CommandUnitDevice;
}

/** The command register of one device: the §5.1 dispatch over a command table, and the §3.3 halt. */
export class CommandUnit<Ctx, K> {
  private readonly regs: RegisterFile;
  private readonly table: readonly (CommandEntry<Ctx> | undefined)[];
  private readonly implemented: ((code: number) => boolean) | null;
  private readonly context: Ctx;
  private readonly waits: CommandWaitStrategy<K>;
  private readonly device: CommandUnitDevice;
  private readonly cmdDword: number;
  private readonly cmdstsDword: number;
  private readonly activeMask: number;
  private isActive = false;
  private intReq = false;
  private waitKind: K | null = null;

  /** A unit over `options.regs`, idle. */
  constructor(options: CommandUnitOptions<Ctx, K>) {
    this.regs = options.regs;
    this.table = options.table;
    this.implemented = options.implemented ?? null;
    this.context = options.context;
    this.waits = options.waits;
    this.device = options.device;
    this.cmdDword = this.regs.dwordIndex(CMD);
    this.cmdstsDword = this.regs.dwordIndex(CMDSTS);
    this.activeMask = fieldMask(CMDSTS.fields.active);
  }

  /** CMDSTS.active. */
  get active(): boolean {
    return this.isActive;
  }

  /** What the active command waits for (null: nothing). */
  get waiting(): K | null {
    return this.waitKind;
  }

  /** Whether the active command asked for a completion interrupt (CMD.int_req). */
  get interruptRequested(): boolean {
    return this.intReq;
  }

  /** A 4-byte CMD write of `value` (the register file's CMD hook): §5.1 steps 2–7. */
  write(value: number): void {
    if (this.isActive) {
      this.device.reportDevice(SoftwareErrorCode.CMD_REG);
      return;
    }
    const v = this.regs.value;
    v[this.cmdDword] = value >>> 0;
    this.isActive = true;
    this.intReq = fieldOf(value, CMD.fields.intReq) === 1;
    v[this.cmdstsDword] = ((v[this.cmdstsDword] as number) | this.activeMask) >>> 0;
    const code = fieldOf(value, CMD.fields.cmd);
    const def = this.table[code];
    if (def === undefined || (this.implemented !== null && !this.implemented(code))) {
      this.complete(CmdStatus.INVALID_COMMAND);
    } else if (this.device.state === DeviceState.HALT && code !== Command.RESET_DEVICE) {
      this.complete(CmdStatus.HARDWARE_ERROR);
    } else {
      const result = def.run(this.context, fieldOf(value, CMD.fields.operand));
      if (result !== COMMAND_WAITS) {
        this.complete(result);
      } else {
        this.recheck();
        if (this.waitKind !== null) this.waits.started?.();
      }
    }
  }

  /** Called by a handler (through its context): the active command waits for `kind`. */
  beginWait(kind: K): void {
    this.waitKind = kind;
  }

  /** Re-evaluates a waiting command: it completes (with 0) once its wait is over, else keeps being watched. */
  recheck(): void {
    const kind = this.waitKind;
    if (kind === null) return;
    if (!this.waits.isOver(kind)) {
      this.waits.watch?.();
      return;
    }
    this.stopWaiting();
    this.waits.finish(kind);
    this.complete(0);
  }

  /** True while the device runs work (Enabled or draining): the state an unsupported PCI change halts. */
  get working(): boolean {
    const s = this.device.state;
    return s === DeviceState.ENABLED || s === DeviceState.DRAIN;
  }

  /** Whether the PCI command register going from `old` to `now` clears bus mastering while the device is {@link working} (it halts). */
  losesBusMaster(old: number, now: number): boolean {
    return (old & PciCommand.BUS_MASTER) !== 0 && (now & PciCommand.BUS_MASTER) === 0 && this.working;
  }

  /**
   * Enters Halt after an unsupported PCI configuration change (§3.3): SWERR 0x51, the device's work
   * abandoned and its WQs disabled, GENSTS = Halt with reset type 1 (FLR), an active command completed
   * with 0x03, the halt interrupt when GENCTRL enables it.
   */
  halt(): void {
    const d = this.device;
    d.reportDevice(SoftwareErrorCode.PCI_CFG);
    d.abandon();
    d.setState(DeviceState.HALT);
    this.regs.set(GENSTS, GENSTS.fields.resetType, 0, 1);
    if (this.isActive) this.complete(CmdStatus.HARDWARE_ERROR);
    if (this.regs.flag(GENCTRL, GENCTRL.fields.haltIntEn)) d.raiseCause(INTCAUSE.fields.halt);
  }

  /**
   * Completes an active command with 0x03 (Hardware Error), as when the device is taken away from
   * under it (the host revoked it); nothing else changes. No-op when no command is active.
   */
  failActive(): void {
    if (this.isActive) this.complete(CmdStatus.HARDWARE_ERROR);
  }

  /** Stops watching (migration: nothing of the device runs); a waiting command stays active and waiting. {@link recheck} resumes it. */
  suspend(): void {
    this.waits.unwatch?.();
  }

  /**
   * Migration: the command state a saved device had (CMD and CMDSTS themselves are registers): active,
   * its interrupt request and what it waits for. Nothing is watched until {@link recheck}.
   */
  load(active: boolean, intReq: boolean, wait: K | null): void {
    this.suspend();
    this.isActive = active;
    this.intReq = active && intReq;
    this.waitKind = active ? wait : null;
  }

  /** Reset, close, remove: an active command is dropped without completing (the registers are reset next). */
  cancel(): void {
    this.stopWaiting();
    this.isActive = false;
    this.intReq = false;
  }

  private stopWaiting(): void {
    this.waitKind = null;
    this.waits.unwatch?.();
  }

  /** Completes the active command once: CMDSTS = `value` (active clear), then the completion interrupt if requested. */
  private complete(value: number): void {
    this.stopWaiting();
    this.isActive = false;
    this.regs.value[this.cmdstsDword] = value & 0xffffff;
    if (this.intReq) this.device.raiseCause(INTCAUSE.fields.commandCompletion);
  }
}
