/**
 * The host driver's command channel (Linux `idxd_cmd_exec`): a command is written to CMD and
 * CMDSTS is polled until it is no longer active, the driver's `wait` hook running between two polls.
 * The driver polls, so it never asks for a completion interrupt (CMD.int_req stays 0).
 */
import { CMD, CmdStatus, CMDSTS, fieldOf, packRegister } from '../dsa/index.js';
import { HostError } from './errors.js';
import type { RegisterAccess } from './probe.js';

const ACTIVE = (1 << (CMDSTS.fields.active.lo & 31)) >>> 0;

/** Runs commands through CMD and CMDSTS of one device. */
export class CommandChannel {
  private readonly mmio: RegisterAccess;
  private readonly wait: () => void;
  private readonly maxPolls: number;
  private readonly giveUp: ((code: number, operand: number) => boolean) | null;

  /**
   * A channel over `mmio`; `wait` runs between two polls, at most `maxPolls` of them per command.
   * `giveUp`, when given, is called for a command that timed out: it abandons what the command waits
   * for and returns true once the command is no longer active (so a timeout never leaves CMD active).
   */
  constructor(mmio: RegisterAccess, wait: () => void, maxPolls: number, giveUp?: (code: number, operand: number) => boolean) {
    this.mmio = mmio;
    this.wait = wait;
    this.maxPolls = maxPolls;
    this.giveUp = giveUp ?? null;
  }

  /** CMDSTS.active: a command is in progress (this channel's, one started from a callback of its wait, or one that timed out). */
  get active(): boolean {
    return (this.mmio.read32(CMDSTS.offset) & ACTIVE) !== 0;
  }

  /** Lets the device run once, as between two polls (the driver's `wait` hook). */
  letRun(): void {
    this.wait();
  }

  /**
   * Writes CMD and polls CMDSTS until the command completes. Returns CMDSTS. Throws `HostError`
   * EBUSY if a command is already active, ETIMEDOUT if this one does not complete within `maxPolls`:
   * a command that waits for descriptors (drain, disable, abort) is then not left active — the
   * descriptors it waits for are abandoned (no record, no interrupt; the `giveUp` of the constructor),
   * so that it completes and the device takes commands again.
   */
  command(code: number, operand = 0): number {
    if ((this.mmio.read32(CMDSTS.offset) & ACTIVE) !== 0) throw new HostError('EBUSY', 'another command is active');
    this.start(code, operand);
    try {
      return this.poll(`command ${code}`);
    } catch (e) {
      if (!(e instanceof HostError) || e.code !== 'ETIMEDOUT' || this.giveUp === null || !this.giveUp(code, operand)) throw e;
      throw new HostError('ETIMEDOUT', `${e.message.replace(/^ETIMEDOUT: /, '')}; the descriptors it waited for were abandoned (no record, no interrupt) and it completed`);
    }
  }

  /** Writes CMD without looking at CMDSTS first (the probe's Reset Device, whatever state the device is in). */
  start(code: number, operand = 0): void {
    this.mmio.write32(CMD.offset, packRegister(CMD, { cmd: code, operand })[0] as number);
  }

  /** Polls CMDSTS until it is not active; returns it. Throws `HostError` ETIMEDOUT naming `what`. */
  poll(what: string): number {
    for (let i = 0; i < this.maxPolls; i++) {
      const st = this.mmio.read32(CMDSTS.offset);
      if ((st & ACTIVE) === 0) return st;
      this.wait();
    }
    throw new HostError('ETIMEDOUT', `${what} is still active after ${this.maxPolls} polls`);
  }

  /** Runs a command and throws `HostError.refused` unless it succeeds; returns CMDSTS.result. */
  run(code: number, operand: number, what: string): number {
    const st = this.command(code, operand);
    if ((st & 0xff) !== CmdStatus.SUCCESS) throw HostError.refused(what, st);
    return fieldOf(st, CMDSTS.fields.result);
  }
}
