/**
 * A WQ as the host driver hands it out: its configuration, live state read from WQCFG, its portals,
 * PASID binding, drain and abort, occupancy, completion interrupts, and the owner (a kernel user or
 * the mdev layer) its software errors are routed to.
 */
import { Command, type Portal, PORTAL_PAGE, PORTAL_STRIDE, type WithdrawnDescriptor, WQCFG, wqMaskOperand } from '../dsa/index.js';
import { dwordField, packRegister } from './codec.js';
import type { WqMode, WqSpec } from './config.js';
import type { CompletionHandler, IdxdHost } from './driver.js';
import { HostError } from './errors.js';
import type { SoftwareErrorRecord } from './swerr.js';

/** Whoever uses a WQ (a kernel client, a vdev): receives the software errors of its descriptors. */
export interface WqOwner {
  /** A software error concerning this owner's descriptors (0x53, CR faults, …). */
  onError?(e: SoftwareErrorRecord): void;
  /**
   * The host is resetting or reconfiguring the device with `{ force: true }` (see
   * `IdxdHost.resetDevice`): give back everything taken from the host driver — abort the work
   * ({@link HostWq.purge}), free the interrupt handles and PASIDs, release the WQ or detach the PASID
   * — and use none of it again. Called once per reset, before the device is touched.
   */
  revoke?(): void;
}

const PASID_DWORD = WQCFG.fields.pasid.lo >>> 5;

/** One WQ of a probed device. */
export class HostWq {
  /** WQ index. */
  readonly id: number;
  private readonly driver: IdxdHost;
  private spec: WqSpec | null = null;
  private boundPasid: number | null = null;
  private boundPriv = false;
  private exclusive: WqOwner | null = null;
  private readonly pasidOwners = new Map<number, WqOwner>();
  private msixHandle = -1;

  /** Used by {@link IdxdHost.probe}. */
  constructor(driver: IdxdHost, id: number) {
    this.driver = driver;
    this.id = id;
  }

  // ---------------------------------------------------------------- configuration

  /** Used by {@link IdxdHost.configure}: the WQ's configuration (null: unconfigured). */
  setSpec(spec: WqSpec | null): void {
    if (this.exclusive !== null || this.pasidOwners.size > 0) throw new HostError('EBUSY', `WQ ${this.id} is in use`);
    this.spec = spec;
    this.boundPasid = spec?.mode === 'dedicated' && spec.pasid !== undefined ? spec.pasid : null;
    this.boundPriv = spec?.priv === true;
  }

  /** Used by {@link IdxdHost.resetDevice}: the device forgot the WQ's configuration. */
  forget(): void {
    this.spec = null;
    this.boundPasid = null;
    this.exclusive = null;
    this.pasidOwners.clear();
    this.msixHandle = -1;
  }

  private need(): WqSpec {
    if (this.spec === null) throw new HostError('EINVAL', `WQ ${this.id} is not configured`);
    return this.spec;
  }

  /** Whether the loaded configuration has this WQ. */
  get configured(): boolean {
    return this.spec !== null;
  }

  /** Name (configured, or `wq<id>`). */
  get name(): string {
    return this.spec?.name ?? `wq${this.id}`;
  }

  /** Mode. */
  get mode(): WqMode {
    return this.need().mode;
  }

  /** Dedicated mode. */
  get dedicated(): boolean {
    return this.need().mode === 'dedicated';
  }

  /** Entries. */
  get size(): number {
    return this.need().size;
  }

  /** Limited-portal threshold (shared WQs; 0 for dedicated ones). */
  get threshold(): number {
    const s = this.need();
    return s.mode === 'dedicated' ? 0 : (s.threshold ?? s.size);
  }

  /** Priority. */
  get priority(): number {
    return this.need().priority ?? 10;
  }

  /** Block on fault. */
  get blockOnFault(): boolean {
    return this.need().blockOnFault === true;
  }

  /** Max transfer size, log2. */
  get maxTransferShift(): number {
    return this.need().maxTransferShift ?? this.driver.info.maxTransferShift;
  }

