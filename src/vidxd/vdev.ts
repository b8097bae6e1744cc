/**
 * The virtual idxd device (vidxd-device.md §3–§9): a PCI function (config.ts), a BAR0 register file
 * compiled from the vdev's table (registers.ts) with the DSA layer's command unit (`CommandUnit`)
 * over the vdev's command table (commands.ts) and its wait strategy, a BAR2 of portal pages bound to ONE host WQ (portals.ts, bar2.ts),
 * the interrupt plumbing (vector 0 and SWERR in interrupts.ts, completion handles in handles.ts) and
 * the lifecycle of §9. It reaches the parent only through the host driver: its WQ object (claim or
 * PASID attach, PASID binding, abort, occupancy, portals, progress) and its interrupt-handle and
 * PASID allocation. It is exposed through the generic PCI-to-VFIO adapter ({@link Vdev.ops}).
 */
import {
  CmdStatus, CommandUnit, type CommandUnitDevice, type CommandWaitStrategy, Desc, descOpcodeAt, descPasidAt, descPrivAt, DeviceState, type FieldBits, GENCTRL, type FieldDef, fieldOf, Flag, type PasidPolicy, RegisterFile, type WqShare, SoftwareErrorCode, Status,
  SubmitStatus,
} from '../dsa/index.js';
import { HostError, type HostWq, type IdxdHost, type SoftwareErrorRecord, type WqOwner } from '../host/index.js';
import type { AddressSpace } from '../memory/index.js';
import type { MsixCapability, PciFunction } from '../pci/index.js';
import { MigrationArcError, type PciVfioAdapter, pciVfioOps } from '../vfio/index.js';
import { VdevBar0 } from './bar0.js';
import { VdevBar2 } from './bar2.js';
import { VDEV_COMMAND_BY_CODE, type VdevCommandContext, type VdevCommandUnit, type VdevPciState, type VdevWaitKind, type VdevWqConfig } from './commands.js';
import { buildVdevFunction, type VdevPciParts } from './config.js';
import { type VdevFacts, vdevFacts, type VdevMode } from './facts.js';
import { VdevHandles } from './handles.js';
import { VdevErrorCode, VdevInterrupts } from './interrupts.js';
import { VDEV_DEFAULT_VECTORS, VDEV_PORTAL_BAR, VDEV_REGISTER_BAR } from './layout.js';
import { VdevMigration } from './migration.js';
import { checkImage, type ImageTemplates } from './migration-check.js';
import { MigRecordKind, MigStreamError, type QueuedDescriptor, type VdevImage } from './migration-format.js';
import { VdevPortals, type VdevPortalMapping } from './portals.js';
import { vdevRegisterFile } from './register-templates.js';
import { VDEV_BLOCKS, VDEV_GENCFG, VDEV_GENSTS, VDEV_INTCAUSE, VDEV_WQCAP, type VdevRegisterContext, vdevRegisterContext, vdevWqcfg } from './registers.js';
import { VDEV_BAR0_SIZE } from './layout.js';

/** Options of a {@link Vdev}. */
export interface VdevOptions {
  /** The host driver of the parent (probed, configured). */
  readonly host: IdxdHost;
  /** The backing WQ: dedicated (taken for the vdev's lifetime) or shared. */
  readonly wq: HostWq;
  /** MSI-X vectors, 1..16 (default 2). */
  readonly vectors?: number;
  /** Shared WQ: the vdev's occupancy limit (see {@link SharedLimit}; default `'fair'`). Ignored on a dedicated WQ. */
  readonly sharedLimit?: SharedLimit;
}

/**
 * How many entries of a shared backing WQ one vdev may hold (queued or in flight) at once; a
 * submission beyond answers retry, as a full WQ does. `'fair'`: the WQ's limited-portal room
 * (min(threshold, size)) divided among the vdevs whose virtual WQ is enabled on it, rounded up — alone, a
 * vdev has all of it; with a flooding neighbour, each still has its part. A positive integer: that many
 * entries. `'none'`: only the WQ's own threshold (whoever resubmits first after a dequeue wins).
 */
export type SharedLimit = 'fair' | 'none' | number;

/** The guest's WQCFG PASID settings latched by ENABLE_WQ. */
interface Latched {
  pasidEnabled: boolean;
  pasid: number;
}

/**
 * One vdev. Built at reset state by its parent (`VidxdParent`) when an mdev is created; `ops` is
 * what the mdev core opens as a VFIO device; {@link destroy} gives everything back at remove.
 */
