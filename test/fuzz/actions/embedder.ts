/**
 * A careless embedder (issue 16 items 2, 5, 8): triggers that throw (MSI-X, ERR, REQ — then a remove
 * that signals the REQ trigger), a page-request service that throws (a refused request), misuse of the
 * objects `mmap` handed out — looking for a PASID-choosing or reviving method on a current or stale
 * mapping, submitting another vdev's host PASID through a current one — and guest memory that
 * disappears while mapped (a detached ArrayBuffer, a resizable one shrunk to nothing) with a
 * descriptor aimed at it. The library must contain every throw (the fuzzer's error hook counts them;
 * anything else reaching the hook is a violation) and the invariants stay exactly as they are.
 */
import { Desc, Opcode, SubmitStatus } from '../../../src/dsa/index.js';
import { GuestMemory } from '../../../src/memory/index.js';
import { regionOffset, type VfioIoas } from '../../../src/vfio/index.js';
import { describeDescriptor, wellFormed } from '../descriptors.js';
import type { Fuzzer } from '../fuzzer.js';
import { isOpen } from '../guest.js';
import { Violation } from '../violation.js';
import { type ActionDef, BAR2, descriptorSource } from './common.js';
import { submitChecked } from './submit.js';

/** What a mapping must not have (the power of the page's portal beyond its bound submission). */
const WIDENING = ['enqcmd', 'enqcmds', 'enqueue', 'movdir64b', 'bind', 'setConnected', 'policy', 'target'];

/** IOVA of the memory that disappears (far beyond every fuzzed memory's layout). */
const VANISH_IOVA = 0x100000;
const VANISH_SIZE = 0x2000;
/** The IOASes that hold a vanished mapping already. */
const vanished = new WeakSet<VfioIoas>();

function throwingTrigger(f: Fuzzer): void {
  const g = f.anyGuest();
  if (g === null) return;
  const r = f.r;
  const k = r.below(g.fds.length);
  const fd = g.fds[k];
  if (fd === undefined) return;
  fd.throwNext = r.range(1, 3);
  f.line = `vdev #${g.id} trigger ${g.signatureName(k)} throws on its next ${fd.throwNext} signal(s)`;
  if (k === g.fds.length - 1 && g.handle !== null && r.chance(0.5)) {
    // The host asks for the device back through the throwing REQ trigger: an open vdev is EBUSY.
    f.actor = g;
    f.call('mdev remove', ['EBUSY'], () => f.rig.bus.remove(g.uuid));
    f.line += '; mdev remove signals it';
  }
}

function throwingPageRequests(f: Fuzzer): void {
  f.pageRequestThrows = f.r.range(1, 4);
  f.line = `the page-request service throws on the next ${f.pageRequestThrows} request(s)`;
}

function portalMisuse(f: Fuzzer): void {
  const g = f.openGuest();
  const r = f.r;
  const stale = f.guests().flatMap((x) => x.stalePortals);
  if (stale.length > 0 && (g === null || r.chance(0.3))) {
    const p = r.pick(stale);
    for (const name of WIDENING) {
      const v = (p as unknown as Record<string, unknown>)[name];
      if (typeof v === 'function') {
        (v as (...a: unknown[]) => unknown).call(p, true);
        throw new Violation('closed-handle', `a stale portal mapping offers ${name}()`);
      }
    }
    f.line = 'a stale portal mapping has nothing but submit';
    return;
  }
  if (g === null || !isOpen(g)) return;
  f.actor = g;
  const page = g.mode === 'dedicated' ? r.below(2) : 1;
  const p = g.portals[page] ?? f.call('mmap', [], () => g.handle.mmap(regionOffset(BAR2) + page * 0x1000, 0x1000)) ?? null;
  if (p === null) return;
  g.portals[page] = p;
  for (const name of WIDENING) {
    if ((p as unknown as Record<string, unknown>)[name] !== undefined) throw new Violation('isolation', `the mapping of vdev #${g.id} offers ${name}`);
  }
  // The PASID an ENQCMD-emulating VMM would pass: another vdev's host PASID, in the descriptor's bytes 0–3.
  const others = f.guests().filter((o) => o !== g);
  const foreign = others.length > 0 && r.chance(0.7) ? r.pick(others).hostPasid : r.below(64);
  const d = wellFormed(descriptorSource(f, g), Opcode.MEMMOVE);
  new DataView(d.buffer).setUint32(0, (new DataView(d.buffer).getUint32(0, true) & ~0xfffff) | foreign, true);
  const st = submitChecked(f, p, g.wq, d, g.memory);
  f.line = `vdev #${g.id} submits host PASID ${foreign} through its mapping: ${describeDescriptor(d)} → ${st}`;
}

function vanishingMemory(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  f.actor = g;
  if (!vanished.has(g.ioas)) {
    // Memory mapped beyond the guest's layout that disappears at once: a transfer, or a shrink to nothing.
    const detach = r.chance(0.5);
    const buf = detach
      ? new ArrayBuffer(VANISH_SIZE)
      : new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(VANISH_SIZE, { maxByteLength: VANISH_SIZE });
    f.call('DMA map', [], () => g.ioas.map({ iova: VANISH_IOVA, size: VANISH_SIZE, memory: new GuestMemory(buf), offset: 0, flags: 3 }));
    vanished.add(g.ioas);
    if (detach) structuredClone(buf, { transfer: [buf] });
    else (buf as ArrayBuffer & { resize(n: number): void }).resize(r.chance(0.5) ? 0 : r.below(0x1000));
  }
  const d = wellFormed(descriptorSource(f, g), r.pick([Opcode.MEMMOVE, Opcode.FILL, Opcode.COMPARE, Opcode.CRCGEN]));
  const field = r.chance(0.5) ? Desc.SRC : Desc.DST;
  const v = new DataView(d.buffer);
  v.setUint32(field, VANISH_IOVA + r.below(VANISH_SIZE), true);
  v.setUint32(field + 4, 0, true);
  const page = g.mode === 'dedicated' ? r.below(2) : 1;
  const p = g.portals[page] ?? f.call('mmap', [], () => g.handle.mmap(regionOffset(BAR2) + page * 0x1000, 0x1000)) ?? null;
  if (p === null) return;
  g.portals[page] = p;
  const st = submitChecked(f, p, g.wq, d, g.memory);
  f.line = `vdev #${g.id} aims ${describeDescriptor(d)} at memory that disappeared → ${st}`;
  if (st === SubmitStatus.ACCEPTED) f.stats.actions.add('(descriptor at vanished memory accepted)');
}

/** The careless embedder's moves. */
export const EMBEDDER_ACTIONS: readonly ActionDef[] = [
  { name: 'throwing trigger', weight: 6, run: throwingTrigger },
  { name: 'throwing page-request service', weight: 3, run: throwingPageRequests },
  { name: 'portal mapping misuse', weight: 6, run: portalMisuse },
  { name: 'vanishing guest memory', weight: 3, run: vanishingMemory },
];
