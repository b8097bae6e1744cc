/**
 * Flow moves: a vdev flooding its shared WQ (submits until the WQ, or its own occupancy limit, answers
 * retry), huge batches (up to a full list area of data operations), and the parent's work budget per
 * step changed (down to 16 KiB, so big descriptors and batches yield and continue over many steps).
 * The isolation invariants are the fuzzer's usual ones, checked at every step of every descriptor.
 */
import { DEFAULT_WORK_BUDGET, Desc, Flag, Opcode, SubmitStatus, writeDescAddr, writeDescHeader } from '../../../src/dsa/index.js';
import { regionOffset, type VfioDevice } from '../../../src/vfio/index.js';
import type { VdevPortalMapping } from '../../../src/vidxd/index.js';
import { describeDescriptor, OPCODES, wellFormed } from '../descriptors.js';
import type { Fuzzer } from '../fuzzer.js';
import { type FuzzGuest, isOpen } from '../guest.js';
import { crAddress, LIST_BASE, LIST_BYTES } from '../layout.js';
import { type ActionDef, BAR2, descriptorSource } from './common.js';
import { submitChecked } from './submit.js';

/** Data operations a flood or a huge batch is made of. */
const DATA_OPS = OPCODES.filter((o) => o !== Opcode.NOOP && o !== Opcode.DRAIN && o !== Opcode.BATCH);

/** The portal the guest of `g` submits through (mapped on first use), or null when mmap refused. */
function portalOf(f: Fuzzer, g: FuzzGuest & { handle: VfioDevice<VdevPortalMapping> }): { p: VdevPortalMapping; page: number } | null {
  const page = g.mode === 'dedicated' ? f.r.below(2) : 1;
  let p = g.portals[page] ?? null;
  if (p === null) {
    p = f.call('mmap', [], () => g.handle.mmap(regionOffset(BAR2) + page * 0x1000, 0x1000)) ?? null;
    if (p === null) return null;
    g.portals[page] = p;
  }
  return { p, page };
}

/** An open vdev on a shared WQ floods it: well-formed data operations until retry (at most 96). */
function sharedFlood(f: Fuzzer): void {
  const shared = f.guests().filter((g) => isOpen(g) && g.mode === 'shared');
  if (shared.length === 0) return;
  const g = f.r.pick(shared);
  if (!isOpen(g)) return;
  f.actor = g;
  const at = portalOf(f, g);
  if (at === null) return;
  const src = descriptorSource(f, g);
  let accepted = 0;
  let tries = 0;
  for (; tries < 96; tries++) {
    const st = submitChecked(f, at.p, g.wq, wellFormed(src, f.r.pick(DATA_OPS)), g.memory);
    if (st !== SubmitStatus.ACCEPTED) break;
    accepted++;
  }
  f.stats.device.add('flood submissions accepted', accepted);
  f.line = `vdev #${g.id} floods shared WQ ${g.wq}: ${accepted} accepted of ${tries + (tries < 96 ? 1 : 0)} tries`;
}

/** An open vdev submits one batch of up to 128 data operations (its whole list area). */
function hugeBatch(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  f.actor = g;
  const at = portalOf(f, g);
  if (at === null) return;
  const src = descriptorSource(f, g);
  const count = r.range(16, LIST_BYTES / 64);
  for (let i = 0; i < count; i++) g.memory.cpuWrite(LIST_BASE + 64 * i, wellFormed(src, r.pick(DATA_OPS), true));
  const d = new Uint8Array(64);
  const v = new DataView(d.buffer);
  const cr = crAddress(r);
  writeDescHeader(v, 0, Opcode.BATCH, Flag.CRAV | Flag.RCR, src.pasid);
  writeDescAddr(v, 0, Desc.CR_ADDR, cr);
  writeDescAddr(v, 0, Desc.SRC, LIST_BASE);
  v.setUint32(Desc.XFER_SIZE, count, true);
  // The driver clears the record it will poll (only a slot of the CR area: others are not its records).
  if (cr < 0x1000 && cr % 32 === 0) g.memory.cpuFill(cr, 32, 0);
  const st = submitChecked(f, at.p, g.wq, d, g.memory);
  f.line = `vdev #${g.id} submits a batch of ${count} data operations on page ${at.page}: ${describeDescriptor(d)} → ${st}`;
}

/** The VMM (the parent's owner) sets the parent's work budget per step. */
function workBudget(f: Fuzzer): void {
  const budget = f.r.pick([16 << 10, 64 << 10, 1 << 20, DEFAULT_WORK_BUDGET, Number.POSITIVE_INFINITY]);
  f.rig.dev.workBudget = budget;
  f.line = `parent work budget set to ${budget} bytes per step`;
}

/** Flow moves. */
export const FLOW_ACTIONS: readonly ActionDef[] = [
  { name: 'shared flood', weight: 8, run: sharedFlood },
  { name: 'huge batch', weight: 6, run: hugeBatch },
  { name: 'work budget', weight: 3, run: workBudget },
];
