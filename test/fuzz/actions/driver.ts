/**
 * A guest driver with no sense of order: commands in any state with random operands (their CMDSTS
 * answers counted), a blind bring-up (PCI on, PASID/ATS/PRI, MSI-X and triggers, WQCFG, enable
 * device and WQ, interrupt handles) that keeps the vdevs visiting their enabled states, and the
 * guest CPU scribbling over its own data.
 */
import { Command } from '../../../src/dsa/index.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX,
} from '../../../src/vfio/index.js';
import type { Fuzzer } from '../fuzzer.js';
import { type FuzzGuest, isOpen } from '../guest.js';
import { DATA_BASE, DATA_END } from '../layout.js';
import { hex } from '../stats.js';
import { abortive, type ActionDef, BAR0, CONFIG, le, read32, write32, x } from './common.js';

const EINVAL = ['EINVAL'];
const COMMON_CODES = [1, 2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10, 11, 11, 12, 12, 13, 13, 13, 14, 14];

/** A random CMD value: mostly an implemented command with a plausible operand. */
function commandValue(f: Fuzzer, g: FuzzGuest & { handle: NonNullable<FuzzGuest['handle']> }): number {
  const r = f.r;
  // Drains, aborts and handle requests more often than the commands that tear the vdev down.
  const code = r.chance(0.9) ? r.pick(COMMON_CODES) : r.pick([0, 15, 16, 20, 31]);
  let operand: number;
  if (code >= Command.ENABLE_WQ && code <= Command.RESET_WQ) operand = r.chance(0.7) ? r.below(2) : r.u32() & 0xfffff;
  else if (code === Command.DRAIN_PASID || code === Command.ABORT_PASID) {
    operand = r.chance(0.6) ? (read32(g.handle, BAR0, 0x508) >>> 8) & 0xfffff : r.u32() & 0xfffff;
  } else if (code === Command.REQUEST_INT_HANDLE) operand = r.below(g.vectors + 2) | (r.chance(0.1) ? 0x10000 : 0);
  else if (code === Command.RELEASE_INT_HANDLE) {
    const held = g.vdev.heldHandles().filter((h): h is number => h !== null);
    operand = (held.length > 0 && r.chance(0.7) ? r.pick(held) : r.below(0x10000)) | (r.chance(0.1) ? 0x10000 : 0);
  } else operand = r.chance(0.8) ? 0 : r.u32() & 0xfffff;
  return ((code << 20) | operand | (r.chance(0.3) ? 0x80000000 : 0)) >>> 0;
}

/** Writes CMD with `value` and counts the CMDSTS it reads back. */
function issue(f: Fuzzer, g: FuzzGuest & { handle: NonNullable<FuzzGuest['handle']> }, value: number): void {
  const h = g.handle;
  f.call('CMD write', [], () => write32(h, BAR0, 0xa0, value));
  const st = read32(h, BAR0, 0xa8);
  f.stats.device.add(st >>> 31 !== 0 ? 'CMDSTS active' : `CMDSTS ${hex(st & 0xff)}`);
}

function command(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  f.actor = g;
  f.handlesTouched = true;
  const value = commandValue(f, g);
  f.abortAllowed = abortive(g, value);
  f.line = `vdev #${g.id} CMD ${x(value)} (command ${(value >>> 20) & 0x1f}, operand ${x(value & 0xfffff)})`;
  issue(f, g, value);
}

function bringUp(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const h = g.handle;
  const r = f.r;
  f.actor = g;
  f.configTouched = true;
  f.handlesTouched = true;
  f.registersTouched = true;
  const pasid = r.chance(0.8) ? r.range(1, 40) : r.below(0x100000);
  const pasidEn = g.mode === 'shared' || r.chance(0.7);
  const priv = r.chance(0.3);
  f.line = `vdev #${g.id} bring-up (guest PASID ${pasid}${pasidEn ? '' : ' disabled'}${priv ? ', priv' : ''})`;
  h.writeRegion(CONFIG, 0x04, le(0x0006, 2));
  if (r.chance(0.85)) {
    h.writeRegion(CONFIG, 0x126, le(r.chance(0.8) ? 0x5 : 0x1, 2));
    h.writeRegion(CONFIG, 0x106, le(0x8000, 2));
    h.writeRegion(CONFIG, 0x114, le(0x1, 2));
  }
  h.writeRegion(CONFIG, 0x42, le(0x8000, 2));
  for (let v = 0; v < g.vectors; v++) write32(h, BAR0, 0x600 + 16 * v + 12, 0);
  f.call('SET_IRQS', EINVAL, () => h.setIrqs({
    flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 0, count: g.vectors, data: g.fds.slice(0, g.vectors),
  }));
  write32(h, BAR0, 0x88, r.below(4));
  write32(h, BAR0, 0xc0, 3);
  const keep = read32(h, BAR0, 0x508) & 0xff;
  write32(h, BAR0, 0x508, (keep | (pasid << 8) | (pasidEn ? 1 << 28 : 0) | (priv ? 1 << 29 : 0)) >>> 0);
  issue(f, g, Command.ENABLE_DEVICE << 20);
  issue(f, g, Command.ENABLE_WQ << 20);
  for (let v = 1; v < g.vectors; v++) if (r.chance(0.7)) issue(f, g, ((Command.REQUEST_INT_HANDLE << 20) | v) >>> 0);
}

function scribble(f: Fuzzer): void {
  const g = f.anyGuest();
  if (g === null) return;
  const r = f.r;
  const len = r.range(1, 0x1000);
  const at = r.range(DATA_BASE, DATA_END - len);
  // Noise mostly; all ones (DIF F-detect tuples), zeros (zero-page compares) or a repeated word otherwise.
  const kind = r.below(10);
  const fill = kind < 7 ? -1 : kind === 7 ? 0xff : kind === 8 ? 0 : r.below(256);
  f.line = `vdev #${g.id} guest CPU writes ${len} bytes at ${x(at)}${fill < 0 ? '' : ` of ${x(fill)}`}`;
  if (fill < 0) g.memory.cpuWrite(at, r.bytes(len));
  else g.memory.cpuFill(at, len, fill);
}

/** Commands, bring-up and guest CPU writes. */
export const DRIVER_ACTIONS: readonly ActionDef[] = [
  { name: 'command', weight: 100, run: command },
  { name: 'bring-up', weight: 50, run: bringUp },
  { name: 'guest CPU write', weight: 10, run: scribble },
];