export class Vdev {
  /** Dedicated or shared backing WQ. */
  readonly mode: VdevMode;
  /** The parent's and the backing WQ's values, as the vdev found them when it was created. */
  readonly ownFacts: VdevFacts;
  /** The backing WQ (the host driver's object). */
  readonly wq: HostWq;
  /** The host PASID every descriptor of this vdev runs with (allocated from the host driver). */
  readonly hostPasid: number;
  /** The PCI function (config space). */
  readonly pci: PciFunction;
  /** Its MSI-X capability. */
  readonly msix: MsixCapability;
  /** The BAR0 register file. */
  readonly regs: RegisterFile<VdevRegisterContext>;
  /** BAR0 as a region handler (trapped). */
  readonly bar0: VdevBar0<VdevPortalMapping>;
  /** BAR2 as a region handler (mmap: the bound portals; trapped writes). */
  readonly bar2: VdevBar2;
  /** The command dispatch. */
  readonly commands: VdevCommandUnit;
  /** Vector 0 and SWERR. */
  readonly interrupts: VdevInterrupts;
  /** The VFIO device operations (the generic PCI adapter over the function and BAR handlers). */
  readonly ops: PciVfioAdapter<VdevPortalMapping>;
  /** Migration (vidxd-device.md §10): the arcs and streams the VFIO core runs. */
  readonly migration: VdevMigration;
  private readonly host: IdxdHost;
  private readonly caps: VdevPciParts;
  private readonly handles: VdevHandles;
  private readonly portals: VdevPortals;
  /** Shared vdev: its share of the backing WQ (null: dedicated, or `sharedLimit: 'none'`). */
  private readonly share: WqShare | null;
  /** Shared vdev: the one guest PASID → host PASID translation of its portals (empty while the WQ is disabled). */
  private readonly translation = new Map<number, number>();
  private readonly owner: WqOwner;
  private readonly wqcfg: ReturnType<typeof vdevWqcfg>;
  private readonly latched: Latched = { pasidEnabled: false, pasid: 0 };
  /** Dedicated vdev: the backing WQ's PASID binding before the vdev took it (restored at remove). */
  private readonly original: { readonly pasid: number | null; readonly priv: boolean };
  private stateValue: number = DeviceState.DISABLED;
  private wqOn = false;
  /** The values the vdev presents: its own, or those of the vdev it was migrated from (§10.3). */
  private presented: VdevFacts;
  /** The portals should reach the backing WQ (they do unless the vdev is stopped). */
  private portalsWanted = false;
  /** Stopped for migration (STOP, STOP_COPY, RESUMING, ERROR): nothing of the vdev runs. */
  private stopped = false;
  /** Descriptors to submit when the vdev runs again: taken back from the WQ, or trapped while stopped. */
  private readonly queue: QueuedDescriptor[] = [];
  /** Removes the progress listener of a replay waiting for room in a shared WQ. */
  private unwatchReplay: (() => void) | null = null;
  private attachedSpace: AddressSpace | null = null;
  private destroyed = false;
  /** The parent took everything back (a forced reset or reconfiguration): the vdev holds nothing of it. */
  private revokedFlag = false;

  /**
   * Builds a vdev at reset state on `options.wq`: allocates its host PASID (no address space until
   * an IOAS is attached), and takes the WQ — a dedicated WQ is claimed (locked away from every other
   * user until {@link destroy}) and programmed with the vdev's PASID; on a shared WQ the PASID is
   * attached so its errors are routed here. Throws `HostError` when the host driver refuses
   * (nothing is left allocated), a plain `Error` for a bad vector count.
   */
  constructor(options: VdevOptions) {
    const { host, wq } = options;
    const sharedLimit = options.sharedLimit ?? 'fair';
    checkSharedLimit(sharedLimit);
    this.host = host;
    this.wq = wq;
    this.mode = wq.dedicated ? 'dedicated' : 'shared';
    this.ownFacts = vdevFacts(host, wq, this.mode, options.vectors ?? VDEV_DEFAULT_VECTORS);
    this.presented = this.ownFacts;
    this.caps = buildVdevFunction(this.ownFacts);
    this.pci = this.caps.fn;
    this.msix = this.caps.msix;
    this.wqcfg = vdevWqcfg(this.mode);
    this.regs = vdevRegisterFile(host, this.ownFacts);
    this.interrupts = new VdevInterrupts(this.regs, this.msix);
    const hooks = new Vdev.CommandHooks(this);
    this.commands = new CommandUnit({ regs: this.regs, table: VDEV_COMMAND_BY_CODE, context: this.commandContext(), waits: hooks, device: hooks });
    this.regs.connect({
      window: this.msix,
      // §5.1 step 1: the BAR0 handler (VdevBar0) refuses a CMD write of any other size than 4 bytes.
      hooks: { CMD: (_i, _offset, _size, value) => this.commands.write(value) },
      refresh: { WQCFG: () => this.refreshOccupancy() },
      writable: (lock) => (lock === 'device-disabled' ? this.stateValue === DeviceState.DISABLED : !this.wqOn),
    });
    this.owner = { onError: (rec) => this.forwardError(rec), revoke: () => this.revoke() };
    this.original = { pasid: this.mode === 'dedicated' ? wq.pasid : null, priv: this.mode === 'dedicated' ? wq.priv : false };
    this.hostPasid = host.allocatePasid(null);
    let share: WqShare | null = null;
    try {
      this.handles = new VdevHandles(host, this.hostPasid, this.ownFacts.vectors, (v) => this.interrupts.completion(v));
      share = this.mode === 'shared' ? openShare(wq, sharedLimit) : null;
      this.share = share;
      this.portals = new VdevPortals(wq, this.mode, this.portalPolicy());
      this.takeWq();
    } catch (e) {
      share?.close();
      host.freePasid(this.hostPasid);
      throw e;
    }
    this.bar0 = new VdevBar0(this.regs);
    this.bar2 = new VdevBar2(this.mode, this.portals);
    this.pci.onCommandChange((old, now) => this.commandRegisterChanged(old, now));
    // §3.3: a guest's FLR (DevCtl bit 15) is exactly VFIO_DEVICE_RESET; config space is reset already.
    this.pci.onFunctionReset(() => this.resetState());
    this.migration = new VdevMigration({
      stop: () => this.stopForMigration(),
      run: () => this.runAfterMigration(),
      capture: (final) => this.capture(final),
      prepareLoad: () => this.resetState(),
      load: (image) => this.load(image),
      refused: () => this.resetState(),
    });
    this.ops = pciVfioOps<VdevPortalMapping>(this.pci, {
      bars: { [VDEV_REGISTER_BAR]: this.bar0, [VDEV_PORTAL_BAR]: this.bar2 },
      migration: this.migration,
      dmaLogging: true,
      onClose: () => {
        // The next opener sees the vdev's own facts again (config space was reset with the presented ones).
        if (this.presented !== this.ownFacts) {
          this.present(this.ownFacts);
          this.pci.reset();
        }
        this.resetState();
        this.unstop();
        this.migration.forget();
        this.portals.renew();
      },
      onReset: () => {
        this.resetState();
        this.unstop();
        this.migration.forget();
      },
      onAttachIoas: (space) => this.attachSpace(space),
    });
  }

