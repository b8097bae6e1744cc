/**
 * Trapped accesses of a hostile guest: config-space and BAR0 reads and writes of random size and
 * offset (mostly at registers that matter, some illegal: the VFIO layer answers EINVAL), and BAR2
 * reads and trapped portal writes (whole 64-byte descriptors, 8-byte pieces assembled per slot, and
 * sizes the region refuses).
 */
import { VFIO_PCI_MSIX_IRQ_INDEX } from '../../../src/vfio/index.js';
import { checkFresh } from '../checks.js';
import { anyDescriptor, describeDescriptor } from '../descriptors.js';
import type { Fuzzer } from '../fuzzer.js';
import { isOpen } from '../guest.js';
import { abortive, type ActionDef, BAR0, BAR2, CONFIG, descriptorSource, fromLe, x } from './common.js';

const CONFIG_SPOTS = [0x04, 0x04, 0x06, 0x0c, 0x10, 0x14, 0x18, 0x1c, 0x30, 0x3c, 0x40, 0x42, 0x44, 0x48, 0x50, 0x58, 0x78, 0x100, 0x106, 0x110, 0x114, 0x116, 0x11c, 0x120, 0x126];
const BAR0_SPOTS = [0x00, 0x10, 0x20, 0x60, 0x80, 0x88, 0x90, 0x98, 0xa0, 0xa0, 0xa8, 0xb0, 0xc0, 0xc8, 0x300, 0x308, 0x310, 0x400, 0x428, 0x500, 0x508, 0x508, 0x518, 0x600, 0x60c, 0x610, 0x61c, 0x620, 0x62c, 0x700];
const EINVAL = ['EINVAL'];
/** The config byte holding PCIe DevCtl bit 15, Initiate FLR (capability at 0x50; vidxd-device.md §3.2). */
const FLR_BYTE = 0x59;

function configAccess(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || g.handle === null) return;
  const h = g.handle;
  const r = f.r;
  f.actor = g;
  const size = r.pick([1, 2, 4, 4, 4, 3, 8, 16, 0]);
  const offset = r.chance(0.8) ? r.pick(CONFIG_SPOTS) + (r.chance(0.8) ? 0 : r.below(4)) : r.below(0x1010);
  const buf = new Uint8Array(size);
  if (r.chance(0.35)) {
    f.line = `vdev #${g.id} config read ${size}@${x(offset)}`;
    f.call('config read', EINVAL, () => h.readRegion(CONFIG, offset, buf));
    return;
  }
  r.fill(buf);
  // Mostly keep memory decode and bus mastering on, so the rest of the device stays reachable;
  // clearing bus mastering while enabled halts the vdev (its queued work is abandoned).
  const command = offset <= 0x04 && offset + size > 0x04;
  if (command && r.chance(0.8)) buf[0x04 - offset] = (buf[0x04 - offset] as number) | 0x06;
  // A 1 in Initiate FLR is a function-level reset: exactly a VFIO reset (vidxd-device.md §3.3), checked as one.
  const flr = offset <= FLR_BYTE && offset + size > FLR_BYTE && ((buf[FLR_BYTE - offset] as number) & 0x80) !== 0;
  f.abortAllowed = flr || (command && ((buf[0x04 - offset] as number) & 0x04) === 0);
  f.configTouched = true;
  f.handlesTouched = true;
  f.registersTouched = true;
  f.line = `vdev #${g.id} config write ${size}@${x(offset)} = ${x(fromLe(buf))}${flr ? ' (initiate FLR)' : ''}`;
  const triggers = flr ? h.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers : null;
  const done = f.call('config write', EINVAL, () => h.writeRegion(CONFIG, offset, buf));
  if (flr && done !== undefined) {
    f.stats.device.add('function-level reset', 1);
    checkFresh(g, 'function-level reset', triggers);
  }
}

