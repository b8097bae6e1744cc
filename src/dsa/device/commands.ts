/**
 * The device model's handlers of the CMD register's commands (vidxd-device.md §5): each command's
 * code, name and operand (command-codes.ts) with the handler that runs every check and CMDSTS error. A handler returns the completion
 * value (`error | result << 8`) or {@link COMMAND_WAITS} when the command must wait for
 * descriptors; the device then keeps CMDSTS.active until the wait is over.
 */
import { CmdStatus } from '../spec/cmdsts.js';
import { type CommandCode, commandCode, DeviceState, INT_HANDLE_IMS } from '../spec/command-codes.js';
import { checkEnableDevice, checkEnableWq, decodeGroups, type GroupMap, type PciState, readWqConfig } from './config-check.js';
import type { InterruptController } from './interrupts.js';
import type { DsaProfile } from '../spec/profile.js';
import type { RegisterContext } from '../spec/register-def.js';
import type { RegisterFile } from './register-file.js';
import type { WorkQueue, WqConfig } from '../queue/work-queue.js';

// The command header's names, for the model's importers.
export { Command, DeviceState, INT_HANDLE_IMS, wqMaskOperand } from '../spec/command-codes.js';

/** What a waiting command does when its wait is over. */
export type WaitKind = 'drain' | 'disable-wqs' | 'disable-device';

/** A handler's answer: the command waits for descriptors. */
export const COMMAND_WAITS = -1;

/** What command handlers may do to the device. */
export interface CommandContext {
  /** The profile. */
  readonly profile: DsaProfile;
  /** The register file. */
  readonly regs: RegisterFile<RegisterContext>;
  /** The WQs. */
  readonly wqs: readonly WorkQueue[];
  /** The interrupt controller (handle table). */
  readonly irq: InterruptController;
  /** GENSTS.state. */
  readonly state: number;
  /** The PCI state the checks depend on. */
  pciState(): PciState;
  /** Latches the group membership and enters Enabled. */
  enterEnabled(map: GroupMap): void;
  /** Stops every WQ taking submissions and enters Drain (Disable Device in progress). */
  enterDrain(): void;
  /** Latches `c` and enables WQ `q`. */
  enableWq(q: number, c: WqConfig): void;
  /** Disables WQ `q` (its queue is empty or abandoned). */
  disableWq(q: number): void;
  /** RESET_DEVICE: abandon all work, disable every WQ, reset the registers, free the handles, enter Disabled. */
  resetDevice(): void;
  /** Starts a wait of `kind` with no target yet. */
  beginWait(kind: WaitKind): void;
  /** The wait also needs every descriptor of WQ `q` accepted before sequence number `seq` gone. */
  waitFor(q: number, seq: number): void;
}

/** One command: its code, name and operand (command-codes.ts) and the model's handler. */
export interface CommandDef extends CommandCode {
  /** Runs the checks and the command; returns `error | result << 8` or {@link COMMAND_WAITS}. */
  readonly run: (d: CommandContext, operand: number) => number;
}

/** The WQs a mask operand names (see {@link wqMaskOperand}), or null when it names none or one that does not exist. */
function maskedWqs(d: CommandContext, operand: number): WorkQueue[] | null {
  const mask = operand & 0xffff;
  const set = (operand >>> 16) & 0xf;
  if (mask === 0) return null;
  const out: WorkQueue[] = [];
  for (let b = 0; b < 16; b++) {
    if (((mask >>> b) & 1) === 0) continue;
    const wq = d.wqs[set * 16 + b];
    if (wq === undefined) return null;
    out.push(wq);
  }
  return out;
}

/** Runs `body` on the WQs of a mask operand after the index (0x02) and enabled (0x32) checks. */
function onMaskedWqs(d: CommandContext, operand: number, body: (wqs: WorkQueue[]) => number): number {
  const wqs = maskedWqs(d, operand);
  if (wqs === null) return CmdStatus.INVALID_WQ_INDEX;
  if (wqs.some((w) => !w.enabled)) return CmdStatus.WQ_NOT_ENABLED;
  return body(wqs);
}

function enabledWqs(d: CommandContext): WorkQueue[] {
  return d.wqs.filter((w) => w.enabled);
}

/** A PASID operand applies to a dedicated WQ programmed with that PASID (whole queue) or to a shared WQ (its entries with that PASID). */
function dedicatedTo(w: WorkQueue, pasid: number): boolean {
  return w.dedicated && w.pasidEnabled && w.pasid === pasid;
}