  /** Max batch size, log2. */
  get maxBatchShift(): number {
    return this.need().maxBatchShift ?? this.driver.info.maxBatchShift;
  }

  /** The group. */
  get group(): number {
    return this.need().group;
  }

  /** Engines in the WQ's group. */
  get engines(): number {
    return this.driver.enginesOfGroup(this.need().group);
  }

  /** GRPFLAGS of the WQ's group (traffic classes, read buffers) as the device holds them. */
  get groupFlags(): [number, number] {
    return this.driver.groupFlags(this.need().group);
  }

  /** Marked for mediated use. */
  get mediated(): boolean {
    return this.spec?.mediated === true;
  }

  /** Dedicated WQ: the PASID its descriptors use (null: none, the requester-ID space). */
  get pasid(): number | null {
    return this.boundPasid;
  }

  // ---------------------------------------------------------------- live state (BAR0)

  private wqcfgDword(k: number): number {
    return this.driver.device.bar0.read32(this.driver.wqcfgOffset(this.id) + 4 * k);
  }

  /** WQCFG.wq_state = enabled. */
  get enabled(): boolean {
    const f = WQCFG.fields.wqState;
    return dwordField(this.wqcfgDword(f.lo >>> 5), f) === 1;
  }

  /** WQCFG.occupancy: descriptors queued. */
  get occupancy(): number {
    const f = WQCFG.fields.occupancy;
    return dwordField(this.wqcfgDword(f.lo >>> 5), f);
  }

  /** Descriptors queued with effective PASID `pasid`. */
  occupancyOf(pasid: number): number {
    return this.driver.device.occupancy(this.id, pasid);
  }

  // ---------------------------------------------------------------- enable, disable, PASID

  /**
   * Enable WQ, then the WQ's completion vector (`id + 1`): MSIX_PERM bound to the WQ's PASID, and
   * a handle from Request Interrupt Handle when the device has it. Refusals throw `HostError` ENXIO
   * with the CMDSTS code.
   */
  enable(): void {
    this.need();
    this.driver.run(Command.ENABLE_WQ, this.id, `enable WQ ${this.id}`);
    this.driver.setVectorPasid(this.vector, this.boundPasid);
    if (this.driver.info.commandCapabilities && this.msixHandle < 0) {
      this.msixHandle = this.driver.run(Command.REQUEST_INT_HANDLE, this.vector, `request interrupt handle for WQ ${this.id}`);
    }
  }

  /** Disable WQ (waits for queued descriptors). */
  disable(): void {
    this.driver.run(Command.DISABLE_WQ, this.maskOperand(), `disable WQ ${this.id}`);
    if (this.msixHandle >= 0) {
      this.driver.command(Command.RELEASE_INT_HANDLE, this.msixHandle);
      this.msixHandle = -1;
    }
    this.driver.setVectorPasid(this.vector, null);
  }

  /**
   * Dedicated WQ: binds every descriptor to `pasid` (null: no PASID) with privilege `priv`, as Linux
   * `idxd_wq_set_pasid` does (disable, program WQCFG, enable). Throws `HostError` EINVAL for a
   * shared WQ, ENXIO when the device refuses.
   */
  bindPasid(pasid: number | null, priv = false): void {
    if (!this.dedicated) throw new HostError('EINVAL', `WQ ${this.id} is shared: each submission carries its PASID`);
    const wasEnabled = this.enabled;
    if (wasEnabled) this.disable();
    const off = this.driver.wqcfgOffset(this.id) + 4 * PASID_DWORD;
    const keep = this.driver.device.bar0.read32(off);
    const fields = packRegister(WQCFG, pasid === null ? { priv: priv ? 1 : 0 } : { pasid, pasidEn: 1, priv: priv ? 1 : 0 });
    const mask = packRegister(WQCFG, { pasid: 0xfffff, pasidEn: 1, priv: 1 });
    this.driver.device.bar0.write32(off, ((keep & ~(mask[PASID_DWORD] as number)) | (fields[PASID_DWORD] as number)) >>> 0);
    this.boundPasid = pasid;
    this.boundPriv = priv;
    if (wasEnabled) this.enable();
  }

