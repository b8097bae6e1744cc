/** PCI Power Management capability (ID 0x01, PM 1.2 / version 3, 8 bytes). */
import { CapabilityBase } from '../capability.js';
import type { ConfigSpace } from '../config-space.js';
import { CapabilityId, Pmc, Pmcsr, PmReg } from '../spec.js';

/** Options of {@link PowerManagementCapability}. */
export interface PowerManagementOptions {
  /** D1 supported. Default false. */
  readonly d1?: boolean;
  /** D2 supported. Default false. */
  readonly d2?: boolean;
  /** PME support mask, bit 0 = from D0 .. bit 4 = from D3cold (PMC[15:11]). Default 0 (no PME). */
  readonly pmeSupport?: number;
  /** No_Soft_Reset: state is kept across D3hot -> D0. Default true. */
  readonly noSoftReset?: boolean;
}

const { PMC, PMCSR } = PmReg;

/**
 * Power Management: the power state is writable but a write naming an unsupported state (D1/D2
 * without support) or an illegal transition (D3hot to D1/D2) is discarded, as the PM spec asks;
 * PME enable and the RW1C PME status exist only when PME is supported. What a D3hot -> D0 transition
 * does to the device is the owner's business (see `PciFunction.onCapabilityWrite`).
 */
export class PowerManagementCapability extends CapabilityBase {
  /** {@inheritDoc Capability.id} */
  readonly id = CapabilityId.POWER_MANAGEMENT;
  /** {@inheritDoc Capability.extended} */
  readonly extended = false;
  /** {@inheritDoc Capability.length} */
  readonly length = 8;
  private readonly options: Required<PowerManagementOptions>;

  /** Declares a PM capability; throws on a PME mask wider than 5 bits. */
  constructor(options: PowerManagementOptions = {}) {
    super();
    const pme = options.pmeSupport ?? 0;
    if (!Number.isInteger(pme) || pme < 0 || pme > 0x1f) throw new Error(`PM: pmeSupport 0x${pme.toString(16)} is not a 5-bit mask`);
    this.options = { d1: options.d1 ?? false, d2: options.d2 ?? false, pmeSupport: pme, noSoftReset: options.noSoftReset ?? true };
  }

  /** Defines the registers after the header: reset values and guest masks. */
  protected define(space: ConfigSpace, offset: number): void {
    const o = this.options;
    space.init(offset + PMC, 2, 3 | (o.d1 ? Pmc.D1 : 0) | (o.d2 ? Pmc.D2 : 0) | (o.pmeSupport << Pmc.PME_SHIFT));
    const pme = o.pmeSupport !== 0;
    space.init(
      offset + PMCSR, 2,
      o.noSoftReset ? Pmcsr.NO_SOFT_RESET : 0,
      Pmcsr.STATE_MASK | (pme ? Pmcsr.PME_ENABLE : 0),
      pme ? Pmcsr.PME_STATUS : 0,
    );
  }

  /** Current power state: 0 = D0, 1 = D1, 2 = D2, 3 = D3hot. */
  get powerState(): number {
    return this.reg(PMCSR, 1) & Pmcsr.STATE_MASK;
  }

  /** Discards a power-state write that names an unsupported state or an illegal transition. */
  afterWrite(offset: number, size: number, oldValue: number): void {
    if (offset > PMCSR || offset + size <= PMCSR) return;
    const before = (oldValue >>> (8 * (PMCSR - offset))) & Pmcsr.STATE_MASK;
    const after = this.powerState;
    const unsupported = (after === 1 && !this.options.d1) || (after === 2 && !this.options.d2);
    const illegal = before === 3 && (after === 1 || after === 2);
    if (unsupported || illegal) this.poke(PMCSR, 1, (this.reg(PMCSR, 1) & ~Pmcsr.STATE_MASK) | before);
  }
}