  /**
   * The values the vdev presents (vidxd-device.md §3, §4, §6): the parent's and the backing WQ's as it
   * found them, or — after a migration — those of the vdev it was migrated from, kept until its VFIO
   * handle closes, so the guest's view never changes under it.
   */
  get facts(): VdevFacts {
    return this.presented;
  }

  /** True while the vdev is stopped for migration (nothing of it runs). */
  get migrationStopped(): boolean {
    return this.stopped;
  }

  /** Descriptors the vdev holds to submit when it runs again (taken back from the WQ, or trapped while stopped). */
  get queued(): number {
    return this.queue.length;
  }

  // ---------------------------------------------------------------- public surface

  /** GENSTS.state: 0 Disabled, 1 Enabled, 2 Drain, 3 Halt. */
  get state(): number {
    return this.stateValue;
  }

  /** The virtual WQ is enabled (bound to the backing WQ). */
  get wqEnabled(): boolean {
    return this.wqOn;
  }

  /** This vdev's descriptors queued in the backing WQ. */
  get occupancy(): number {
    return this.revokedFlag ? 0 : this.wq.occupancyOf(this.hostPasid);
  }

  /** The handle each completion vector holds (null: none). */
  heldHandles(): (number | null)[] {
    return this.handles.held();
  }

  /** The address space the vdev's DMA goes through (null: detached, every DMA faults). */
  get space(): AddressSpace | null {
    return this.attachedSpace;
  }

  /** True after {@link destroy}. */
  get removed(): boolean {
    return this.destroyed;
  }

  /**
   * True once the parent has taken back everything the vdev held of it — its host PASID, its interrupt
   * handles, its WQ — because the host reset or reconfigured the device with `{ force: true }`
   * (`IdxdHost.resetDevice`): its work was abandoned and it stays halted (GENSTS Halt; commands answer
   * 0x03, RESET_DEVICE and VFIO reset leave it halted) until it is removed.
   */
  get revoked(): boolean {
    return this.revokedFlag;
  }

  /**
   * Gives everything back (mdev remove; the vdev is closed): outstanding work aborted, handles freed,
   * the portals handed out disconnected for good, a dedicated WQ's PASID binding restored and the WQ
   * released, a shared WQ's PASID detached, the host PASID freed. Idempotent.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.resetState();
    this.portals.renew();
    this.destroyed = true;
    this.attachSpace(null);
    // A revoked vdev holds nothing of the parent: the numbers it had may be another user's now.
    if (!this.revokedFlag) this.giveBack();
  }

  /** Gives the parent's resources back: a dedicated WQ's PASID binding restored and the WQ released, or the shared WQ's PASID detached; the host PASID freed. */
  private giveBack(): void {
    this.hostCall(() => {
      if (this.mode === 'dedicated') {
        if (this.wq.pasid !== this.original.pasid || this.wq.priv !== this.original.priv) this.wq.bindPasid(this.original.pasid, this.original.priv);
      }
    });
    this.hostCall(() => (this.mode === 'dedicated' ? this.wq.release(this.owner) : this.wq.detachPasid(this.hostPasid)));
    this.hostCall(() => this.host.freePasid(this.hostPasid));
    this.share?.close();
  }

  // ---------------------------------------------------------------- backing WQ

  private takeWq(): void {
    if (this.mode === 'shared') {
      this.wq.attachPasid(this.hostPasid, this.owner);
      return;
    }
    this.wq.claim(this.owner);
    try {
      this.wq.bindPasid(this.hostPasid, false);
    } catch (e) {
      this.wq.release(this.owner);
      throw e;
    }
  }

  private portalPolicy(): PasidPolicy {
    if (this.mode === 'dedicated') return { kind: 'fixed', pasid: this.hostPasid, priv: false };
    return {
      kind: 'translate',
      table: this.translation,
      // The guest's own PASID capability decides (live, as the device reads its capability at dispatch).
      privileged: this.caps.pasid,
      onReject: (guest, src, off, reason) => this.rejected(guest, src, off, reason),
      ...(this.share === null ? {} : { share: this.share }),
    };
  }

