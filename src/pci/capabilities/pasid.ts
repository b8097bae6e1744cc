/** Process Address Space ID extended capability (ID 0x001B, version 1, 8 bytes). */
import { CapabilityBase } from '../capability.js';
import type { ConfigSpace } from '../config-space.js';
import { ExtCapabilityId, PasidCap, PasidControl, PasidReg } from '../spec.js';

/** Options of {@link PasidCapability}. */
export interface PasidOptions {
  /** Max PASID Width, 0..20 bits. Default 20. */
  readonly maxWidth?: number;
  /** Execute Permission Supported. Default false. */
  readonly execute?: boolean;
  /** Privileged Mode Supported. Default false. */
  readonly privileged?: boolean;
}

const CAP = PasidReg.CAPABILITY;
const CTRL = PasidReg.CONTROL;

/** PASID: capability read-only; enable writable, execute/privileged enables writable only when supported. */
export class PasidCapability extends CapabilityBase {
  /** {@inheritDoc Capability.id} */
  readonly id = ExtCapabilityId.PASID;
  /** {@inheritDoc Capability.extended} */
  readonly extended = true;
  /** {@inheritDoc Capability.length} */
  readonly length = 8;
  /** Max PASID Width in bits. */
  readonly maxWidth: number;
  private readonly execute: boolean;
  private readonly privileged: boolean;

  /** Declares a PASID capability; throws on a width outside 0..20. */
  constructor(options: PasidOptions = {}) {
    super();
    const width = options.maxWidth ?? 20;
    if (!Number.isInteger(width) || width < 0 || width > 20) throw new Error(`PASID: max width ${width} is outside 0..20`);
    this.maxWidth = width;
    this.execute = options.execute ?? false;
    this.privileged = options.privileged ?? false;
  }

  /** Defines the registers after the header: reset values and guest masks. */
  protected define(space: ConfigSpace, offset: number): void {
    space.init(offset + CAP, 2, (this.execute ? PasidCap.EXECUTE : 0) | (this.privileged ? PasidCap.PRIVILEGED : 0) | (this.maxWidth << PasidCap.WIDTH_SHIFT));
    space.init(
      offset + CTRL, 2, 0,
      PasidControl.ENABLE | (this.execute ? PasidControl.EXECUTE : 0) | (this.privileged ? PasidControl.PRIVILEGED : 0),
    );
  }

  /** PASID enabled by the guest. */
  get enabled(): boolean {
    return (this.reg(CTRL, 2) & PasidControl.ENABLE) !== 0;
  }

  /** Execute Permission Enable. */
  get executeEnabled(): boolean {
    return (this.reg(CTRL, 2) & PasidControl.EXECUTE) !== 0;
  }

  /** Privileged Mode Enable. */
  get privilegedEnabled(): boolean {
    return (this.reg(CTRL, 2) & PasidControl.PRIVILEGED) !== 0;
  }
}
