/** Page Request Interface extended capability (ID 0x0013, version 1, 16 bytes). */
import { CapabilityBase } from '../capability.js';
import type { ConfigSpace } from '../config-space.js';
import { ExtCapabilityId, PriControl, PriReg, PriStatus } from '../spec.js';

/** Options of {@link PriCapability}. */
export interface PriOptions {
  /** Outstanding Page Request Capacity (32 bits). Default 1. */
  readonly outstandingCapacity?: number;
  /** PRG Response PASID Required (status bit 15). Default false. */
  readonly responsePasidRequired?: boolean;
}

const { CONTROL: CTRL, STATUS, CAPACITY, ALLOCATION } = PriReg;

/**
 * PRI: control enable writable; control reset reads 0 (writing 1 while disabled is the reset
 * action, which has nothing to clear in this model); Stopped is set at reset and whenever the guest
 * clears enable, cleared when it sets enable (Linux checks it before enabling); response failure and
 * UPRGI are RW1C and set by the device model; allocation is writable.
 */
export class PriCapability extends CapabilityBase {
  /** {@inheritDoc Capability.id} */
  readonly id = ExtCapabilityId.PRI;
  /** {@inheritDoc Capability.extended} */
  readonly extended = true;
  /** {@inheritDoc Capability.length} */
  readonly length = 16;
  private readonly capacity: number;
  private readonly pasidRequired: boolean;

  /** Declares a PRI capability; throws on a capacity that is not a 32-bit unsigned integer. */
  constructor(options: PriOptions = {}) {
    super();
    const cap = options.outstandingCapacity ?? 1;
    if (!Number.isInteger(cap) || cap < 0 || cap > 0xffffffff) throw new Error(`PRI: outstanding capacity ${cap} is not a 32-bit value`);
    this.capacity = cap;
    this.pasidRequired = options.responsePasidRequired ?? false;
  }

  /** Defines the registers after the header: reset values and guest masks. */
  protected define(space: ConfigSpace, offset: number): void {
    space.init(offset + CTRL, 2, 0, PriControl.ENABLE | PriControl.RESET);
    space.init(
      offset + STATUS, 2,
      PriStatus.STOPPED | (this.pasidRequired ? PriStatus.PASID_REQUIRED : 0),
      0,
      PriStatus.RESPONSE_FAILURE | PriStatus.UNEXPECTED_PRG_INDEX,
      PriStatus.STOPPED,
    );
    space.init(offset + CAPACITY, 4, this.capacity);
    space.init(offset + ALLOCATION, 4, 0, 0xffffffff);
  }

  /** PRI enabled by the guest. */
  get enabled(): boolean {
    return (this.reg(CTRL, 2) & PriControl.ENABLE) !== 0;
  }

  /** The Stopped status bit. */
  get stopped(): boolean {
    return (this.reg(STATUS, 2) & PriStatus.STOPPED) !== 0;
  }

  /** Outstanding Page Request Allocation programmed by the guest. */
  get allocation(): number {
    return this.reg(ALLOCATION, 4);
  }

  /** Device model: a page request response reported Response Failure (sets the RW1C status bit). */
  signalResponseFailure(): void {
    this.poke(STATUS, 2, this.reg(STATUS, 2) | PriStatus.RESPONSE_FAILURE);
  }

  /** Device model: a response carried an unexpected page request group index (sets the RW1C status bit). */
  signalUnexpectedGroupIndex(): void {
    this.poke(STATUS, 2, this.reg(STATUS, 2) | PriStatus.UNEXPECTED_PRG_INDEX);
  }

  /** Keeps Reset reading 0 and Stopped in step with Enable. */
  afterWrite(offset: number, size: number, oldValue: number): void {
    if (offset > CTRL || offset + size <= CTRL) return;
    const before = (oldValue >>> (8 * (CTRL - offset))) & 0xff;
    const ctrl = this.reg(CTRL, 1);
    if ((ctrl & PriControl.RESET) !== 0) this.poke(CTRL, 1, ctrl & ~PriControl.RESET);
    const was = (before & PriControl.ENABLE) !== 0;
    const is = (ctrl & PriControl.ENABLE) !== 0;
    if (was === is) return;
    const status = this.reg(STATUS, 2);
    this.poke(STATUS, 2, is ? status & ~PriStatus.STOPPED : status | PriStatus.STOPPED);
  }
}