  /** Dedicated WQ: Priv of its descriptors. */
  get priv(): boolean {
    return this.boundPriv;
  }

  // ---------------------------------------------------------------- portals and interrupts

  /** The portal page of this WQ in BAR2 (unlimited/MSI-X by default): the fast path to submit through. */
  portal(options: { readonly limited?: boolean; readonly ims?: boolean } = {}): Portal {
    const offset = this.id * PORTAL_STRIDE + (options.limited === true ? PORTAL_PAGE : 0) + (options.ims === true ? 2 * PORTAL_PAGE : 0);
    const p = this.driver.device.bar2.portalAt(offset);
    if (p === null) throw new HostError('ENXIO', `BAR2 has no portal at 0x${offset.toString(16)}`);
    return p;
  }

  /** The WQ's completion MSI-X vector (Linux convention: WQ n uses vector n + 1). */
  get vector(): number {
    return this.id + 1;
  }

  /** The interrupt handle descriptors submitted through an MSI-X portal of this WQ carry. */
  get interruptHandle(): number {
    return this.msixHandle >= 0 ? this.msixHandle : this.vector;
  }

  /** Routes the WQ's completion vector to `handler` (null: none; interrupts then stay pending). */
  onCompletion(handler: CompletionHandler | null): void {
    this.driver.setVectorHandler(this.vector, handler);
  }

  /** Binds the completion vector to `pasid` (MSIX_PERM; null: no PASID check). */
  setVectorPasid(pasid: number | null): void {
    this.driver.setVectorPasid(this.vector, pasid);
  }

  // ---------------------------------------------------------------- owners

  /** Takes the WQ for `owner`: a dedicated WQ has one owner (EBUSY otherwise); errors of the WQ go to it. */
  claim(owner: WqOwner): void {
    this.need();
    if (this.exclusive !== null && this.exclusive !== owner) throw new HostError('EBUSY', `WQ ${this.id} is already claimed`);
    if (this.dedicated && this.pasidOwners.size > 0) throw new HostError('EBUSY', `WQ ${this.id} has PASID users`);
    this.exclusive = owner;
  }

  /** Gives the WQ back (throws EINVAL when `owner` does not hold it). */
  release(owner: WqOwner): void {
    if (this.exclusive !== owner) throw new HostError('EINVAL', `WQ ${this.id} is not held by this owner`);
    this.exclusive = null;
  }

  /** The owner holding the WQ, or null. */
  get owner(): WqOwner | null {
    return this.exclusive;
  }

  /** Shared WQ: the errors of descriptors with `pasid` go to `owner` (EBUSY when another owner has the PASID). */
  attachPasid(pasid: number, owner: WqOwner): void {
    if (this.dedicated) throw new HostError('EINVAL', `WQ ${this.id} is dedicated: bind its PASID instead`);
    const had = this.pasidOwners.get(pasid);
    if (had !== undefined && had !== owner) throw new HostError('EBUSY', `PASID ${pasid} is already attached to WQ ${this.id}`);
    this.pasidOwners.set(pasid, owner);
  }

  /** Shared WQ: stops routing `pasid`'s errors to its owner. */
  detachPasid(pasid: number): void {
    this.pasidOwners.delete(pasid);
  }

  /** The PASIDs attached to this shared WQ. */
  attachedPasids(): number[] {
    return [...this.pasidOwners.keys()].sort((a, b) => a - b);
  }

  /** Used by the driver's error routing: the owner of an error with `pasid` (null: not known). */
  ownerOf(pasid: number | null): WqOwner | null {
    if (pasid !== null) {
      const o = this.pasidOwners.get(pasid);
      if (o !== undefined) return o;
    }
    return this.exclusive;
  }

  // ---------------------------------------------------------------- drain and abort

  private maskOperand(): number {
    return wqMaskOperand(this.id);
  }

  /** Waits for the queued descriptors: all of them (Drain WQ), or those of `pasid` (Drain PASID). */
  drain(pasid?: number): void {
    if (pasid === undefined) this.driver.run(Command.DRAIN_WQ, this.maskOperand(), `drain WQ ${this.id}`);
    else this.driver.run(Command.DRAIN_PASID, pasid, `drain PASID ${pasid}`);
  }

