/**
 * Interrupts of the DSA model (dsa-operations.md §4.3, vidxd-device.md §8): completion interrupts
 * through the MSI-X table (checked against MSIX_PERM) or the interrupt-handle (IMS) table, the
 * handle table of Request/Release Interrupt Handle, and the vector-0 causes recorded in INTCAUSE.
 */
import type { MsixCapability } from '../../pci/index.js';
import { CmdStatus } from '../spec/cmdsts.js';
import type { InterruptSink } from '../engine/context.js';
import { type FieldDef, fieldMask } from '../spec/register-def.js';
import { IMS_ENTRY_SIZE, MSIX_PERM_SIZE } from '../spec/layout.js';
import type { RegisterFile } from './register-file.js';
import { IMS_ENTRY, INTCAUSE, MSIX_PERM } from './registers.js';
import { type DsaProfile, imsEntries, msixVectors } from '../spec/profile.js';

/** Delivers interrupt-handle (IMS) entry `entry`; returns false when nobody listens (the entry then pends). */
export type ImsDelivery = (entry: number) => boolean;

/** Delivers MSI-X vector `vector`; returns false when nobody listens (the vector then pends). */
export type VectorDelivery = (vector: number) => boolean;

const fbit = fieldMask;
/** Dwords per MSIX_PERM entry and per IMS entry; the IMS dword holding mask/pending/PASID. */
const PERM_DWORDS = MSIX_PERM_SIZE >>> 2;
const IMS_DWORDS = IMS_ENTRY_SIZE >>> 2;
const IMS_CONTROL = IMS_ENTRY.fields.mask.lo >>> 5;

/**
 * Masks and shifts of the fields every completion interrupt tests, taken from the tables once: the
 * check and the raise of each interrupting descriptor are then plain bit operations, not field-object
 * look-ups. (The IMS fields all sit in the IMS_CONTROL dword, the MSIX_PERM ones in dword 0.)
 */
const PERM_IGNORE = fbit(MSIX_PERM.fields.ignore);
const PERM_PASID_EN = fbit(MSIX_PERM.fields.pasidEn);
const PERM_PASID_SHIFT = MSIX_PERM.fields.pasid.lo & 31;
const PERM_PASID = fbit(MSIX_PERM.fields.pasid) >>> PERM_PASID_SHIFT;
const IMS_MASK = fbit(IMS_ENTRY.fields.mask);
const IMS_PENDING = fbit(IMS_ENTRY.fields.pending);
const IMS_IGNORE = fbit(IMS_ENTRY.fields.ignore);
const IMS_PASID_EN = fbit(IMS_ENTRY.fields.pasidEn);
const IMS_PASID_SHIFT = IMS_ENTRY.fields.pasid.lo & 31;
const IMS_PASID = fbit(IMS_ENTRY.fields.pasid) >>> IMS_PASID_SHIFT;

/** Completion and device interrupts of one device. */
export class InterruptController implements InterruptSink {
  /** MSI-X vectors. */
  readonly vectors: number;
  /** Entries of the interrupt-handle table. */
  readonly imsEntries: number;
  /** Handles are allocated by command (GENCAP.cmd_cap); else a handle is the table index. */
  readonly handleCommands: boolean;
  private readonly regs: RegisterFile;
  private readonly msix: MsixCapability;
  private readonly busMaster: () => boolean;
  private readonly permBase: number;
  private readonly imsBase: number;
  private readonly causeDword: number;
  private readonly msixHandles: Int32Array;
  private readonly imsHandles: Int32Array;
  private msixHandler: VectorDelivery | null = null;
  private imsHandler: ImsDelivery | null = null;

  /**
   * Wires the controller to the register file and the MSI-X capability; `busMaster` gates every
   * message (a function whose bus mastering is off cannot send one: MSI-X and IMS messages are memory
   * writes). The controller installs the capability's hardware route once, here; a VFIO owner of the
   * function attaches a sink to the capability instead and never replaces the route.
   */
  constructor(profile: DsaProfile, regs: RegisterFile, msix: MsixCapability, busMaster: () => boolean) {
    this.vectors = msixVectors(profile);
    this.imsEntries = imsEntries(profile);
    this.handleCommands = profile.commandCapabilities;
    this.regs = regs;
    this.msix = msix;
    this.busMaster = busMaster;
    this.permBase = regs.dwordIndex(MSIX_PERM, 0);
    this.imsBase = this.imsEntries > 0 ? regs.dwordIndex(IMS_ENTRY, 0) : 0;
    this.causeDword = regs.dwordIndex(INTCAUSE);
    this.msixHandles = new Int32Array(this.vectors).fill(-1);
    this.imsHandles = new Int32Array(this.imsEntries).fill(-1);
    // The hardware route (a host driver owns the function): a vector the table lets through needs bus
    // mastering too — a pending vector an unmask releases while bus mastering is off keeps pending.
    msix.setDelivery((v) => this.busMaster() && this.msixHandler !== null && this.msixHandler(v));
  }

  /** Installs (null: removes) the receiver of MSI-X messages. Pending vectors are delivered if now deliverable. */
  setMsixDelivery(handler: VectorDelivery | null): void {
    this.msixHandler = handler;
    if (handler !== null && this.busMaster()) this.msix.deliverPending();
  }

