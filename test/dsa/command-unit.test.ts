/**
 * The one §5.1 dispatch (vidxd-device.md §5.1, §3.3) as a unit over any command table: the model and
 * the vdev differ only in the table, the "implemented" predicate, the wait strategy and the device
 * hooks given here.
 */
import { describe, expect, it } from 'vitest';
import {
  bar0Layout, BAR0_BLOCKS, CMDSTS, CmdStatus, Command, COMMAND_WAITS, type CommandEntry, CommandUnit, DeviceState, dsaProfile, type FieldDef,
  GENCTRL, GENSTS, INTCAUSE, RegisterFile, SoftwareErrorCode,
} from '../../src/dsa/index.js';

interface Ctx {
  ran: number[];
  unit: CommandUnit<Ctx, 'drain'> | null;
}

function rig(implemented?: (code: number) => boolean) {
  const profile = dsaProfile();
  const layout = bar0Layout(profile);
  const regs = new RegisterFile({ profile, layout }, BAR0_BLOCKS, layout.bar0Size);
  const log: string[] = [];
  let state: number = DeviceState.ENABLED;
  let over = false;
  const ctx: Ctx = { ran: [], unit: null };
  const table: (CommandEntry<Ctx> | undefined)[] = [];
  table[Command.ENABLE_WQ] = { code: Command.ENABLE_WQ, run: (c, operand) => (c.ran.push(operand), 0x1200) };
  table[Command.RESET_DEVICE] = { code: Command.RESET_DEVICE, run: (c) => (c.ran.push(-1), 0) };
  table[Command.DRAIN_ALL] = { code: Command.DRAIN_ALL, run: (c) => (c.unit?.beginWait('drain'), COMMAND_WAITS) };
  const unit = new CommandUnit<Ctx, 'drain'>({
    regs,
    table,
    ...(implemented === undefined ? {} : { implemented }),
    context: ctx,
    waits: {
      isOver: () => over,
      finish: (kind) => log.push(`finish ${kind}`),
      started: () => log.push('started'),
      watch: () => log.push('watch'),
      unwatch: () => log.push('unwatch'),
    },
    device: {
      get state() {
        return state;
      },
      setState: (s) => {
        state = s;
        log.push(`state ${s}`);
      },
      abandon: () => log.push('abandon'),
      reportDevice: (code) => log.push(`swerr 0x${code.toString(16)}`),
      raiseCause: (cause: FieldDef) => log.push(`cause ${cause.name}`),
    },
  });
  ctx.unit = unit;
  const cmd = (code: number, operand = 0, intReq = false): void => unit.write(((code << 20) | operand | (intReq ? 0x80000000 : 0)) >>> 0);
  const cmdsts = (): number => regs.read(regs.offsetOf(CMDSTS), 4);
  return { regs, unit, ctx, log, cmd, cmdsts, setOver: (v: boolean) => { over = v; }, setState: (s: number) => { state = s; } };
}

describe('the command unit', () => {
  it('latches CMD, runs the handler with the operand and completes once, with the interrupt only on int_req', () => {
    const r = rig();
    r.cmd(Command.ENABLE_WQ, 3);
    expect([r.ctx.ran, r.cmdsts(), r.unit.active, r.log.filter((l) => l.startsWith('cause'))]).toEqual([[3], 0x1200, false, []]);
    r.cmd(Command.ENABLE_WQ, 4, true);
    expect([r.ctx.ran, r.cmdsts(), r.log.filter((l) => l.startsWith('cause'))]).toEqual([[3, 4], 0x1200, ['cause command_completion']]);
  });

  it('answers 0x01 for a code the table lacks or the predicate says is not implemented, 0x03 in Halt but for RESET_DEVICE', () => {
    const r = rig((code) => code !== Command.ENABLE_WQ);
    r.cmd(Command.ABORT_ALL);
    expect(r.cmdsts()).toBe(CmdStatus.INVALID_COMMAND);
    r.cmd(Command.ENABLE_WQ, 1);
    expect([r.cmdsts(), r.ctx.ran]).toEqual([CmdStatus.INVALID_COMMAND, []]);
    r.setState(DeviceState.HALT);
    r.cmd(Command.DRAIN_ALL);
    expect(r.cmdsts()).toBe(CmdStatus.HARDWARE_ERROR);
    r.cmd(Command.RESET_DEVICE);
    expect([r.cmdsts(), r.ctx.ran]).toEqual([0, [-1]]);
  });

  it('keeps a waiting command active: a CMD write meanwhile is SWERR 0x52; it completes when the strategy says the wait is over', () => {
    const r = rig();
    r.cmd(Command.DRAIN_ALL, 0, true);
    expect([r.unit.active, r.unit.waiting, r.cmdsts() >>> 31, r.log]).toEqual([true, 'drain', 1, ['watch', 'started']]);
    r.cmd(Command.ENABLE_WQ, 2);
    expect([r.ctx.ran, r.log.at(-1)]).toEqual([[], `swerr 0x${SoftwareErrorCode.CMD_REG.toString(16)}`]);
    r.unit.recheck();
    expect(r.unit.active).toBe(true);
    r.setOver(true);
    r.unit.recheck();
    expect([r.unit.active, r.unit.waiting, r.cmdsts(), r.log.slice(-4)]).toEqual([false, null, 0, ['unwatch', 'finish drain', 'unwatch', 'cause command_completion']]);
  });

  it('halts as §3.3 says: SWERR 0x51, the device\'s clean-up, Halt with reset type FLR, 0x03 for an active command, the halt interrupt if enabled', () => {
    const r = rig();
    r.regs.set(GENCTRL, GENCTRL.fields.haltIntEn, 0, 1);
    r.cmd(Command.DRAIN_ALL);
    r.log.length = 0;
    expect(r.unit.losesBusMaster(0x6, 0x2)).toBe(true);
    r.unit.halt();
    expect(r.log).toEqual(['swerr 0x51', 'abandon', `state ${DeviceState.HALT}`, 'unwatch', 'cause halt']);
    expect([r.cmdsts(), r.regs.get(GENSTS, GENSTS.fields.resetType), r.unit.working]).toEqual([CmdStatus.HARDWARE_ERROR, 1, false]);
    expect(r.unit.losesBusMaster(0x6, 0x2)).toBe(false);
    expect(INTCAUSE.fields.halt.name).toBe('halt');
  });
});
