/**
 * The virtual idxd device (vidxd-device.md §3–§9): a PCI function (config.ts), a BAR0 register file
 * compiled from the vdev's table (registers.ts) with its command dispatch (command-unit.ts over the
 * command table of commands.ts), a BAR2 of portal pages bound to ONE host WQ (portals.ts, bar2.ts),
 * the interrupt plumbing (vector 0 and SWERR in interrupts.ts, completion handles in handles.ts) and
 * the lifecycle of §9. It reaches the parent only through the host driver: its WQ object (claim or
 * PASID attach, PASID binding, abort, occupancy, portals, progress) and its interrupt-handle and
 * PASID allocation. It is exposed through the generic PCI-to-VFIO adapter ({@link Vdev.ops}).
 */
import { CmdStatus, descOpcodeAt, descPrivAt, DeviceState, type PasidPolicy, type Portal, type RegisterFile, SoftwareErrorCode, Status } from '../dsa/index.js';
import { HostError, type HostWq, type IdxdHost, type SoftwareErrorRecord, type WqOwner } from '../host/index.js';
import type { AddressSpace } from '../memory/index.js';
import { Command as PciCommand, type MsixCapability, type PciFunction } from '../pci/index.js';
import { type PciVfioAdapter, pciVfioOps } from '../vfio/index.js';
import { VdevBar0 } from './bar0.js';
import { VdevBar2 } from './bar2.js';
import { VdevCommandUnit, type VdevWaitSupport } from './command-unit.js';
import type { VdevCommandContext, VdevPciState, VdevWaitKind, VdevWqConfig } from './commands.js';
import { buildVdevFunction, type VdevPciParts } from './config.js';
import { type VdevFacts, vdevFacts, type VdevMode } from './facts.js';
import { VdevHandles } from './handles.js';
import { VdevErrorCode, VdevInterrupts } from './interrupts.js';
import { VDEV_DEFAULT_VECTORS, VDEV_PORTAL_BAR, VDEV_REGISTER_BAR } from './layout.js';
import { VdevPortals } from './portals.js';
import { vdevRegisterFile } from './register-templates.js';
import { VDEV_GENCFG, VDEV_GENCTRL, VDEV_GENSTS, VDEV_INTCAUSE, VDEV_WQCAP, vdevWqcfg } from './registers.js';