  /** Abandons the queued descriptors: all of them (Abort WQ), or those of `pasid` (Abort PASID). */
  abort(pasid?: number): void {
    if (pasid === undefined) this.driver.run(Command.ABORT_WQ, this.maskOperand(), `abort WQ ${this.id}`);
    else this.driver.run(Command.ABORT_PASID, pasid, `abort PASID ${pasid}`);
  }

  /**
   * Listens to the WQ's progress: `listener` runs after each descriptor taken from this WQ has been
   * executed (a waiter re-evaluates what it waits for there). Returns a function that removes it.
   * Throws `HostError` ENODEV when the device reports no progress.
   */
  onProgress(listener: () => void): () => void {
    const dev = this.driver.device;
    if (dev.onProgress === undefined) throw new HostError('ENODEV', 'the device reports no execution progress');
    const id = this.id;
    return dev.onProgress((wq) => {
      if (wq === id) listener();
    });
  }

  /**
   * Lets the device run (the driver's `wait` hook) until no descriptor of `pasid` is left on this WQ,
   * or until a run leaves their count unchanged (what is left waits for something outside the device:
   * memory reached only by messages). Returns how many are left. Nothing is abandoned.
   */
  quiesce(pasid: number): number {
    let left = this.occupancyOf(pasid);
    while (left > 0) {
      this.driver.letRun();
      const now = this.occupancyOf(pasid);
      if (now >= left) break;
      left = now;
    }
    return left;
  }

  /**
   * Takes back the descriptors of `pasid` that have had no effect yet (queued, or waiting for memory
   * reached only by messages), in acceptance order, without a record or an interrupt; null (nothing
   * taken) when one of them is already executing or writing back. Throws `HostError` ENODEV when the
   * device cannot do it.
   */
  withdraw(pasid: number): WithdrawnDescriptor[] | null {
    const dev = this.driver.device;
    if (dev.withdraw === undefined) throw new HostError('ENODEV', 'the device cannot take descriptors back');
    return dev.withdraw(this.id, pasid);
  }

  /** True while a descriptor of `pasid` is queued or in flight on this WQ, or executing (one of its callbacks runs). */
  busyWith(pasid: number): boolean {
    const dev = this.driver.device;
    return dev.occupancy(this.id, pasid) > 0 || dev.executing?.(this.id, pasid) === true;
  }

  /**
   * Removes every descriptor of `pasid` from the WQ so that none can run any more, whatever the device
   * is doing: queued, in flight, and the one executing when called from one of its callbacks (it
   * stops at its next check: nothing more written or raised). Abort PASID when the device takes a
   * command; when another command is active (a host command in progress — this may be a callback of
   * its wait — or one that timed out) or the abort is refused, locally (`DsaPciDevice.discard`).
   * Never throws for a refusal; returns true when nothing of `pasid` is left.
   */
  purge(pasid: number): boolean {
    if (!this.busyWith(pasid)) return true;
    if (!this.driver.commandActive) {
      try {
        this.abort(pasid);
      } catch (e) {
        if (!(e instanceof HostError)) throw e;
      }
    }
    const dev = this.driver.device;
    if (this.busyWith(pasid) && dev.discard !== undefined) dev.discard(this.id, pasid);
    return !this.busyWith(pasid);
  }

  /**
   * Stops the descriptor of `pasid` executing now on this WQ, when this is one of its callbacks (its
   * address space is going away: it is abandoned at its next check, nothing more written or raised);
   * queued ones stay. Returns whether one was stopped (false too when the device cannot do it).
   */
  stopExecuting(pasid: number): boolean {
    return this.driver.device.stopExecuting?.(this.id, pasid) === true;
  }

  /** Reset WQ: abandon queued descriptors and disable the WQ (its configuration stays). */
  reset(): void {
    this.driver.run(Command.RESET_WQ, this.maskOperand(), `reset WQ ${this.id}`);
    this.driver.setVectorPasid(this.vector, null);
  }
}