const TABLE = [
  // Linux `IDXD_CMD_ENABLE_DEVICE`.
  {
    ...commandCode('ENABLE_DEVICE'),
    run: (d) => {
      if (d.state !== DeviceState.DISABLED) return CmdStatus.DEVICE_ENABLED;
      const map = decodeGroups(d.regs);
      const err = checkEnableDevice(d.regs, d.pciState(), map);
      if (err !== 0) return err;
      d.enterEnabled(map);
      return 0;
    },
  },
  // Linux `IDXD_CMD_DISABLE_DEVICE`.
  {
    ...commandCode('DISABLE_DEVICE'),
    run: (d) => {
      if (d.state !== DeviceState.ENABLED) return CmdStatus.DEVICE_DISABLED;
      d.beginWait('disable-device');
      for (const w of enabledWqs(d)) d.waitFor(w.index, w.tailSeq);
      d.enterDrain();
      return COMMAND_WAITS;
    },
  },
  // Linux `IDXD_CMD_DRAIN_ALL`.
  {
    ...commandCode('DRAIN_ALL'),
    run: (d) => {
      d.beginWait('drain');
      for (const w of enabledWqs(d)) d.waitFor(w.index, w.tailSeq);
      return COMMAND_WAITS;
    },
  },
  // Linux `IDXD_CMD_ABORT_ALL`.
  {
    ...commandCode('ABORT_ALL'),
    run: (d) => {
      for (const w of enabledWqs(d)) w.abortAll();
      return 0;
    },
  },
  // Linux `IDXD_CMD_RESET_DEVICE`.
  {
    ...commandCode('RESET_DEVICE'),
    run: (d) => {
      d.resetDevice();
      return 0;
    },
  },
  // Linux `IDXD_CMD_ENABLE_WQ`.
  {
    ...commandCode('ENABLE_WQ'),
    run: (d, operand) => {
      const w = d.wqs[operand];
      if (w === undefined) return CmdStatus.INVALID_WQ_INDEX;
      if (d.state !== DeviceState.ENABLED) return CmdStatus.DEVICE_NOT_ENABLED;
      if (w.enabled) return CmdStatus.WQ_ENABLED;
      const c = readWqConfig(d.regs, w.index);
      const others = d.wqs.reduce((n, o) => n + (o.enabled ? o.size : 0), 0);
      const err = checkEnableWq(d.regs, d.pciState(), c, w.group, others);
      if (err !== 0) return err;
      d.enableWq(w.index, c);
      return 0;
    },
  },
  // Linux `IDXD_CMD_DISABLE_WQ`.
  {
    ...commandCode('DISABLE_WQ'),
    run: (d, operand) => onMaskedWqs(d, operand, (wqs) => {
      d.beginWait('disable-wqs');
      for (const w of wqs) {
        w.accepting = false;
        d.waitFor(w.index, w.tailSeq);
      }
      return COMMAND_WAITS;
    }),
  },
  // Linux `IDXD_CMD_DRAIN_WQ`.
  {
    ...commandCode('DRAIN_WQ'),
    run: (d, operand) => onMaskedWqs(d, operand, (wqs) => {
      d.beginWait('drain');
      for (const w of wqs) d.waitFor(w.index, w.tailSeq);
      return COMMAND_WAITS;
    }),
  },
  // Linux `IDXD_CMD_ABORT_WQ`.
  {
    ...commandCode('ABORT_WQ'),
    run: (d, operand) => onMaskedWqs(d, operand, (wqs) => {
      for (const w of wqs) w.abortAll();
      return 0;
    }),
  },
  // Linux `IDXD_CMD_RESET_WQ`.
  {
    ...commandCode('RESET_WQ'),
    run: (d, operand) => onMaskedWqs(d, operand, (wqs) => {
      for (const w of wqs) {
        w.abortAll();
        d.disableWq(w.index);
      }
      return 0;
    }),
  },
  // Linux `IDXD_CMD_DRAIN_PASID`.
  {
    ...commandCode('DRAIN_PASID'),
    run: (d, operand) => {
      d.beginWait('drain');
      for (const w of enabledWqs(d)) {
        if (w.dedicated) {
          if (dedicatedTo(w, operand)) d.waitFor(w.index, w.tailSeq);
        } else {
          const seq = w.lastSeqOf(operand);
          if (seq >= 0) d.waitFor(w.index, seq);
        }
      }
      return COMMAND_WAITS;
    },
  },
  // Linux `IDXD_CMD_ABORT_PASID`.
  {
    ...commandCode('ABORT_PASID'),
    run: (d, operand) => {
      for (const w of enabledWqs(d)) {
        if (!w.dedicated) w.abortPasid(operand);
        else if (dedicatedTo(w, operand)) w.abortAll();
      }
      return 0;
    },
  },
  // Linux `IDXD_CMD_REQUEST_INT_HANDLE`.
  {
    ...commandCode('REQUEST_INT_HANDLE'),
    run: (d, operand) => {
      const h = d.irq.requestHandle(operand & 0xffff, (operand & INT_HANDLE_IMS) !== 0);
      return h < 0 ? -h : h << 8;
    },
  },
  // Linux `IDXD_CMD_RELEASE_INT_HANDLE`.
  {
    ...commandCode('RELEASE_INT_HANDLE'),
    run: (d, operand) => (d.irq.releaseHandle(operand & 0xffff, (operand & INT_HANDLE_IMS) !== 0) ? 0 : CmdStatus.INVALID_HANDLE),
  },
] as const satisfies readonly CommandDef[];

/** Every command, in code order. */
export const COMMANDS: readonly CommandDef[] = Object.freeze(TABLE);

/** Commands indexed by code (undefined: no such command). */
export const COMMAND_BY_CODE: readonly (CommandDef | undefined)[] = (() => {
  const t: (CommandDef | undefined)[] = new Array<CommandDef | undefined>(32).fill(undefined);
  for (const c of COMMANDS) t[c.code] = c;
  return t;
})();
