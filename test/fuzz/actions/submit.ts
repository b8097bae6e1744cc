/**
 * The fast path: descriptors (well-formed, mutated, noise; sometimes a burst that fills the WQ)
 * written through the portal page the guest mapped, submissions through portals of handles since
 * closed (they must reach nothing), and the host driver's own work on its own WQ.
 */
import { type Portal, SubmitStatus, type SubmitStatusValue } from '../../../src/dsa/index.js';
import { regionOffset } from '../../../src/vfio/index.js';
import { anyDescriptor, describeDescriptor, type DescriptorSource, OPCODES, wellFormed } from '../descriptors.js';
import type { Fuzzer } from '../fuzzer.js';
import { isOpen } from '../guest.js';
import { HOST_WQ } from '../rig.js';
import { DATA_BASE, DATA_END } from '../layout.js';
import { Violation } from '../violation.js';
import type { WatchedMemory } from '../watched-memory.js';
import { type ActionDef, BAR2, descriptorSource } from './common.js';

const STATUS_NAMES: Readonly<Record<SubmitStatusValue, string>> = {
  [SubmitStatus.ACCEPTED]: 'submit accepted',
  [SubmitStatus.RETRY]: 'submit retry',
  [SubmitStatus.DROPPED]: 'submit dropped',
  [SubmitStatus.IGNORED]: 'submit ignored',
};

/**
 * Where the submitting CPU's 64 bytes come from: a fresh array, the same array reused (at aligned
 * and unaligned offsets, as a driver reuses its descriptor buffer), a view at an odd byte offset of
 * its buffer, or the descriptor's place in the submitter's own memory. Returns the array and offset
 * holding a copy of `d`.
 */
function source(f: Fuzzer, reuse: Uint8Array, memory: WatchedMemory, d: Uint8Array): { src: Uint8Array; off: number } {
  const r = f.r;
  const k = r.below(10);
  if (k < 3) return { src: d, off: 0 };
  if (k < 6) {
    const off = r.chance(0.8) ? 64 * r.below(4) : r.below(reuse.length - 63);
    reuse.set(d, off);
    return { src: reuse, off };
  }
  if (k < 8) {
    const view = new Uint8Array(reuse.buffer, 1 + r.below(7), 128);
    const off = r.below(65);
    view.set(d, off);
    return { src: view, off };
  }
  // Guest memory is where a driver keeps its descriptors (the data area; the bytes are its own).
  const at = DATA_BASE + r.below(DATA_END - DATA_BASE - 64);
  memory.cpuWrite(at, d);
  return { src: memory.bytes, off: at };
}

/** Submits `d` through `p` and checks that the answer agrees with what the WQ did (accepted ⇔ one more entry). */
export function submitChecked(f: Fuzzer, p: Pick<Portal, 'submit'>, wq: number, d: Uint8Array, memory: WatchedMemory): SubmitStatusValue {
  const q = f.rig.dev.wqs[wq];
  const before = q === undefined ? 0 : q.tailSeq;
  const { src, off } = source(f, f.submitBuffer, memory, d);
  // The submitting CPU is busy until the portal answers (no interrupt handler runs inside).
  const busy = f.guestBusy;
  f.guestBusy = true;
  let st: SubmitStatusValue;
  try {
    st = f.call('portal submit', [], () => p.submit(src, off)) as SubmitStatusValue;
  } finally {
    f.guestBusy = busy;
  }
  const added = q === undefined ? 0 : q.tailSeq - before;
  if (added !== (st === SubmitStatus.ACCEPTED ? 1 : 0)) {
    throw new Violation('occupancy', `a portal submission answered ${STATUS_NAMES[st]} but WQ ${wq} took ${added} entries`);
  }
  f.stats.device.add(STATUS_NAMES[st]);
  return st;
}

function portalSubmit(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  f.actor = g;
  const page = g.mode === 'dedicated' ? r.below(2) : 1;
  let p = g.portals[page] ?? null;
  if (p === null) {
    p = f.call('mmap', [], () => g.handle.mmap(regionOffset(BAR2) + page * 0x1000, 0x1000)) ?? null;
    if (p === null) return;
    g.portals[page] = p;
  }
  const src = descriptorSource(f, g);
  const burst = r.chance(0.1) ? r.range(2, 40) : 1;
  const lines: string[] = [];
  for (let i = 0; i < burst; i++) {
    const { kind, bytes } = anyDescriptor(src);
    const st = submitChecked(f, p, g.wq, bytes, g.memory);
    if (i < 2) lines.push(`${kind} ${describeDescriptor(bytes)} → ${STATUS_NAMES[st]}`);
  }
  f.line = `vdev #${g.id} portal page ${page} submits ${burst}: ${lines.join('; ')}${burst > 2 ? '; …' : ''}`;
}

function stalePortalSubmit(f: Fuzzer): void {
  const pool: { portal: Pick<Portal, 'submit'>; wq: number; owner: string }[] = [];
  for (const g of f.guests()) for (const p of g.stalePortals) pool.push({ portal: p, wq: g.wq, owner: `vdev #${g.id}` });
  for (const o of f.orphanPortals) pool.push(o);
  if (pool.length === 0) return;
  const r = f.r;
  const { portal, wq, owner } = r.pick(pool);
  const d = r.chance(0.7) ? wellFormed({ r, pasid: r.below(64), handles: [], memory: f.scrap }, r.pick(OPCODES)) : r.bytes(64);
  f.line = `stale portal of ${owner} submits ${describeDescriptor(d)}`;
  const st = submitChecked(f, portal, wq, d, f.scrap);
  if (st === SubmitStatus.ACCEPTED) throw new Violation('closed-handle', `a portal mapped through a closed handle of ${owner} queued a descriptor`);
}

function hostSubmit(f: Fuzzer): void {
  const r = f.r;
  f.hostActing = true;
  const src: DescriptorSource = { r, pasid: 0, handles: [], memory: f.rig.hostMemory };
  const d = wellFormed(src, r.pick(OPCODES));
  f.line = `host submits ${describeDescriptor(d)}`;
  submitChecked(f, f.rig.hostPortal, HOST_WQ, d, f.rig.hostMemory);
}

/** Fast-path submissions. */
export const SUBMIT_ACTIONS: readonly ActionDef[] = [
  { name: 'portal submit', weight: 200, run: portalSubmit },
  { name: 'stale portal submit', weight: 10, run: stalePortalSubmit },
  { name: 'host submit', weight: 20, run: hostSubmit },
];