  /** Runs a host-driver call whose refusal the guest cannot be told about (teardown): a refusal is dropped. */
  private hostCall(body: () => void): boolean {
    try {
      body();
      return true;
    } catch (e) {
      if (e instanceof HostError) return false;
      throw e;
    }
  }

  /**
   * The IOAS attached (or detached, null): the vdev's host PASID translates through its space in the
   * parent's IOMMU (detached: every DMA faults). A detach from a callback of the vdev's own descriptor
   * stops that descriptor — it cannot go on in the space taken from it: nothing more of it is written
   * or raised once the call returns (§7.4); queued descriptors stay and fault when they run.
   */
  private attachSpace(space: AddressSpace | null): void {
    if (space === null && !this.revokedFlag) this.wq.stopExecuting(this.hostPasid);
    this.attachedSpace = space;
    if (!this.revokedFlag) this.hostCall(() => this.host.setPasidSpace(this.hostPasid, space));
  }

  /**
   * The host resets or reconfigures the parent with `{ force: true }` (`WqOwner.revoke`): everything of
   * the vdev stops (an active command completes with 0x03, the portals are disconnected for good, the
   * work is abandoned), everything it holds of the parent is given back (handles, WQ, host PASID), and
   * it enters Halt — with the halt interrupt when GENCTRL enables it — where it stays until removed.
   */
  private revoke(): void {
    if (this.revokedFlag || this.destroyed) return;
    this.queue.length = 0;
    this.stopReplay();
    this.connectPortals(false);
    this.abortWork();
    this.disableWq();
    this.handles.releaseAll();
    this.portals.renew();
    this.giveBack();
    this.revokedFlag = true;
    this.setState(DeviceState.HALT);
    this.commands.failActive();
    if (this.regs.flag(GENCTRL, GENCTRL.fields.haltIntEn)) this.interrupts.raiseCause(VDEV_INTCAUSE.fields.halt);
  }

  private refreshOccupancy(): void {
    const n = this.destroyed || this.revokedFlag ? 0 : this.wq.occupancyOf(this.hostPasid);
    this.regs.set(this.wqcfg, this.wqcfg.fields.occupancy, 0, Math.min(n, 0xffff));
  }

  // ---------------------------------------------------------------- what the commands do

  private commandContext(): VdevCommandContext {
    const vdev = this;
    return {
      get state(): number {
        return vdev.stateValue;
      },
      get wqEnabled(): boolean {
        return vdev.wqOn;
      },
      vectors: this.ownFacts.vectors,
      pciState: () => this.pciState(),
      wqConfig: () => this.wqConfig(),
      readBufferLimit: () => this.regs.get(VDEV_GENCFG, VDEV_GENCFG.fields.rdbufLimit),
      enterEnabled: () => this.setState(DeviceState.ENABLED),
      enterDrain: () => this.setState(DeviceState.DRAIN),
      enableWq: (c) => this.enableWq(c),
      stopWq: () => this.connectPortals(false),
      disableWq: () => this.disableWq(),
      abortWork: () => this.abortWork(),
      beginWait: (kind) => this.commands.beginWait(kind),
      isGuestPasid: (pasid) => this.wqOn && (this.mode === 'shared' || this.latched.pasidEnabled) && pasid === this.latched.pasid,
      resetDevice: () => this.resetDevice(),
      requestHandle: (vector) => (this.revokedFlag ? -CmdStatus.NO_HANDLE : this.handles.request(vector)),
      releaseHandle: (handle) => this.handles.release(handle),
    };
  }

  /**
   * The vdev's side of its command unit, one small object per vdev (its methods are shared): the device
   * hooks, and how the vdev's commands wait (§5.2) — until none of its descriptors is left, neither
   * queued here (taken back, or trapped while stopped) nor in the backing WQ, watching the backing WQ's
   * progress only while a command waits, so nothing of the vdev runs on the fast path otherwise.
   */
  private static readonly CommandHooks = class implements CommandUnitDevice, CommandWaitStrategy<VdevWaitKind> {
    private readonly v: Vdev;
    private unwatchFn: (() => void) | null = null;

    constructor(v: Vdev) {
      this.v = v;
    }

    get state(): number {
      return this.v.stateValue;
    }

    setState(s: number): void {
      this.v.setState(s);
    }

    abandon(): void {
      this.v.abandonForHalt();
    }

    reportDevice(code: number): void {
      this.v.interrupts.reportDevice(code);
    }

    raiseCause(cause: FieldDef): void {
      this.v.interrupts.raiseCause(cause);
    }

    isOver(): boolean {
      const v = this.v;
      return v.queue.length === 0 && (v.revokedFlag || v.wq.occupancyOf(v.hostPasid) === 0);
    }

    finish(kind: VdevWaitKind): void {
      this.v.finishWait(kind);
    }

    watch(): void {
      if (this.unwatchFn !== null) return;
      const v = this.v;
      try {
        this.unwatchFn = v.wq.onProgress(() => v.commands.recheck());
      } catch (e) {
        // A parent that reports no progress: the command stays active until a VFIO reset (never an exception to the VMM).
        if (!(e instanceof HostError)) throw e;
        this.unwatchFn = () => {};
      }
    }

    unwatch(): void {
      const u = this.unwatchFn;
      this.unwatchFn = null;
      u?.();
    }
  };

