/**
 * The fuzz loop: each step picks an action (a hostile guest's access, a careless VMM's call, a
 * lifecycle change, a model step), runs it, answers every exception (only the typed `VfioError`
 * with an errno the call may answer is legal) and checks the invariants of violation.ts. Every
 * descriptor the model executes goes through {@link Fuzzer.stepChecked}, also the ones the host
 * driver steps while a command waits, so each one is attributed to its owner and checked alone.
 */
import { type DsaDevice, type InFlightDescriptor, InFlightState, type Portal, type WorkQueue } from '../../src/dsa/index.js';
import { setEmbedderErrorHook, VfioError } from '../../src/vfio/index.js';
import { Prng } from '../util/prng.js';
import { ACTIONS, type ActionDef, createInSlot } from './actions/index.js';
import { checkRecordSlots } from './checks.js';
import type { FuzzGuest } from './guest.js';
import { MAPPABLE_END, MEM_SIZE, PAGE } from './layout.js';
import { buildRig, type FuzzRig, HOST_WQ } from './rig.js';
import { SystemChecks } from './system-checks.js';
import { FuzzStats, hex } from './stats.js';
import { FuzzThrow, Violation } from './violation.js';
import { HOST_OWNER, type Snapshot, WatchedMemory } from './watched-memory.js';

/** WQ `q` of the model (the index is always in range here). */
function wqAt(dev: DsaDevice, q: number): WorkQueue {
  return dev.wqs[q] as WorkQueue;
}

/** How a run is set up. */
export interface FuzzOptions {
  /** PRNG seed: the same seed gives the same run. */
  readonly seed: number;
  /** vdev slots (vdevs of both types are created in them). */
  readonly vdevs: number;
}

/** Actions kept for the reproducer. */
const HISTORY = 20;
/** Every how many steps the periodic (more expensive) checks run. */
const PERIOD = 128;
/** The most memories of removed vdevs kept under watch. */
const RETIRED = 8;

