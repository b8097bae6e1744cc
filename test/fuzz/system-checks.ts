/**
 * The invariants that look across the whole system after a step or an action: whose interrupt
 * counts and error registers moved (signatures), completion vectors against the descriptor that
 * ran, WQ occupancy against what was accepted, run and abandoned, every watched memory against its
 * shadow, removed vdevs' triggers, the parent's interrupt-handle table, the spec's constant bits,
 * and errors the host driver could route to nobody. Each throws a {@link Violation}.
 */
import { Desc, Flag, Opcode, type WorkQueue } from '../../src/dsa/index.js';
import type { SoftwareErrorRecord } from '../../src/host/index.js';
import type { EventFd } from '../../src/vfio/index.js';
import { checkBar0ReadOnly, checkConfigReadOnly, imsEntriesInUse } from './checks.js';
import type { Fuzzer } from './fuzzer.js';
import type { FuzzGuest } from './guest.js';
import { HOST_WQ } from './rig.js';
import { bar0ConstantMask, checkSpecConstants, configConstantMask } from './spec-masks.js';
import { hex } from './stats.js';
import { Violation } from './violation.js';
import type { WatchedMemory } from './watched-memory.js';

/** Removed vdevs kept under watch. */
const RETIRED = 8;

/** The system-wide checks of one fuzz run (and the little state they keep). */
export class SystemChecks {
  private readonly lastSwerr = new Map<FuzzGuest, number>();
  private readonly retiredGuests: { readonly g: FuzzGuest; readonly counts: readonly number[] }[] = [];
  private readonly bar0Masks: { readonly dedicated: Uint32Array; readonly shared: Uint32Array };
  private readonly configMask = configConstantMask();

  /** Checks for the run of `f` (whose vdevs have `vectors` MSI-X vectors). */
  constructor(private readonly f: Fuzzer, vectors: number) {
    this.bar0Masks = { dedicated: bar0ConstantMask('dedicated', vectors), shared: bar0ConstantMask('shared', vectors) };
  }

  /** A guest joined: its signature is the checkpoint from now on. */
  adopt(g: FuzzGuest): void {
    g.signature(g.checkpoint, 0);
    this.lastSwerr.set(g, 0);
  }

  /** A guest was removed: its triggers must never move again. */
  retire(g: FuzzGuest): void {
    this.lastSwerr.delete(g);
    this.retiredGuests.push({ g, counts: g.fds.map((fd) => fd.count) });
    if (this.retiredGuests.length > RETIRED) this.retiredGuests.shift();
  }

  /**
   * Since the last checkpoint only `allowed`'s interrupt counts, SWERR, CMDSTS, INTCAUSE and GENSTS
   * may have moved (every other vdev's must not); then the current values become the checkpoint.
   */
  signatures(allowed: FuzzGuest | null, where: string): void {
    for (const g of this.f.slots) {
      if (g === null) continue;
      const sig = g.scratch;
      g.signature(sig, 0);
      if (g !== allowed) {
        for (let k = 0; k < sig.length; k++) {
          if (sig[k] !== g.checkpoint[k]) {
            throw new Violation('interrupt', `vdev #${g.id}: ${g.signatureName(k)} changed ${where} (${g.checkpoint[k]} → ${sig[k]})`);
          }
        }
      }
      g.checkpoint.set(sig);
      this.noteSwerr(g);
    }
  }

  /** Counts a SWERR the vdev newly logged (valid set, or new contents), and a new overflow. */
  private noteSwerr(g: FuzzGuest): void {
    const now = g.swerrWord();
    const before = this.lastSwerr.get(g) ?? 0;
    if (now === before) return;
    this.lastSwerr.set(g, now);
    // The vdev has one WQ: an error it reports names WQ 0, never the backing WQ of the parent.
    if ((now & 1) !== 0 && (now & 0x8) !== 0 && ((now >>> 16) & 0xff) !== 0) {
      throw new Violation('isolation', `vdev #${g.id}: SWERR ${hex((now >>> 8) & 0xff)} names WQ ${(now >>> 16) & 0xff}`);
    }
    if ((now & 1) !== 0 && ((before & 1) === 0 || (now & 0xff00) !== (before & 0xff00))) this.f.stats.device.add(`SWERR ${hex((now >>> 8) & 0xff)}`);
    if ((now & 2) !== 0 && (before & 2) === 0) this.f.stats.device.add('SWERR overflow');
  }