  private pciState(): VdevPciState {
    const c = this.caps;
    return {
      busMaster: this.pci.busMaster,
      pasidEnabled: c.pasid.enabled,
      pasidPrivileged: c.pasid.privilegedEnabled,
      atsEnabled: c.ats.enabled,
      priEnabled: c.pri.enabled,
    };
  }

  private wqConfig(): VdevWqConfig {
    const r = this.regs;
    const w = this.wqcfg;
    const dedicated = r.flag(w, w.fields.mode);
    const cap = VDEV_WQCAP.fields;
    return {
      dedicated,
      pasidEnabled: r.flag(w, w.fields.pasidEn),
      pasid: r.get(w, w.fields.pasid),
      priv: r.flag(w, w.fields.priv),
      modeSupported: r.flag(VDEV_WQCAP, dedicated ? cap.dedicatedMode : cap.sharedMode),
    };
  }

  /**
   * ENABLE_WQ after its checks. Dedicated: the backing WQ runs every descriptor with the vdev's host
   * PASID (pasid_en 1 whatever the guest chose) and the guest's priv when it enabled PASIDs — the
   * guest's pasid/pasid_en only decide what it sees and which PASID operands match. A guest WQ without
   * pasid_en has no privilege distinction (dsa-operations.md §9.4: the user-interrupt rule never
   * applies), so the backing WQ then runs privileged when the parent has PASID privileged mode.
   * Shared: the guest's PASID becomes the one translation of the vdev's portals. A backing WQ the host
   * driver cannot program or has disabled answers 0x03 (hardware error).
   */
  private enableWq(c: VdevWqConfig): number {
    if (this.revokedFlag) return CmdStatus.HARDWARE_ERROR;
    if (this.mode === 'dedicated') {
      const priv = c.pasidEnabled ? c.priv : this.host.pasidState?.pasidPrivileged === true;
      const rebind = this.wq.pasid !== this.hostPasid || this.wq.priv !== priv;
      if (rebind && !this.hostCall(() => this.wq.bindPasid(this.hostPasid, priv))) return CmdStatus.HARDWARE_ERROR;
    } else {
      this.translation.clear();
      this.translation.set(c.pasid, this.hostPasid);
    }
    if (!this.wq.enabled) {
      this.translation.clear();
      return CmdStatus.HARDWARE_ERROR;
    }
    this.latched.pasidEnabled = c.pasidEnabled;
    this.latched.pasid = c.pasid;
    this.wqOn = true;
    this.regs.set(this.wqcfg, this.wqcfg.fields.wqState, 0, 1);
    this.connectPortals(true);
    return 0;
  }

  /** Unbinds the virtual WQ: portals disconnected, translation gone, WQCFG.wq_state 0. */
  private disableWq(): void {
    this.connectPortals(false);
    this.translation.clear();
    this.wqOn = false;
    this.regs.set(this.wqcfg, this.wqcfg.fields.wqState, 0, 0);
  }

  /**
   * Abandons this vdev's descriptors — queued, in flight, and the one executing when this runs from a
   * callback of it (it stops at once: no more DMA, record or interrupt) — through the host WQ's purge:
   * Abort PASID with its host PASID (touching no other user's work), or, when the parent cannot take
   * a command now (a host command in progress or timed out), removal from the WQ without one. Nothing
   * of the vdev can run once it returns (§7.4, §9).
   */
  private abortWork(): void {
    if (this.revokedFlag) return;
    this.wq.purge(this.hostPasid);
  }

  private finishWait(kind: VdevWaitKind): void {
    if (kind === 'drain') return;
    this.disableWq();
    if (kind === 'disable-device') this.setState(DeviceState.DISABLED);
  }

  /** RESET_DEVICE: abort, disable the WQ, free the handles, reset BAR0 but CMD, CMDSTS, SWERR (and the MSI-X table, kept by the capability). */
  private resetDevice(): void {
    this.connectPortals(false);
    this.abortWork();
    this.disableWq();
    this.handles.releaseAll();
    this.bar2.reset();
    this.regs.reset(true);
    this.stateValue = DeviceState.DISABLED;
    if (this.revokedFlag) this.setState(DeviceState.HALT);
  }

  /**
   * VFIO reset, the guest's function-level reset, close and remove: as a fresh vdev (config space was
   * reset by the adapter or the FLR), triggers untouched.
   */
  private resetState(): void {
    this.commands.cancel();
    this.resetDevice();
    this.regs.reset(false);
    this.queue.length = 0;
    this.stopReplay();
    this.interrupts.vector0Held = false;
    if (this.revokedFlag) this.setState(DeviceState.HALT);
  }

  /** Whether the portals should reach the backing WQ; they do unless the vdev is stopped. */
  private connectPortals(on: boolean): void {
    this.portalsWanted = on;
    this.portals.setConnected(on && !this.stopped && this.queue.length === 0);
  }

