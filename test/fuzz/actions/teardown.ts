/**
 * Teardown under way (issue 16 items 1, 3, 4): the host resets or reloads the parent with vdevs open
 * (refused with HostBusyError naming what is held, or — forced — every vdev revoked, halted, then
 * removed and replaced by the VMM); and a vdev torn down — closed, detached, reset, its guest's
 * RESET_DEVICE, removed (and a new vdev created, which gets its host PASID) — from inside an interrupt
 * or page-request callback of its own descriptor, mid-batch when it runs one. After such a call
 * returns, nothing of the vdev may be translated or raised any more in that step (`Fuzzer.tornDown`,
 * checked in `Fuzzer.stepChecked`); every other invariant applies unchanged.
 */
import { Command, Desc, Opcode } from '../../../src/dsa/index.js';
import { HostBusyError } from '../../../src/host/index.js';
import { VFIO_PCI_MSIX_IRQ_INDEX } from '../../../src/vfio/index.js';
import { anyDescriptor, describeDescriptor } from '../descriptors.js';
import type { Fuzzer } from '../fuzzer.js';
import { type FuzzGuest, isOpen } from '../guest.js';
import { FUZZ_CONFIG, HOST_WQ } from '../rig.js';
import { Violation } from '../violation.js';
import { BAR0, descriptorSource, read32, write32, type ActionDef } from './common.js';
import { createInSlot } from './lifecycle.js';
import { submitChecked } from './submit.js';
import { checkFresh } from '../checks.js';

/** Ways a vdev is torn down from a callback. */
const TEARDOWNS = ['close', 'detach IOAS', 'VFIO reset', 'guest RESET_DEVICE', 'remove', 'remove and create'] as const;
type Teardown = (typeof TEARDOWNS)[number];

/** Runs teardown `how` of `g` (open) inside a callback of its descriptor; records it for the step's checks. */
function tearDown(f: Fuzzer, g: FuzzGuest & { handle: NonNullable<FuzzGuest['handle']> }, armed: Teardown, where: string): void {
  const h = g.handle;
  // A detach with no IOAS attached does nothing (the descriptor already runs without an address space): close instead.
  const how = armed === 'detach IOAS' && h.ioas === null ? 'close' : armed;
  const slot = f.slots.indexOf(g);
  // The descriptor that raised this interrupt named a handle of the mapping before the teardown.
  if (g.handlesBefore === null) g.handlesBefore = g.vdev.heldHandles();
  f.line += ` [${where} of vdev #${g.id}: ${how}]`;
  f.stats.actions.add(`(in a step) ${how} from ${where}`);
  // The descriptor running was taken from the slot just behind the head: a batch means mid-batch.
  const w = f.rig.dev.wqs[g.wq];
  if (w !== undefined) {
    const slot = w.head === 0 ? w.slots - 1 : w.head - 1;
    if (w.bytes[w.base + slot * 64 + Desc.OPCODE] === Opcode.BATCH) f.stats.actions.add('(in a step) teardown in the middle of a batch');
  }
  switch (how) {
    case 'close':
      f.call('close', [], () => h.close());
      g.closed();
      break;
    case 'detach IOAS':
      f.call('detach', [], () => h.detachIoas());
      break;
    case 'VFIO reset': {
      const triggers = h.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers;
      f.call('reset', [], () => h.reset());
      checkFresh(g, 'VFIO reset from a callback', triggers);
      break;
    }
    case 'guest RESET_DEVICE': {
      // A command still active (a drain waiting) makes the device drop this one (SWERR 0x52): no teardown then.
      const active = ((f.call('CMDSTS read', [], () => read32(h, BAR0, 0xa8)) ?? 0) >>> 31) === 1;
      f.call('CMD write', [], () => write32(h, BAR0, 0xa0, (Command.RESET_DEVICE << 20) >>> 0));
      if (active) {
        f.line += ' (dropped: a command is active)';
        return;
      }
      break;
    }
    default: {
      f.call('close', [], () => h.close());
      g.closed();
      f.call('remove', [], () => f.rig.bus.remove(g.uuid));
      if (!g.vdev.removed) throw new Violation('handles', `vdev #${g.id} was not destroyed by remove from a callback`);
      f.dropGuest(slot);
      if (how === 'remove and create') {
        // (The new vdev gets the old one's host PASID; the action stays the old one's.)
        const line = f.line;
        createInSlot(f, slot, g.mode, true);
        f.line = `${line} [created vdev in slot ${slot}]`;
        f.actor = g;
      }
    }
  }
  // From here on nothing of the vdev may be translated or raised in this step.
  // (A detach stops only the descriptor running: queued ones stay, and fault when they run.)
  if (how !== 'detach IOAS' && g.vdev.occupancy !== 0) throw new Violation('occupancy', `vdev #${g.id}: ${g.vdev.occupancy} descriptors left after ${how} from ${where}`);
  // (A detached vdev stays live: its own waiting command may still complete on vector 0; its work may not.)
  f.tornDown = { g, pasid: g.hostPasid, at: f.rig.iommu.log.count, counts: g.fds.map((fd) => fd.count), from: how === 'detach IOAS' ? 1 : 0 };
}