/** The state of one fuzz run. */
export class Fuzzer {
  /** The seeded generator every choice comes from. */
  readonly r: Prng;
  /** The parent side. */
  readonly rig: FuzzRig;
  /** Counters. */
  readonly stats = new FuzzStats();
  /** vdev slots (null: empty). */
  readonly slots: (FuzzGuest | null)[];
  /** A memory nobody maps. */
  readonly canary: WatchedMemory;
  /** Memories of removed vdevs: nothing may write them any more. */
  readonly retired: WatchedMemory[] = [];
  /** Portals mapped by vdevs since removed (they must reach nothing). */
  readonly orphanPortals: { readonly portal: Pick<Portal, 'submit'>; readonly wq: number; readonly owner: string }[] = [];
  /** Memory for descriptors built for stale portals (never given to a device). */
  readonly scrap: WatchedMemory;
  /** The system-wide invariants. */
  readonly checks: SystemChecks;
  /** The submitting CPU's reused descriptor buffer (4 slots, plus room for unaligned views). */
  readonly submitBuffer = new Uint8Array(4 * 64 + 8);
  /** Steps done. */
  step = 0;
  /** The guest whose VMM or guest acts in the current action (null: none, e.g. a model step). */
  actor: FuzzGuest | null = null;
  /** The current action may abandon the actor's queued descriptors (abort commands, resets, halt, close). */
  abortAllowed = false;
  /** The current action changed config space (the config read-only check runs). */
  configTouched = false;
  /** The current action may have changed interrupt handles (the handle-table check runs). */
  handlesTouched = false;
  /** The current action wrote BAR0 or config space (the spec's constant-bit check runs on the actor). */
  registersTouched = false;
  /** Descriptors of the host's own the fuzzer believes queued in its WQ. */
  hostExpected = 0;
  /** The current action is the host driver submitting its own work. */
  hostActing = false;
  /** What the current action does, for the reproducer (set by the action). */
  line = '';
  /** The model is inside a step (interrupt handlers may act reentrantly). */
  inStep = false;
  /** The guest CPU is busy (submitting, or in an interrupt handler): no handler starts. */
  guestBusy = false;
  /**
   * A teardown the current action armed: called from an interrupt or page-request callback of guest
   * `g` (`where` names it); it runs — and returns true — once, when the descriptor running is `g`'s own.
   */
  armed: ((g: FuzzGuest, where: string) => boolean) | null = null;
  /**
   * A vdev torn down inside the current step (from a callback of its descriptor): the step's
   * translations from index `at` of the log on must not use `pasid`, and `g`'s triggers from index
   * `from` on must keep `counts`. The step's descriptor is still `g`'s (even when its PASID went to a new vdev).
   */
  tornDown: { readonly g: FuzzGuest; readonly pasid: number; readonly at: number; readonly counts: readonly number[]; readonly from: number } | null = null;
  /** How many of the next page requests the service answers by throwing (armed by an embedder action). */
  pageRequestThrows = 0;
  /**
   * An error the library contained at a call-out to the fuzzer's own code that was not a planned
   * {@link FuzzThrow} — a violation detected inside a trigger or the page-request service — reported
   * at the end of the step or action it happened in.
   */
  private escaped: Violation | null = null;
  private nextGuestId = 1;
  private uuidCounter = 0;
  private executedInAction = 0;
  private lastWq = -1;
  private readonly heads: Int32Array;
  private readonly tailSeq: Float64Array;
  private readonly stepSeq: Float64Array;
  private readonly byPasid = new Map<number, FuzzGuest>();
  private readonly byMemory = new Map<Uint8Array, WatchedMemory>();
  private readonly history: string[] = [];
  /** Mappings the page-request service removed during the current step, with their bytes then. */
  private readonly unmapped: { readonly memory: WatchedMemory; readonly snap: Snapshot; readonly at: number }[] = [];
  private readonly totalWeight: number;

  /** Builds the rig and creates and opens `options.vdevs` vdevs (both types). */
  constructor(readonly options: FuzzOptions) {
    this.r = new Prng(options.seed);
    this.rig = buildRig(this.r, () => {
      // A host command issued from a callback inside a step cannot step the model (it is running).
      if (!this.inStep) this.stepChecked();
    });
    this.rig.dev.onProgress((wq) => {
      this.lastWq = wq;
    });
    const wqs = this.rig.dev.wqs.length;
    this.heads = new Int32Array(wqs);
    this.tailSeq = new Float64Array(wqs);
    this.stepSeq = new Float64Array(wqs);
    this.canary = new WatchedMemory('canary memory', MEM_SIZE, null, this.r);
    this.scrap = new WatchedMemory('scrap memory', MEM_SIZE, null, this.r);
    this.byMemory.set(this.rig.hostMemory.bytes, this.rig.hostMemory);
    this.slots = new Array<FuzzGuest | null>(options.vdevs).fill(null);
    this.totalWeight = ACTIONS.reduce((n, a) => n + a.weight, 0);
    this.checks = new SystemChecks(this, this.rig.parent.vectors);
    this.rig.host.onError((rec) => this.checks.unrouted(rec));
    this.rig.dev.pageRequests = (pasid, iova, write) => this.pageRequest(pasid, iova, write);
    // The library contains what the fuzzer's triggers and services throw: planned throws are counted,
    // anything else (a violation found inside a callback) is reported once the step or action ends.
    setEmbedderErrorHook((e, where) => {
      if (e instanceof FuzzThrow) this.stats.device.add(`contained throw (${where})`);
      else this.escaped ??= this.unexpected(e, `embedder callback (${where})`);
    });
    // Every fourth slot starts dedicated, the others shared (so two shared vdevs share a WQ early).
    for (let i = 0; i < options.vdevs; i++) createInSlot(this, i, i % 4 === 0 ? 'dedicated' : 'shared', true);
    this.actor = null;
  }