  /**
   * The completion vectors (1..) of the descriptor's owner moved only as the descriptor asked: at
   * most once, on the vector of the handle it named when the owner holds that handle and the
   * descriptor requested an interrupt. A batch's elements are not looked at (any vector of the owner
   * may move). Read from `b[at]`: the WQ slot the descriptor was taken from (its bytes are still there), or the
   * saved bytes of a descriptor that yielded and ran on.
   */
  completionVectors(g: FuzzGuest, b: Uint8Array, at: number): void {
    // The snapshot belongs to this step: consumed before any return. (It used to be cleared only
    // after the batch return, so one made in a batch's step — a handler's command, a teardown mid-batch
    // — outlived it; a later teardown kept that stale mapping instead of taking its own, and with the
    // handles renumbered since, the seed-2026 run reported "vector 1 signalled by a descriptor naming
    // handle 2" for a descriptor whose handle 2 was vector 1's. A false positive of the harness.)
    const snapshot = g.handlesBefore;
    g.handlesBefore = null;
    if (b[at + Desc.OPCODE] === Opcode.BATCH) return;
    const rci = ((b[at + Desc.FLAGS] as number) & Flag.RCI) !== 0;
    const handle = (b[at + Desc.INT_HANDLE] as number) | ((b[at + Desc.INT_HANDLE + 1] as number) << 8);
    const vector = rci ? g.vdev.heldHandles().indexOf(handle) : -1;
    // The guest's handler may have released or requested handles during the step: the mapping
    // when the descriptor ran counts too.
    const before = rci && snapshot !== null ? snapshot.indexOf(handle) : -1;
    for (let v = 1; v < g.vectors; v++) {
      const moved = (g.fds[v] as EventFd).count - (g.checkpoint[v] as number);
      if (moved > (v === vector || v === before ? 1 : 0)) {
        throw new Violation('interrupt', `vdev #${g.id}: vector ${v} signalled ${moved} times by a descriptor ${rci ? `naming handle ${handle}` : 'without RCI'}`);
      }
    }
  }