  private setState(s: number): void {
    this.stateValue = s;
    this.regs.set(VDEV_GENSTS, VDEV_GENSTS.fields.state, 0, s);
  }

  // ---------------------------------------------------------------- errors and halt

  /**
   * An error the parent reported for this vdev's descriptors (routed by the host driver by WQ and
   * host PASID) goes into the vdev's SWERR with the guest's PASID and WQ index 0 (§8.2).
   */
  private forwardError(rec: SoftwareErrorRecord): void {
    if (this.destroyed) return;
    const e = this.interrupts.scratch;
    e.clear();
    e.code = rec.code;
    e.descValid = rec.descValid;
    e.wqIndexValid = rec.wqIndexValid;
    e.wqIndex = 0;
    e.batchMember = rec.batch;
    e.rw = rec.write;
    // A guest WQ without PASIDs has no privilege to report, whatever the backing WQ runs with.
    e.priv = rec.priv && (this.mode === 'shared' || this.latched.pasidEnabled);
    e.opcode = rec.opcode;
    e.pasid = rec.descValid && rec.pasid === this.hostPasid ? this.guestPasid() : 0;
    e.batchIndex = rec.batchIndex;
    e.errorInfo = rec.errorInfo;
    e.addressLo = rec.addressLo;
    e.addressHi = rec.addressHi;
    this.interrupts.report(e);
  }

  /** The guest PASID this vdev's descriptors run with (0 on a dedicated WQ without pasid_en: the default space). */
  private guestPasid(): number {
    return this.mode === 'shared' || this.latched.pasidEnabled ? this.latched.pasid : 0;
  }

  /**
   * A shared vdev's portal dropped a descriptor (never run) and it is reported here, in this vdev's
   * SWERR only: `'pasid'`, a guest PASID it has no translation for (0x55, never run in another
   * address space); `'priv'`, Priv = 1 while the guest has not enabled PASID privileged mode in the
   * vdev's PASID capability (0x1D, as the device reports it — the parent's own capability, which the
   * host driver enables, must not grant the guest privilege it did not enable).
   */
  private rejected(guest: number, src: Uint8Array, off: number, reason: 'pasid' | 'priv'): void {
    const e = this.interrupts.scratch;
    e.clear();
    e.code = reason === 'pasid' ? VdevErrorCode.PASID_REJECTED : Status.PRIV_BAD;
    e.descValid = true;
    e.wqIndexValid = true;
    e.wqIndex = 0;
    e.opcode = descOpcodeAt(src, off);
    e.pasid = guest;
    e.priv = descPrivAt(src, off);
    this.interrupts.report(e);
  }

  private commandRegisterChanged(old: number, now: number): void {
    // A stopped vdev changes nothing and raises nothing: the halt, if bus mastering is still off, comes when it runs again.
    if (!this.stopped && this.commands.losesBusMaster(old, now)) this.commands.halt();
  }

  /**
   * §3.3: bus mastering cleared while Enabled halts the vdev (the command unit's sequence: SWERR 0x51,
   * this clean-up, GENSTS = Halt with reset type FLR, an active command completed with 0x03, the halt
   * interrupt if GENCTRL enables it). The vdev's work is abandoned and its WQ disabled (a halted
   * device takes no descriptor).
   */
  private abandonForHalt(): void {
    this.queue.length = 0;
    this.stopReplay();
    this.connectPortals(false);
    this.abortWork();
    this.disableWq();
  }

  // ---------------------------------------------------------------- migration (vidxd-device.md §10)

  /**
   * RUNNING → STOP (§10.1): stop accepting new work — the portals handed out answer as a disabled WQ,
   * trapped submissions are queued — then let the parent run until every descriptor the WQ accepted
   * from this vdev has completed (records written, interrupts raised while the triggers are still
   * installed). Descriptors that cannot complete without an answer from outside (memory reached only
   * by messages) and have had no effect yet are taken back and queued, to be submitted again when the
   * vdev runs (here, or on the destination). One in the middle of its write-back can neither: the arc
   * fails with EAGAIN and the vdev runs on as before (the VMM tries again once the write-back is
   * acknowledged). Once stopped, nothing of the vdev runs: BAR0 writes are ignored, vector 0 is held.
   */
  private stopForMigration(): void {
    this.stopped = true;
    this.portals.setConnected(false);
    this.bar2.trap = (page, src, off) => this.trapped(page, src, off);
    let left = this.revokedFlag ? 0 : this.wq.occupancyOf(this.hostPasid);
    if (left > 0) {
      try {
        left = this.wq.quiesce(this.hostPasid);
      } catch (e) {
        if (!(e instanceof HostError)) throw e;
      }
    }
    if (left > 0) {
      let back: ReturnType<HostWq['withdraw']> = null;
      try {
        back = this.wq.withdraw(this.hostPasid);
      } catch (e) {
        if (!(e instanceof HostError)) throw e;
      }
      if (back === null) {
        this.unstop();
        this.replay();
        throw new MigrationArcError('EAGAIN', 'migration: a descriptor of the vdev is writing back to memory reached only by messages; try again once it is acknowledged', false);
      }
      const page = this.mode === 'dedicated' ? 0 : 1;
      this.queue.unshift(...back.map((d) => ({ page, bytes: d.bytes })));
    }
    this.commands.suspend();
    this.bar0.frozen = true;
    this.interrupts.holding = true;
  }