  // ---------------------------------------------------------------- the loop

  /** Runs `n` more steps; throws the first {@link Violation}. */
  run(n: number): void {
    for (let i = 0; i < n; i++) this.oneStep();
  }

  /** The last actions, oldest first, as readable lines. */
  reproducer(): string[] {
    return this.history.slice();
  }

  private pick(): ActionDef {
    let k = this.r.below(this.totalWeight);
    for (const a of ACTIONS) {
      if (k < a.weight) return a;
      k -= a.weight;
    }
    return ACTIONS[0] as ActionDef;
  }

  private oneStep(): void {
    this.actor = null;
    this.abortAllowed = false;
    this.configTouched = false;
    this.handlesTouched = false;
    this.registersTouched = false;
    this.hostActing = false;
    this.executedInAction = 0;
    this.line = '';
    const dev = this.rig.dev;
    for (let q = 0; q < this.tailSeq.length; q++) this.tailSeq[q] = wqAt(dev, q).tailSeq;
    const action = this.pick();
    this.stats.actions.add(action.name);
    try {
      try {
        action.run(this);
      } catch (e) {
        throw this.unexpected(e, `${action.name}`);
      }
      this.throwEscaped();
      this.endOfAction();
    } finally {
      this.history.push(`#${this.step} ${action.name}: ${this.line}`);
      if (this.history.length > HISTORY) this.history.shift();
      this.step++;
    }
  }

  /**
   * Runs a host-API call that may legally answer the errnos in `allowed` (counted); returns its
   * result, or undefined after an allowed error. Any other exception is a violation.
   */
  call<T>(what: string, allowed: readonly string[], body: () => T): T | undefined {
    try {
      return body();
    } catch (e) {
      if (e instanceof VfioError && allowed.includes(e.code)) {
        this.stats.errors.add(e.code);
        return undefined;
      }
      throw this.unexpected(e, what);
    }
  }

  /** A violation for an exception that escaped `what` (a violation already is one). */
  unexpected(e: unknown, what: string): Violation {
    if (e instanceof Violation) return e;
    if (e instanceof VfioError) return new Violation('exception', `${what} answered ${e.code}, which it may not: ${e.message}`);
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return new Violation('exception', `${what} threw ${text}`);
  }

  // ---------------------------------------------------------------- guests

  /** Live guests (every slot that holds one). */
  guests(): FuzzGuest[] {
    return this.slots.filter((g): g is FuzzGuest => g !== null);
  }

  /** A random guest with an open handle, or null. */
  openGuest(): FuzzGuest | null {
    const open = this.slots.filter((g): g is FuzzGuest => g !== null && g.handle !== null);
    return open.length === 0 ? null : this.r.pick(open);
  }

  /** A random live guest, or null. */
  anyGuest(): FuzzGuest | null {
    const live = this.guests();
    return live.length === 0 ? null : this.r.pick(live);
  }

  /** A fresh, valid, lowercase UUID (deterministic per run). */
  nextUuid(): string {
    this.uuidCounter++;
    return `fa22${(this.options.seed >>> 0).toString(16).padStart(8, '0').slice(4)}-0000-4000-8000-${this.uuidCounter.toString(16).padStart(12, '0')}`;
  }

  /** The id the next guest gets. */
  takeGuestId(): number {
    return this.nextGuestId++;
  }

  /** Puts a just-created guest into slot `slot`. */
  adoptGuest(slot: number, g: FuzzGuest): void {
    this.checks.adopt(g);
    this.slots[slot] = g;
    this.byPasid.set(g.hostPasid, g);
    this.byMemory.set(g.memory.bytes, g.memory);
  }

