/** Address Translation Services extended capability (ID 0x000F, version 1, 8 bytes). */
import { CapabilityBase } from '../capability.js';
import type { ConfigSpace } from '../config-space.js';
import { AtsCap, AtsControl, AtsReg, ExtCapabilityId } from '../spec.js';

/** Options of {@link AtsCapability}. */
export interface AtsOptions {
  /** Invalidate queue depth 1..32 (32 is encoded as 0). Default 32. */
  readonly invalidateQueueDepth?: number;
  /** Page Aligned Request: the function only requests page-aligned translations. Default false. */
  readonly pageAlignedRequest?: boolean;
  /** Global Invalidate Supported. Default false. */
  readonly globalInvalidate?: boolean;
}

const CAP = AtsReg.CAPABILITY;
const CTRL = AtsReg.CONTROL;

/** ATS: capability read-only; control enable and Smallest Translation Unit writable. */
export class AtsCapability extends CapabilityBase {
  /** {@inheritDoc Capability.id} */
  readonly id = ExtCapabilityId.ATS;
  /** {@inheritDoc Capability.extended} */
  readonly extended = true;
  /** {@inheritDoc Capability.length} */
  readonly length = 8;
  private readonly capValue: number;

  /** Declares an ATS capability; throws on a queue depth outside 1..32. */
  constructor(options: AtsOptions = {}) {
    super();
    const depth = options.invalidateQueueDepth ?? 32;
    if (!Number.isInteger(depth) || depth < 1 || depth > 32) throw new Error(`ATS: invalidate queue depth ${depth} is outside 1..32`);
    this.capValue = (depth & AtsCap.QUEUE_DEPTH) | (options.pageAlignedRequest === true ? AtsCap.PAGE_ALIGNED : 0) |
      (options.globalInvalidate === true ? AtsCap.GLOBAL_INVALIDATE : 0);
  }

  /** Defines the registers after the header: reset values and guest masks. */
  protected define(space: ConfigSpace, offset: number): void {
    space.init(offset + CAP, 2, this.capValue);
    space.init(offset + CTRL, 2, 0, AtsControl.ENABLE | AtsControl.STU_MASK);
  }

  /** ATS enabled by the guest. */
  get enabled(): boolean {
    return (this.reg(CTRL, 2) & AtsControl.ENABLE) !== 0;
  }

  /** Smallest Translation Unit programmed by the guest (translations are 2^(12+STU) bytes at least). */
  get smallestTranslationUnit(): number {
    return this.reg(CTRL, 2) & AtsControl.STU_MASK;
  }
}