/** A value for a BAR0 write at `offset`: mostly a command for CMD, else random bits. */
function bar0Value(f: Fuzzer, offset: number): number {
  const r = f.r;
  if (offset === 0xa0 && r.chance(0.7)) {
    const code = r.range(0, 16);
    const operand = r.chance(0.5) ? r.range(0, 3) : r.u32() & 0xfffff;
    return ((code << 20) | operand | (r.chance(0.3) ? 0x80000000 : 0)) >>> 0;
  }
  if (offset === 0xc0 || offset === 0x98) return r.chance(0.7) ? 0xffffffff : r.u32();
  return r.u32();
}

function bar0Access(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const h = g.handle;
  const r = f.r;
  f.actor = g;
  const size = r.pick([1, 2, 4, 4, 4, 4, 8, 8, 3, 16, 0]);
  const offset = r.chance(0.85) ? r.pick(BAR0_SPOTS) + (r.chance(0.8) ? 0 : r.pick([1, 2, 4])) : r.below(0x2010);
  const buf = new Uint8Array(size);
  if (r.chance(0.35)) {
    f.line = `vdev #${g.id} BAR0 read ${size}@${x(offset)}`;
    f.call('BAR0 read', EINVAL, () => h.readRegion(BAR0, offset, buf));
    return;
  }
  const v = bar0Value(f, offset);
  for (let i = 0; i < size; i++) buf[i] = (i < 4 ? v >>> (8 * i) : r.u32()) & 0xff;
  // A 4-byte write at CMD starts a command (the abortive ones may abandon the vdev's descriptors).
  f.abortAllowed = size === 4 && offset === 0xa0 && abortive(g, v);
  f.handlesTouched = true;
  f.registersTouched = true;
  f.line = `vdev #${g.id} BAR0 write ${size}@${x(offset)} = ${x(v)}`;
  f.call('BAR0 write', EINVAL, () => h.writeRegion(BAR0, offset, buf));
}

function bar2Access(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const h = g.handle;
  const r = f.r;
  f.actor = g;
  const k = r.below(100);
  if (k < 15) {
    const size = r.pick([1, 2, 4, 8, 64, 3, 0]);
    const offset = r.below(0x2010);
    f.line = `vdev #${g.id} BAR2 read ${size}@${x(offset)}`;
    f.call('BAR2 read', EINVAL, () => h.readRegion(BAR2, offset, new Uint8Array(size)));
    return;
  }
  const slot = r.below(0x2000 / 64) * 64;
  const d = anyDescriptor(descriptorSource(f, g)).bytes;
  if (k < 55) {
    f.line = `vdev #${g.id} BAR2 trapped submit @${x(slot)} ${describeDescriptor(d)}`;
    f.call('BAR2 write', EINVAL, () => h.writeRegion(BAR2, slot, d));
  } else if (k < 85) {
    // The descriptor as 8-byte pieces: mostly all eight in order, sometimes a random subset.
    const order = [0, 1, 2, 3, 4, 5, 6, 7];
    const all = r.chance(0.8);
    f.line = `vdev #${g.id} BAR2 trapped qwords @${x(slot)} ${all ? 'all' : 'some'} ${describeDescriptor(d)}`;
    for (const q of order) {
      if (!all && r.chance(0.4)) continue;
      f.call('BAR2 write', EINVAL, () => h.writeRegion(BAR2, slot + 8 * q, d.subarray(8 * q, 8 * q + 8)));
    }
  } else {
    const size = r.pick([1, 2, 4, 16, 32, 3, 128, 0]);
    const offset = r.chance(0.5) ? slot : r.below(0x2010);
    f.line = `vdev #${g.id} BAR2 write ${size}@${x(offset)}`;
    f.call('BAR2 write', EINVAL, () => h.writeRegion(BAR2, offset, r.bytes(size)));
  }
}

/** Config, BAR0 and BAR2 accesses. */
export const ACCESS_ACTIONS: readonly ActionDef[] = [
  { name: 'config access', weight: 80, run: configAccess },
  { name: 'BAR0 access', weight: 100, run: bar0Access },
  { name: 'BAR2 trapped access', weight: 50, run: bar2Access },
];