  /**
   * Occupancy: every descriptor a WQ accepted in this action came through the actor's own WQ; per
   * vdev, the descriptors queued with its host PASID equal those accepted minus those executed,
   * less those the action may have abandoned (the actor's own, in an abortive action); per WQ, no
   * entry belongs to anyone else, and the WQCFG occupancy the host driver reads agrees.
   */
  occupancy(tailSeq: Float64Array): void {
    const f = this.f;
    const dev = f.rig.dev;
    const a = f.actor;
    for (let q = 0; q < tailSeq.length; q++) {
      const added = (dev.wqs[q] as WorkQueue).tailSeq - (tailSeq[q] as number);
      if (added === 0) continue;
      if (q === HOST_WQ && f.hostActing) f.hostExpected += added;
      else if (a !== null && a.wq === q) a.expected += added;
      else throw new Violation('occupancy', `WQ ${q} accepted ${added} descriptors in an action of ${a === null ? 'nobody' : `vdev #${a.id} (WQ ${a.wq})`}`);
    }
    const perWq = new Float64Array(tailSeq.length);
    for (const g of f.guests()) {
      const actual = dev.occupancy(g.wq, g.hostPasid);
      if (actual > g.expected) throw new Violation('occupancy', `vdev #${g.id}: ${actual} descriptors queued, ${g.expected} accepted and not yet run`);
      if (actual < g.expected) {
        if (g !== a || !f.abortAllowed) throw new Violation('occupancy', `vdev #${g.id}: ${g.expected - actual} descriptors vanished without running`);
        f.stats.device.add('descriptors aborted', g.expected - actual);
        g.expected = actual;
      }
      perWq[g.wq] = (perWq[g.wq] as number) + actual;
    }
    const hostQueued = dev.occupancy(HOST_WQ);
    if (hostQueued !== f.hostExpected) throw new Violation('occupancy', `host WQ: ${hostQueued} queued, ${f.hostExpected} expected`);
    perWq[HOST_WQ] = hostQueued;
    for (let q = 0; q < perWq.length; q++) {
      const count = dev.occupancy(q);
      if (count !== perWq[q]) throw new Violation('occupancy', `WQ ${q} holds ${count} entries, ${perWq[q]} of them belong to live vdevs or the host`);
      const wq = f.rig.host.wqs[q];
      if (wq !== undefined && wq.configured && wq.occupancy !== count) throw new Violation('occupancy', `WQ ${q}: WQCFG.occupancy ${wq.occupancy}, ${count} queued`);
    }
  }

  /** The occupancy the guest reads in its WQCFG is its own descriptors in the backing WQ. */
  visibleOccupancy(g: FuzzGuest): void {
    if (g.handle === null) return;
    const seen = this.f.call('WQCFG read', [], () => {
      const b = new Uint8Array(4);
      g.handle?.readRegion(0, 0x518, b);
      return (b[0] as number) | ((b[1] as number) << 8);
    }) as number;
    const queued = this.f.rig.dev.occupancy(g.wq, g.hostPasid);
    if (seen !== queued) throw new Violation('occupancy', `vdev #${g.id}: WQCFG.occupancy reads ${seen}, ${queued} of its descriptors are queued`);
  }

  /** Every watched memory equals its shadow: nothing but attributed DMA and the guest CPU changed it. */
  memories(): void {
    const check = (m: WatchedMemory): void => {
      const at = m.firstDifference();
      if (at >= 0) {
        throw new Violation('memory', `${m.name}: byte ${hex(at, 4)} changed to ${hex(m.bytes[at] as number)} (was ${hex(m.shadow[at] as number)}) without an attributed DMA write`);
      }
    };
    const f = this.f;
    check(f.canary);
    check(f.rig.hostMemory);
    for (const g of f.slots) if (g !== null) check(g.memory);
    for (const m of f.retired) check(m);
    for (const { g, counts } of this.retiredGuests) {
      g.fds.forEach((fd, k) => {
        if (fd.count !== counts[k]) throw new Violation('interrupt', `removed vdev #${g.id}: ${g.signatureName(k)} moved (${counts[k]} → ${fd.count})`);
      });
    }
  }

  /** The spec's constant bits of `g` (an independent oracle, spec-masks.ts). */
  spec(g: FuzzGuest): void {
    const bar0 = g.mode === 'dedicated' ? this.bar0Masks.dedicated : this.bar0Masks.shared;
    checkSpecConstants(g, bar0, this.configMask);
  }

  /**
   * An error the parent reported that its host driver could route to no owner: if it concerns a
   * live vdev's descriptor (its dedicated WQ, or its host PASID on a shared WQ), the vdev lost it.
   */
  unrouted(rec: SoftwareErrorRecord): void {
    if (!rec.wqIndexValid || rec.wqIndex === HOST_WQ) return;
    for (const g of this.f.slots) {
      if (g === null || g.wq !== rec.wqIndex) continue;
      if (g.mode === 'dedicated' || (rec.descValid && rec.pasid === g.hostPasid)) {
        throw new Violation('interrupt', `the parent's SWERR ${hex(rec.code)} for a descriptor of vdev #${g.id} reached no vdev`);
      }
    }
  }

  /** The parent's interrupt-handle entries in use are exactly the handles live vdevs hold. */
  handles(): void {
    let held = 0;
    for (const g of this.f.slots) if (g !== null) for (const h of g.vdev.heldHandles()) if (h !== null) held++;
    const used = imsEntriesInUse(this.f.rig.dev);
    if (used !== held) throw new Violation('handles', `${used} interrupt-handle entries of the parent are in use, live vdevs hold ${held}`);
  }
  /** Read-only checks of `g`: the table-driven BAR0 check always, config and the spec's bits when asked. */
  readOnly(g: FuzzGuest, config: boolean, spec: boolean): void {
    checkBar0ReadOnly(g);
    if (config) checkConfigReadOnly(g);
    if (spec) this.spec(g);
  }
}