  /** Leaves the stopped state without replaying (the replay, if any, is the caller's). */
  private unstop(): void {
    this.stopped = false;
    this.bar0.frozen = false;
    this.bar2.trap = null;
    this.interrupts.holding = false;
  }

  /**
   * STOP → RUNNING (§10.1): the effects deferred while stopped (a halt for bus mastering cleared
   * meanwhile), the queue replayed in order, a waiting command re-evaluated, and vector 0 raised when
   * it was held (a cause recorded while stopped, or handles revoked by the migration, §10.4).
   */
  private runAfterMigration(): void {
    this.unstop();
    this.interrupts.holding = true;
    if (!this.pci.busMaster && this.commands.working) this.commands.halt();
    this.replay();
    this.commands.recheck();
    this.interrupts.release();
  }

  /**
   * A trapped submission while stopped: queued (at most the WQ size; one more is dropped with SWERR
   * 0x53, as a full WQ does) when the vdev's portals would have taken it; otherwise dropped as a
   * disconnected portal drops it.
   */
  private trapped(page: number, src: Uint8Array, off: number): void {
    if (!this.portalsWanted) return;
    if (this.queue.length >= this.presented.wqSize) {
      const e = this.interrupts.scratch;
      e.clear();
      e.code = SoftwareErrorCode.DWQ_FULL;
      e.descValid = true;
      e.wqIndexValid = true;
      e.wqIndex = 0;
      e.opcode = descOpcodeAt(src, off);
      e.pasid = this.mode === 'shared' ? descPasidAt(src, off) : this.guestPasid();
      e.priv = this.mode === 'shared' && descPrivAt(src, off);
      this.interrupts.report(e);
      return;
    }
    this.queue.push({ page, bytes: src.slice(off, off + 64) });
  }

  /**
   * Submits the queue in order through the vdev's portals (connected for it). A shared WQ that answers
   * Retry keeps the rest queued, the portals off (the guest's own submissions answer Retry, so none
   * overtakes them), until the parent makes progress. Then the portals are as the vdev wants them.
   */
  private replay(): void {
    this.stopReplay();
    if (this.queue.length > 0 && this.wqOn) {
      this.portals.setConnected(true);
      let done = 0;
      for (; done < this.queue.length; done++) {
        const q = this.queue[done] as QueuedDescriptor;
        if (this.portals.page(q.page).submit(q.bytes, 0) === SubmitStatus.RETRY) break;
      }
      this.queue.splice(0, done);
      if (this.queue.length > 0) this.waitForRoom();
    } else {
      this.queue.length = 0;
    }
    this.portals.setConnected(this.portalsWanted && !this.stopped && this.queue.length === 0);
  }

  private waitForRoom(): void {
    try {
      this.unwatchReplay = this.wq.onProgress(() => {
        if (!this.stopped) this.replay();
      });
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
      this.queue.length = 0;
    }
  }

  private stopReplay(): void {
    const u = this.unwatchReplay;
    this.unwatchReplay = null;
    u?.();
  }

  /** The vdev's state as a record of the stream (§10.2); `final` adds the half-assembled slots and the queue. */
  private capture(final: boolean): VdevImage {
    const snap = this.pci.snapshot();
    const cfgSize = this.pci.config.size;
    const regs = this.regs.value.slice();
    // Occupancy is read live; the stream carries none (the destination counts its own).
    const occ = this.regs.dwordIndex(this.wqcfg, 0, this.wqcfg.fields.occupancy.lo >>> 5);
    regs[occ] = ((regs[occ] as number) & ~0xffff) >>> 0;
    const waits = ['drain', 'disable-wq', 'disable-device'] as const;
    return {
      kind: final ? MigRecordKind.FINAL : MigRecordKind.PRECOPY,
      mode: this.mode,
      facts: this.presented,
      config: snap.slice(16, 16 + cfgSize),
      capState: snap.slice(16 + cfgSize),
      regs,
      device: {
        state: this.stateValue,
        wqOn: this.wqOn,
        portalsOn: this.portalsWanted,
        latchedPasidEnabled: this.latched.pasidEnabled,
        latchedPasid: this.latched.pasid,
        commandActive: this.commands.active,
        commandIntReq: this.commands.active && this.commands.interruptRequested,
        waitKind: this.commands.waiting === null ? 0 : waits.indexOf(this.commands.waiting) + 1,
        vector0Pending: this.interrupts.vector0Held,
      },
      handles: this.handles.held(),
      slots: final ? this.bar2.halfSlots() : [],
      queue: final ? this.queue.map((q) => ({ page: q.page, bytes: q.bytes.slice() })) : [],
    };
  }