  /** The guest in `slot` was removed: its memory stays watched for a while, nothing may write it. */
  dropGuest(slot: number): void {
    const g = this.slots[slot];
    if (g === null || g === undefined) return;
    this.slots[slot] = null;
    this.byPasid.delete(g.hostPasid);
    this.checks.retire(g);
    this.retired.push(g.memory);
    if (this.retired.length > RETIRED) this.byMemory.delete((this.retired.shift() as WatchedMemory).bytes);
    for (const portal of g.stalePortals) this.orphanPortals.push({ portal, wq: g.wq, owner: `removed vdev #${g.id}` });
    if (this.orphanPortals.length > RETIRED) this.orphanPortals.splice(0, this.orphanPortals.length - RETIRED);
  }

  // ---------------------------------------------------------------- the model, one checked descriptor at a time

  /**
   * Executes one descriptor (the model's `step`) and checks it: it came from a WQ entry whose PASID
   * belongs to a live vdev backed by that WQ (or to the host on its own WQ); every translation it
   * made was under that PASID into that owner's memory; every record slot it wrote holds a valid
   * record; only the owner's interrupts, errors and command status moved. Returns false when
   * nothing could run.
   */
  stepChecked(): boolean {
    const dev = this.rig.dev;
    this.checks.signatures(this.actor, 'outside a descriptor');
    for (let q = 0; q < this.heads.length; q++) this.heads[q] = wqAt(dev, q).head;
    // A descriptor that yielded (its step's work budget ran out) runs on before anything is taken from
    // a WQ; in deterministic mode there is at most one.
    const cont = yieldedDescriptor(dev);
    const contWq = cont === null ? -1 : cont.wq;
    const contPasid = cont === null ? -1 : cont.pasid;
    const contBytes = cont === null ? null : cont.desc.slice();
    this.lastWq = -1;
    const log = this.rig.iommu.log;
    log.clear();
    for (let q = 0; q < this.stepSeq.length; q++) this.stepSeq[q] = wqAt(dev, q).tailSeq;
    let ran: boolean;
    this.tornDown = null;
    // A handle mapping recorded by a handler or teardown describes the step it was made in only.
    for (const g of this.slots) if (g !== null) g.handlesBefore = null;
    this.inStep = true;
    try {
      ran = dev.step();
    } catch (e) {
      throw this.unexpected(e, 'DsaDevice.step');
    } finally {
      this.inStep = false;
    }
    this.throwEscaped();
    if (!ran) {
      if (log.count > 0) throw new Violation('isolation', `${log.count} translations made while no descriptor ran`);
      return false;
    }
    this.stats.executed++;
    this.executedInAction++;
    const wq = this.lastWq;
    if (wq < 0) throw new Violation('isolation', 'a descriptor ran but no WQ reported progress');
    const w = wqAt(dev, wq);
    if (cont !== null && wq !== contWq) throw new Violation('isolation', `WQ ${wq} ran a descriptor while one of WQ ${contWq} had yielded`);
    const pasid = cont !== null ? contPasid : (w.slotPasid[this.heads[wq] as number] as number);
    // Completed unless it (or the one taken) yielded: only then is its WQ entry free.
    const finished = yieldedDescriptor(dev) === null;
    if (!finished) this.stats.device.add('steps yielded');
    const torn = this.tornDown as Fuzzer['tornDown']; // (set by a callback during the step)
    this.tornDown = null;
    let owner: FuzzGuest | null = null;
    if (wq === HOST_WQ) {
      if (pasid !== 0) throw new Violation('isolation', `the host's WQ ${wq} ran a descriptor with PASID ${pasid}`);
      if (finished) this.hostExpected--;
    } else {
      owner = (torn !== null && torn.pasid === pasid ? torn.g : null) ?? this.byPasid.get(pasid) ?? null;
      if (owner === null) throw new Violation('isolation', `WQ ${wq} ran a descriptor with PASID ${pasid}, which no live vdev owns`);
      if (owner.wq !== wq) throw new Violation('isolation', `WQ ${wq} ran a descriptor of vdev #${owner.id}, which is backed by WQ ${owner.wq}`);
      if (finished) owner.expected--;
    }
    const ownerId = owner === null ? HOST_OWNER : owner.id;
    const who = owner === null ? 'the host' : `vdev #${owner.id}`;
    for (let i = 0; i < log.count; i++) {
      if (log.pasids[i] !== pasid) throw new Violation('isolation', `a descriptor of ${who} (PASID ${pasid}) translated through PASID ${log.pasids[i]}`);
      const run = log.runs[i] as Uint8Array | null;
      if (run === null) continue;
      const m = this.byMemory.get(run);
      if (m === undefined || m.owner !== ownerId) {
        throw new Violation('isolation', `a descriptor of ${who} was given access to ${m === undefined ? 'unknown memory' : m.name}`);
      }
      if (log.writes[i] === true) {
        const off = log.offsets[i] as number;
        const len = log.lengths[i] as number;
        checkRecordSlots(m, off, len, this.stats.device);
        m.accept(off, len);
      }
    }
    if (torn !== null) this.afterTeardown(torn);
    this.checkUnmapped();
    log.clear();
    this.reentrantSubmissions(owner);
    if (owner !== null) {
      if (contBytes !== null) this.checks.completionVectors(owner, contBytes, 0);
      else this.checks.completionVectors(owner, w.bytes, w.base + (this.heads[wq] as number) * 64);
    }
    this.checks.signatures(owner, `during a descriptor of ${who}`);
    return true;
  }