/**
 * Arms a teardown of an open vdev for the next interrupt or page-request callback made by one of its
 * own descriptors, gives it some work, and lets the model run.
 */
function teardownFromCallback(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  const how = r.pick(TEARDOWNS);
  f.actor = g;
  f.abortAllowed = true;
  f.handlesTouched = true;
  f.line = `vdev #${g.id}: ${how} armed for a callback of its own descriptor`;
  const page = g.mode === 'dedicated' ? r.below(2) : 1;
  const p = g.portals[page] ?? null;
  if (p !== null) {
    const n = r.range(1, 4);
    for (let i = 0; i < n; i++) {
      const d = anyDescriptor(descriptorSource(f, g)).bytes;
      const st = submitChecked(f, p, g.wq, d, g.memory);
      f.line += ` (submits ${describeDescriptor(d)} → ${st})`;
    }
  }
  let done = false;
  f.armed = (who, where) => {
    if (done || who !== g || !isOpen(g) || !f.rig.dev.executing(g.wq, g.hostPasid)) return false;
    done = true;
    f.armed = null;
    // The guest CPU is in the callback: no interrupt handler of it starts inside.
    const busy = f.guestBusy;
    f.guestBusy = true;
    try {
      tearDown(f, g, how, where);
    } finally {
      f.guestBusy = busy;
    }
    return true;
  };
  try {
    f.line += `; model ran ${f.runUntilIdle(r.range(1, 48))} descriptors`;
  } finally {
    f.armed = null;
  }
  if (!done) f.line += ' (no callback came)';
}

/**
 * The host resets or reloads the parent under the vdevs. Unforced, with any vdev alive, both are
 * refused with HostBusyError (EBUSY) naming at least every live vdev's host PASID, and nothing
 * changes. Forced (rarely), every vdev is revoked — its work abandoned, everything given back,
 * halted — and the parent is reloaded; the VMM then closes and removes every revoked vdev and
 * creates new ones in their slots.
 */
function parentReset(f: Fuzzer): void {
  const r = f.r;
  const host = f.rig.host;
  const live = f.guests();
  const force = live.length === 0 || r.chance(0.15);
  const reload = r.chance(0.5);
  const userInterrupts = host.userInterrupts;
  const config = { ...FUZZ_CONFIG, userInterrupts };
  f.line = `host ${reload ? 'disables and reloads' : 'resets'} the parent${force ? ' (force)' : ''} with ${live.length} vdevs`;
  f.handlesTouched = true;
  if (!force) {
    let e: unknown = null;
    try {
      if (reload) host.load(config);
      else host.resetDevice();
    } catch (err) {
      e = err;
    }
    if (!(e instanceof HostBusyError)) throw new Violation('exception', `${f.line}: answered ${e === null ? 'success' : String(e)}, not HostBusyError`);
    const named = new Set(e.held.pasids.map((p) => p.pasid));
    for (const g of live) if (!named.has(g.hostPasid)) throw new Violation('handles', `${f.line}: the refusal does not name vdev #${g.id}'s PASID ${g.hostPasid}`);
    f.stats.errors.add('EBUSY');
    return;
  }
  // Forced: every vdev gives everything back and halts before the device is touched.
  try {
    if (reload) {
      host.resetDevice({ force: true });
      host.load(config, { force: true });
    } else {
      host.resetDevice({ force: true });
      host.load(config);
    }
  } catch (e) {
    throw f.unexpected(e, f.line);
  }
  for (const g of live) {
    if (!g.vdev.revoked || g.vdev.occupancy !== 0 || g.vdev.heldHandles().some((h) => h !== null)) {
      throw new Violation('handles', `vdev #${g.id} still holds parent resources after a forced reset`);
    }
    if ((g.vdev.state & 3) !== 3) throw new Violation('reset', `vdev #${g.id} is not halted after a forced reset`);
  }
  // The host's own queued work went with the reset.
  f.hostExpected = f.rig.dev.occupancy(HOST_WQ);
  // The VMM removes the revoked vdevs and creates new ones (their descriptors were abandoned with the reset).
  // (All are dropped before any is created: a new vdev may get a PASID number a revoked one had.)
  const slots: number[] = [];
  for (const g of live) {
    const slot = f.slots.indexOf(g);
    g.expected = 0;
    if (g.handle !== null) {
      const h = g.handle;
      f.call('close', [], () => h.close());
      g.closed();
    }
    f.call('remove', [], () => f.rig.bus.remove(g.uuid));
    f.dropGuest(slot);
    slots.push(slot);
  }
  for (const slot of slots) createInSlot(f, slot, r.chance(0.5) ? 'dedicated' : 'shared', r.chance(0.8));
  f.actor = null;
}

/** Teardown moves. */
export const TEARDOWN_ACTIONS: readonly ActionDef[] = [
  { name: 'teardown from a callback', weight: 6, run: teardownFromCallback },
  { name: 'parent reset/reload', weight: 2, run: parentReset },
];