/** Options of a {@link Vdev}. */
export interface VdevOptions {
  /** The host driver of the parent (probed, configured). */
  readonly host: IdxdHost;
  /** The backing WQ: dedicated (taken for the vdev's lifetime) or shared. */
  readonly wq: HostWq;
  /** MSI-X vectors, 1..16 (default 2). */
  readonly vectors?: number;
}

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
  /** The parent's and the backing WQ's values the vdev presents. */
  readonly facts: VdevFacts;
  /** The backing WQ (the host driver's object). */
  readonly wq: HostWq;
  /** The host PASID every descriptor of this vdev runs with (allocated from the host driver). */
  readonly hostPasid: number;
  /** The PCI function (config space). */
  readonly pci: PciFunction;
  /** Its MSI-X capability. */
  readonly msix: MsixCapability;
  /** The BAR0 register file. */
  readonly regs: RegisterFile;
  /** BAR0 as a region handler (trapped). */
  readonly bar0: VdevBar0<Portal>;
  /** BAR2 as a region handler (mmap: the bound portals; trapped writes). */
  readonly bar2: VdevBar2;
  /** The command dispatch. */
  readonly commands: VdevCommandUnit;
  /** Vector 0 and SWERR. */
  readonly interrupts: VdevInterrupts;
  /** The VFIO device operations (the generic PCI adapter over the function and BAR handlers). */
  readonly ops: PciVfioAdapter<Portal>;
  private readonly host: IdxdHost;
  private readonly caps: VdevPciParts;
  private readonly handles: VdevHandles;
  private readonly portals: VdevPortals;
  /** Shared vdev: the one guest PASID → host PASID translation of its portals (empty while the WQ is disabled). */
  private readonly translation = new Map<number, number>();
  private readonly owner: WqOwner;
  private readonly wqcfg: ReturnType<typeof vdevWqcfg>;
  private readonly latched: Latched = { pasidEnabled: false, pasid: 0 };
  /** Dedicated vdev: the backing WQ's PASID binding before the vdev took it (restored at remove). */
  private readonly original: { readonly pasid: number | null; readonly priv: boolean };
  private stateValue: number = DeviceState.DISABLED;
  private wqOn = false;
  private attachedSpace: AddressSpace | null = null;
  private destroyed = false;

  /**
   * Builds a vdev at reset state on `options.wq`: allocates its host PASID (no address space until
   * an IOAS is attached), and takes the WQ — a dedicated WQ is claimed (locked away from every other
   * user until {@link destroy}) and programmed with the vdev's PASID; on a shared WQ the PASID is
   * attached so its errors are routed here. Throws `HostError` when the host driver refuses
   * (nothing is left allocated), a plain `Error` for a bad vector count.
   */
  constructor(options: VdevOptions) {
    const { host, wq } = options;
    this.host = host;
    this.wq = wq;
    this.mode = wq.dedicated ? 'dedicated' : 'shared';
    this.facts = vdevFacts(host, wq, this.mode, options.vectors ?? VDEV_DEFAULT_VECTORS);
    this.caps = buildVdevFunction(this.facts);
    this.pci = this.caps.fn;
    this.msix = this.caps.msix;
    this.wqcfg = vdevWqcfg(this.mode);
    this.regs = vdevRegisterFile(host, this.facts);
    this.interrupts = new VdevInterrupts(this.regs, this.msix);
    this.commands = new VdevCommandUnit(this.regs, this.interrupts, this.commandContext(), this.waitSupport());
    this.regs.connect({
      window: this.msix,
      hooks: {
        // §5.1 step 1: the BAR0 handler refuses any other size before the register file is reached.
        CMD: (_i, _offset, size, value) => {
          if (size === 4) this.commands.write(value);
        },
      },
      refresh: { WQCFG: () => this.refreshOccupancy() },
      writable: (lock) => (lock === 'device-disabled' ? this.stateValue === DeviceState.DISABLED : !this.wqOn),
    });
    this.owner = { onError: (rec) => this.forwardError(rec) };
    this.original = { pasid: this.mode === 'dedicated' ? wq.pasid : null, priv: this.mode === 'dedicated' ? wq.priv : false };
    this.hostPasid = host.allocatePasid(null);
    try {
      this.handles = new VdevHandles(host, this.hostPasid, this.facts.vectors, (v) => this.interrupts.completion(v));
      this.portals = new VdevPortals(wq, this.mode, this.portalPolicy());
      this.takeWq();
    } catch (e) {
      host.freePasid(this.hostPasid);
      throw e;
    }
    this.bar0 = new VdevBar0(this.regs);
    this.bar2 = new VdevBar2(this.mode, this.portals);
    this.pci.onCommandChange((old, now) => this.commandRegisterChanged(old, now));
    // §3.3: a guest's FLR (DevCtl bit 15) is exactly VFIO_DEVICE_RESET; config space is reset already.
    this.pci.onFunctionReset(() => this.resetState());
    this.ops = pciVfioOps<Portal>(this.pci, {
      bars: { [VDEV_REGISTER_BAR]: this.bar0, [VDEV_PORTAL_BAR]: this.bar2 },
      onClose: () => {
        this.resetState();
        this.portals.renew();
      },
      onReset: () => this.resetState(),
      onAttachIoas: (space) => this.attachSpace(space),
    });
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
    return this.wq.occupancyOf(this.hostPasid);
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
    this.hostCall(() => {
      if (this.mode === 'dedicated') {
        if (this.wq.pasid !== this.original.pasid || this.wq.priv !== this.original.priv) this.wq.bindPasid(this.original.pasid, this.original.priv);
      }
    });
    this.hostCall(() => (this.mode === 'dedicated' ? this.wq.release(this.owner) : this.wq.detachPasid(this.hostPasid)));
    this.hostCall(() => this.host.freePasid(this.hostPasid));
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

  /** The IOAS attached (or detached, null): the vdev's host PASID translates through its space in the parent's IOMMU. */
  private attachSpace(space: AddressSpace | null): void {
    this.attachedSpace = space;
    this.hostCall(() => this.host.setPasidSpace(this.hostPasid, space));
  }

  private refreshOccupancy(): void {
    const n = this.destroyed ? 0 : this.wq.occupancyOf(this.hostPasid);
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
      vectors: this.facts.vectors,
      pciState: () => this.pciState(),
      wqConfig: () => this.wqConfig(),
      readBufferLimit: () => this.regs.get(VDEV_GENCFG, VDEV_GENCFG.fields.rdbufLimit),
      enterEnabled: () => this.setState(DeviceState.ENABLED),
      enterDrain: () => this.setState(DeviceState.DRAIN),
      enableWq: (c) => this.enableWq(c),
      stopWq: () => this.portals.setConnected(false),
      disableWq: () => this.disableWq(),
      abortWork: () => this.abortWork(),
      beginWait: (kind) => this.commands.beginWait(kind),
      isGuestPasid: (pasid) => this.wqOn && (this.mode === 'shared' || this.latched.pasidEnabled) && pasid === this.latched.pasid,
      resetDevice: () => this.resetDevice(),
      requestHandle: (vector) => this.handles.request(vector),
      releaseHandle: (handle) => this.handles.release(handle),
    };
  }

  private waitSupport(): VdevWaitSupport {
    return {
      idle: () => this.wq.occupancyOf(this.hostPasid) === 0,
      watch: (listener) => {
        try {
          return this.wq.onProgress(listener);
        } catch (e) {
          // A parent that reports no progress: the command stays active until a VFIO reset (never an exception to the VMM).
          if (e instanceof HostError) return () => {};
          throw e;
        }
      },
      finishWait: (kind) => this.finishWait(kind),
    };
  }

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
    this.portals.setConnected(true);
    return 0;
  }

  /** Unbinds the virtual WQ: portals disconnected, translation gone, WQCFG.wq_state 0. */
  private disableWq(): void {
    this.portals.setConnected(false);
    this.translation.clear();
    this.wqOn = false;
    this.regs.set(this.wqcfg, this.wqcfg.fields.wqState, 0, 0);
  }

  /** Abandons this vdev's queued descriptors: Abort PASID with its host PASID touches no other user's work. */
  private abortWork(): void {
    if (this.wq.occupancyOf(this.hostPasid) === 0) return;
    this.hostCall(() => this.wq.abort(this.hostPasid));
  }

  private finishWait(kind: VdevWaitKind): void {
    if (kind === 'drain') return;
    this.disableWq();
    if (kind === 'disable-device') this.setState(DeviceState.DISABLED);
  }

  /** RESET_DEVICE: abort, disable the WQ, free the handles, reset BAR0 but CMD, CMDSTS, SWERR (and the MSI-X table, kept by the capability). */
  private resetDevice(): void {
    this.portals.setConnected(false);
    this.abortWork();
    this.disableWq();
    this.handles.releaseAll();
    this.bar2.reset();
    this.regs.reset(true);
    this.stateValue = DeviceState.DISABLED;
  }

  /**
   * VFIO reset, the guest's function-level reset, close and remove: as a fresh vdev (config space was
   * reset by the adapter or the FLR), triggers untouched.
   */
  private resetState(): void {
    this.commands.cancel();
    this.resetDevice();
    this.regs.reset(false);
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
    const lost = (old & PciCommand.BUS_MASTER) !== 0 && (now & PciCommand.BUS_MASTER) === 0;
    if (lost && (this.stateValue === DeviceState.ENABLED || this.stateValue === DeviceState.DRAIN)) this.halt();
  }

  /**
   * §3.3: bus mastering cleared while Enabled. SWERR 0x51; the vdev's work is abandoned and its WQ
   * disabled (a halted device takes no descriptor); GENSTS = Halt with reset type 1 (FLR); an active
   * command completes with 0x03; the halt interrupt if GENCTRL enables it.
   */
  private halt(): void {
    this.interrupts.reportDevice(SoftwareErrorCode.PCI_CFG);
    this.portals.setConnected(false);
    this.abortWork();
    this.disableWq();
    this.setState(DeviceState.HALT);
    this.regs.set(VDEV_GENSTS, VDEV_GENSTS.fields.resetType, 0, 1);
    this.commands.halt();
    if (this.regs.flag(VDEV_GENCTRL, VDEV_GENCTRL.fields.haltIntEn)) this.interrupts.raiseCause(VDEV_INTCAUSE.fields.halt);
  }
}