  /**
   * RESUMING → STOP (§10.3, §10.4): checks `image` (the saved facts, every field, read-only bits, the
   * destination's ability to honour the facts), then takes what the parent must give (the WQ binding,
   * a handle for every vector that had one), then applies it: the vdev presents the saved facts and
   * holds exactly the saved guest-visible state, queued descriptors naming the new handles, and
   * "handles revoked" pending when a number the guest holds changed. Any failure leaves the vdev at
   * reset state (the caller resets it) and throws.
   */
  private load(image: VdevImage): void {
    const t = checkImage(image, { mode: this.mode, own: this.ownFacts, presented: this.presented, regs: this.regs, pci: this.pci, wqcfg: this.wqcfg });
    const d = image.device;
    const wqcfg = this.wqcfg;
    const field = (f: FieldBits): number => fieldOf(image.regs[this.regs.dwordIndex(wqcfg, 0, f.lo >>> 5)] as number, f);
    // What the parent must give, before anything is changed.
    if (this.revokedFlag) throw new MigStreamError('the parent took back the vdev\'s resources (a forced reset): it cannot run the saved state');
    if (d.wqOn) {
      if (!this.wq.enabled) throw new MigStreamError('the backing WQ is not enabled: the destination cannot run the saved virtual WQ');
      if (this.mode === 'dedicated') {
        const priv = d.latchedPasidEnabled ? field(wqcfg.fields.priv) === 1 : this.host.pasidState?.pasidPrivileged === true;
        if ((this.wq.pasid !== this.hostPasid || this.wq.priv !== priv) && !this.hostCall(() => this.wq.bindPasid(this.hostPasid, priv))) {
          throw new MigStreamError('the host driver refused to bind the backing WQ');
        }
      }
    }
    let map: Map<number, number>;
    try {
      map = this.handles.adopt(image.handles);
    } catch (e) {
      if (e instanceof HostError) throw new MigStreamError(`the parent has no interrupt handle left for the saved vectors (${e.message})`);
      throw e;
    }
    // Apply.
    const before = this.presented;
    try {
      this.apply(image, t, map);
    } catch (e) {
      this.present(before);
      throw e;
    }
  }

  private apply(image: VdevImage, t: ImageTemplates, map: ReadonlyMap<number, number>): void {
    const d = image.device;
    this.present(image.facts, t);
    const snap = new Uint8Array(16 + image.config.length + image.capState.length);
    snap.set(this.pci.snapshot().subarray(0, 16));
    snap.set(image.config, 16);
    snap.set(image.capState, 16 + image.config.length);
    this.pci.restore(snap);
    this.regs.value.set(image.regs);
    this.stateValue = d.state;
    this.wqOn = d.wqOn;
    this.latched.pasidEnabled = d.latchedPasidEnabled;
    this.latched.pasid = d.latchedPasid;
    this.portalsWanted = d.portalsOn;
    this.translation.clear();
    if (d.wqOn && this.mode === 'shared') this.translation.set(d.latchedPasid, this.hostPasid);
    const waits = [null, 'drain', 'disable-wq', 'disable-device'] as const;
    this.commands.load(d.commandActive, d.commandIntReq, waits[d.waitKind] ?? null);
    this.bar2.loadSlots(image.slots);
    this.queue.length = 0;
    for (const q of image.queue) this.queue.push({ page: q.page, bytes: translateHandle(q.bytes, map) });
    let revoked = false;
    for (const [from, to] of map) if (from !== to) revoked = true;
    this.interrupts.vector0Held = d.vector0Pending;
    if (revoked) this.interrupts.raiseCause(VDEV_INTCAUSE.fields.handlesRevoked);
  }

  /**
   * Presents `facts` (§10.3): resets return to their register and config values from now on. `t` gives
   * the templates a checked image brought (built from `facts`); without it they are built here.
   */
  private present(facts: VdevFacts, t?: ImageTemplates): void {
    if (facts === this.presented) return;
    if (JSON.stringify(facts) !== JSON.stringify(this.presented)) {
      const regs = t?.regs ?? new RegisterFile(vdevRegisterContext(facts), VDEV_BLOCKS[this.mode], VDEV_BAR0_SIZE);
      const pci = t?.pci ?? buildVdevFunction(facts).fn;
      this.regs.adoptResetImage(regs);
      this.pci.config.adoptResetImage(pci.config);
    }
    this.presented = facts;
  }
}

/**
 * A queued descriptor with its completion interrupt handle translated (§10.4): a descriptor that asks
 * for a completion interrupt and names a handle the guest held on the source names the destination's
 * handle of the same vector; any other is left as it is.
 */
function translateHandle(bytes: Uint8Array, map: ReadonlyMap<number, number>): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  if ((v.getUint32(Desc.FLAGS, true) & Flag.RCI) === 0) return out;
  const to = map.get(v.getUint16(Desc.INT_HANDLE, true));
  if (to !== undefined) v.setUint16(Desc.INT_HANDLE, to, true);
  return out;
}

/** Throws a plain `Error` unless `limit` is a {@link SharedLimit}. */
export function checkSharedLimit(limit: SharedLimit): void {
  if (limit !== 'fair' && limit !== 'none' && !(Number.isInteger(limit) && limit >= 1 && limit <= 0xffff)) {
    throw new Error(`vidxd: sharedLimit ${String(limit)} is not 'fair', 'none' or an integer in 1..65535`);
  }
}

/** The share of shared WQ `wq` for a vdev with `limit` (null for `'none'`). */
function openShare(wq: HostWq, limit: SharedLimit): WqShare | null {
  if (limit === 'none') return null;
  return wq.portal({ ims: true, limited: true }).openShare(limit === 'fair' ? 0 : limit);
}
