/**
 * The guest's interrupt handler, run inline from its triggers while the device is still inside the
 * step that raised the interrupt (a simulator may run guest code from a trigger): it submits more
 * work through the portal it mapped, writes a command that abandons nothing (drain, handle request
 * or release), or acknowledges INTCAUSE and SWERR through BAR0. Nothing a guest does from there may
 * break an invariant either.
 */
import { Command } from '../../../src/dsa/index.js';
import { anyDescriptor, describeDescriptor } from '../descriptors.js';
import type { Fuzzer } from '../fuzzer.js';
import { type FuzzGuest, isOpen } from '../guest.js';
import { BAR0, descriptorSource, read32, write32 } from './common.js';
import { submitChecked } from './submit.js';

/** Runs when trigger `k` of `g` fires: mostly nothing; inside a step, sometimes a reentrant submission or acknowledgement. */
function onInterrupt(f: Fuzzer, g: FuzzGuest, k: number): void {
  // One thing at a time on the guest's CPU: no handler inside a submission or another handler.
  if (!f.inStep || f.guestBusy || k >= g.vectors || !isOpen(g)) return;
  // A teardown armed by the current action runs here when this is a callback of the vdev's own descriptor.
  const armed = f.armed;
  if (armed !== null) {
    f.guestBusy = true;
    try {
      if (armed(g, `interrupt (vector ${k})`)) return;
    } finally {
      f.guestBusy = false;
    }
  }
  if (!f.r.chance(0.25)) return;
  f.guestBusy = true;
  try {
    handle(f, g, k);
  } finally {
    f.guestBusy = false;
  }
}

function handle(f: Fuzzer, g: FuzzGuest & { handle: NonNullable<FuzzGuest['handle']> }, k: number): void {
  const h = g.handle;
  const page = g.mode === 'dedicated' ? f.r.below(2) : 1;
  const p = g.portals[page] ?? null;
  if (p !== null && f.r.chance(0.6)) {
    const d = anyDescriptor(descriptorSource(f, g)).bytes;
    const st = submitChecked(f, p, g.wq, d, g.memory);
    f.line += ` [handler of vdev #${g.id} vector ${k} submits ${describeDescriptor(d)} → ${st}]`;
    f.stats.actions.add('(in a step) handler submits');
    return;
  }
  if (f.r.chance(0.3)) {
    // A command from the handler: one that cannot abandon descriptors (a drain, a handle request or release).
    const held = g.vdev.heldHandles().filter((x): x is number => x !== null);
    const code = f.r.pick([Command.DRAIN_ALL, Command.REQUEST_INT_HANDLE, Command.RELEASE_INT_HANDLE]);
    const operand = code === Command.REQUEST_INT_HANDLE ? f.r.below(g.vectors) : code === Command.RELEASE_INT_HANDLE && held.length > 0 ? f.r.pick(held) : 0;
    const value = ((code << 20) | operand | (f.r.chance(0.5) ? 0x80000000 : 0)) >>> 0;
    f.handlesTouched = true;
    // The descriptor that raised this interrupt named a handle of the mapping before the command.
    if (g.handlesBefore === null) g.handlesBefore = g.vdev.heldHandles();
    f.call('CMD write', [], () => write32(h, BAR0, 0xa0, value));
    f.line += ` [handler of vdev #${g.id} vector ${k} writes CMD ${value.toString(16)}]`;
    f.stats.actions.add('(in a step) handler command');
    return;
  }
  const cause = f.call('INTCAUSE read', [], () => read32(h, BAR0, 0x98)) as number;
  f.call('INTCAUSE ack', [], () => write32(h, BAR0, 0x98, cause));
  const swerr = f.call('SWERR read', [], () => read32(h, BAR0, 0xc0)) as number;
  if ((swerr & 1) !== 0) f.call('SWERR ack', [], () => write32(h, BAR0, 0xc0, 3));
  f.line += ` [handler of vdev #${g.id} vector ${k} acknowledges]`;
  f.stats.actions.add('(in a step) handler acknowledges');
}

/** Installs the guest's handler on every trigger of `g`. */
export function installHandlers(f: Fuzzer, g: FuzzGuest): void {
  for (const fd of g.fds) fd.handler = (k) => onInterrupt(f, g, k);
}