  /**
   * Descriptors accepted during the step came from the owner's interrupt handler (the only guest
   * code that may run then): they count as the owner's, not the current action's.
   */
  private reentrantSubmissions(owner: FuzzGuest | null): void {
    const dev = this.rig.dev;
    for (let q = 0; q < this.stepSeq.length; q++) {
      const added = wqAt(dev, q).tailSeq - (this.stepSeq[q] as number);
      if (added === 0) continue;
      if (owner === null || owner.wq !== q) throw new Violation('occupancy', `WQ ${q} accepted ${added} descriptors during a descriptor of ${owner === null ? 'the host' : `vdev #${owner.id}`}`);
      owner.expected += added;
      this.tailSeq[q] = (this.tailSeq[q] as number) + added;
    }
  }

  /** After a teardown inside the step: nothing of the torn-down vdev was translated or raised once the call returned. */
  private afterTeardown(torn: NonNullable<Fuzzer['tornDown']>): void {
    const log = this.rig.iommu.log;
    for (let i = torn.at; i < log.count; i++) {
      if (log.pasids[i] === torn.pasid) throw new Violation('isolation', `PASID ${torn.pasid} was translated after vdev #${torn.g.id} was torn down from a callback of its descriptor`);
    }
    torn.g.fds.forEach((fd, k) => {
      if (k >= torn.from && fd.count !== torn.counts[k]) throw new Violation('interrupt', `vdev #${torn.g.id}: trigger ${k} signalled after it was torn down from a callback of its descriptor`);
    });
  }

  /** Steps until nothing can run (at most `max` descriptors); returns how many ran. */
  runUntilIdle(max = 100_000): number {
    let n = 0;
    while (n < max && this.stepChecked()) n++;
    return n;
  }

  // ---------------------------------------------------------------- invariants

  private endOfAction(): void {
    const c = this.checks;
    c.signatures(this.actor, this.actor === null ? 'in an action of nobody' : `in an action of vdev #${this.actor.id}`);
    c.occupancy(this.tailSeq);
    const periodic = this.step % PERIOD === 0;
    if (this.executedInAction > 0 || periodic) c.memories();
    if (this.actor !== null) {
      c.visibleOccupancy(this.actor);
      c.readOnly(this.actor, this.configTouched, this.registersTouched);
    }
    if (periodic) for (const g of this.guests()) c.readOnly(g, true, true);
    if (this.handlesTouched || periodic) c.handles();
  }

  /**
   * The VMM's page-request service (block on fault, and record/list/readback faults while PRI is
   * on): mostly maps the faulting page of the owner's mappable memory (identity, read-write) when no
   * mapping covers it; sometimes claims success without mapping (the engine gives up after three
   * rounds); otherwise refuses. Runs inside a step: it changes the owner's own IOAS only.
   */
  /** Throws the violation a callback found (see {@link escaped}), if any. */
  private throwEscaped(): void {
    const v = this.escaped;
    if (v === null) return;
    this.escaped = null;
    throw v;
  }

  private pageRequest(pasid: number, iova: number, write: boolean): boolean {
    if (this.pageRequestThrows > 0) {
      this.pageRequestThrows--;
      throw new FuzzThrow('page-request service');
    }
    const g = this.byPasid.get(pasid);
    const r = this.r;
    // A teardown armed by the current action runs here when the descriptor asking is the vdev's own.
    if (g !== undefined && this.armed !== null && this.armed(g, 'page request')) return true;
    if (g === undefined || r.chance(0.3)) {
      this.stats.device.add('page request refused');
      return false;
    }
    const page = iova - (iova % PAGE);
    if (r.chance(0.3)) this.unmapElsewhere(g, page);
    if (page < MAPPABLE_END && !g.ioas.listMappings().some((m) => page >= m.iova && page < m.iova + m.size)) {
      g.ioas.map({ iova: page, size: PAGE, memory: g.memory.memory, offset: page, flags: 3 });
      this.stats.device.add(`page request resolved (${write ? 'write' : 'read'})`);
      return true;
    }
    this.stats.device.add('page request answered without a mapping');
    return r.chance(0.5);
  }
  /**
   * The careless VMM, while serving a page request, unmaps another mapping of the owner (not the
   * faulting page's). The bytes behind it are remembered: from the unmap on, no DMA may reach them
   * (vfio-uapi.md §9.2) unless they are mapped and translated again.
   */
  private unmapElsewhere(g: FuzzGuest, page: number): void {
    const others = g.ioas.listMappings().filter((m) => page < m.iova || page >= m.iova + m.size);
    if (others.length === 0) return;
    const m = this.r.pick(others);
    g.ioas.unmap({ iova: m.iova, size: m.size, flags: 0 });
    this.unmapped.push({ memory: g.memory, snap: g.memory.snapshot(m.offset, m.size), at: this.rig.iommu.log.count });
    this.stats.device.add('page request: VMM unmaps other memory');
  }

  /**
   * Memory unmapped during the step (by the page-request service) changed after the unmap only
   * where a write was translated after it (the range mapped again); else DMA went through a stale
   * translation.
   */
  private checkUnmapped(): void {
    const log = this.rig.iommu.log;
    for (const u of this.unmapped) {
      const b = u.memory.bytes;
      const copy = u.snap.bytes;
      u.memory.closeSnapshots();
      for (let i = 0; i < copy.length; i++) {
        const at = u.snap.offset + i;
        if (b[at] === copy[i]) continue;
        let covered = false;
        for (let k = u.at; k < log.count && !covered; k++) {
          const off = log.offsets[k] as number;
          covered = log.writes[k] === true && log.runs[k] === b && at >= off && at < off + (log.lengths[k] as number);
        }
        if (!covered) throw new Violation('memory', `${u.memory.name}: byte ${hex(at, 4)} was written after the VMM unmapped it (a stale translation)`);
      }
    }
    this.unmapped.length = 0;
  }



}

/** The descriptor that yielded and waits to run on (at most one in deterministic mode), or null. */
function yieldedDescriptor(dev: DsaDevice): InFlightDescriptor | null {
  for (const w of dev.wqs) {
    if (w.heldCount === 0) continue;
    for (const h of w.held) {
      const d = h as InFlightDescriptor;
      if (d.state === InFlightState.YIELDED) return d;
    }
  }
  return null;
}