  /** Installs (null: removes) the receiver of IMS messages. Pending unmasked entries are delivered. */
  setImsDelivery(handler: ImsDelivery | null): void {
    this.imsHandler = handler;
    if (handler !== null) this.redeliver();
  }

  /** Delivers every pending vector and entry that can be delivered now (bus mastering came back). */
  redeliver(): void {
    if (!this.busMaster()) return;
    this.msix.deliverPending();
    for (let e = 0; e < this.imsEntries; e++) this.imsEntryWritten(e);
  }

  // ---------------------------------------------------------------- completion interrupts (engine sink)

  /** The table entry `handle` names (-1: invalid). */
  resolve(handle: number, ims: boolean): number {
    if (!this.handleCommands) return handle < (ims ? this.imsEntries : this.vectors) ? handle : -1;
    const table = ims ? this.imsHandles : this.msixHandles;
    return handle < table.length ? (table[handle] as number) : -1;
  }

  /** {@inheritDoc InterruptSink.validate} */
  validate(handle: number, ims: boolean, pasidEnabled: boolean, pasid: number): boolean {
    const entry = this.resolve(handle, ims);
    if (entry < 0) return false;
    const v = this.regs.value;
    let on: boolean;
    let owner: number;
    if (ims) {
      const ctl = v[this.imsBase + entry * IMS_DWORDS + IMS_CONTROL] as number;
      on = (ctl & IMS_PASID_EN) !== 0;
      owner = (ctl >>> IMS_PASID_SHIFT) & IMS_PASID;
    } else {
      const perm = v[this.permBase + entry * PERM_DWORDS] as number;
      on = (perm & PERM_PASID_EN) !== 0;
      owner = (perm >>> PERM_PASID_SHIFT) & PERM_PASID;
    }
    if (on !== pasidEnabled) return false;
    return !pasidEnabled || owner === pasid;
  }

  /** {@inheritDoc InterruptSink.raise} */
  raise(handle: number, ims: boolean): void {
    const entry = this.resolve(handle, ims);
    if (entry < 0) return;
    const v = this.regs.value;
    if (!ims) {
      if (((v[this.permBase + entry * PERM_DWORDS] as number) & PERM_IGNORE) === 0) this.sendMsix(entry);
      return;
    }
    const d = this.imsBase + entry * IMS_DWORDS + IMS_CONTROL;
    const ctl = v[d] as number;
    if ((ctl & IMS_IGNORE) !== 0) return;
    if ((ctl & IMS_MASK) !== 0 || !this.deliverIms(entry)) v[d] = (ctl | IMS_PENDING) >>> 0;
  }

  private deliverIms(entry: number): boolean {
    return this.busMaster() && this.imsHandler !== null && this.imsHandler(entry);
  }

  /** After a software write to IMS entry `entry`: an unmasked pending entry is delivered. */
  imsEntryWritten(entry: number): void {
    const d = this.imsBase + entry * IMS_DWORDS + IMS_CONTROL;
    const ctl = this.regs.value[d] as number;
    if ((ctl & IMS_PENDING) === 0 || (ctl & IMS_MASK) !== 0) return;
    if ((ctl & IMS_IGNORE) !== 0 || this.deliverIms(entry)) this.regs.value[d] = (ctl & ~IMS_PENDING) >>> 0;
  }

  // ---------------------------------------------------------------- vector 0

  /** Records `cause` (an INTCAUSE field) and signals MSI-X vector 0. */
  raiseCause(cause: FieldDef): void {
    this.regs.value[this.causeDword] = ((this.regs.value[this.causeDword] as number) | fbit(cause)) >>> 0;
    this.sendMsix(0);
  }

  /**
   * Sends MSI-X vector `v` through the capability (the table's rules and the hardware route, or the
   * sink of a VFIO owner). With bus mastering off the function cannot send it: it is held in its
   * pending bit and sent when bus mastering comes back ({@link redeliver}), under a host driver and
   * under VFIO alike (vfio-pci passes the user's bus-master enable to the device).
   */
  private sendMsix(v: number): void {
    if (this.busMaster()) this.msix.notify(v);
    else this.msix.hold(v);
  }

  // ---------------------------------------------------------------- handle table

  /**
   * Request Interrupt Handle: a handle for MSI-X vector `index` (1..vectors − 1) or IMS entry
   * `index`. Returns the handle, or minus the CMDSTS error code.
   */
  requestHandle(index: number, ims: boolean): number {
    if (ims && this.imsEntries === 0) return -CmdStatus.NO_HANDLE;
    if (ims ? index >= this.imsEntries : index === 0 || index >= this.vectors) return -CmdStatus.INVALID_INT_INDEX;
    const table = ims ? this.imsHandles : this.msixHandles;
    const free = table.indexOf(-1);
    if (free < 0) return -CmdStatus.NO_HANDLE;
    table[free] = index;
    return free;
  }

  /** Release Interrupt Handle; false when `handle` is not allocated. */
  releaseHandle(handle: number, ims: boolean): boolean {
    const table = ims ? this.imsHandles : this.msixHandles;
    if (handle >= table.length || (table[handle] as number) < 0) return false;
    table[handle] = -1;
    return true;
  }

  /** Frees every handle (Reset Device). */
  releaseAll(): void {
    this.msixHandles.fill(-1);
    this.imsHandles.fill(-1);
  }
}
