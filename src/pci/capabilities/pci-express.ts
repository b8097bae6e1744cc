/** PCI Express capability (ID 0x10), version 2, for functions with a type-0 header (60 bytes). */
import { CapabilityBase } from '../capability.js';
import type { ConfigSpace } from '../config-space.js';
import {
  CapabilityId, PCIE_DEVICE_STATUS_DYNAMIC, PCIE_DEVICE_STATUS_ERRORS, PcieDeviceCapability, PcieDeviceCapability2, PcieDeviceControl,
  PcieDeviceControl2, PcieDeviceType, type PcieDeviceTypeValue, PcieFlags, PcieLink, PcieReg,
} from '../spec.js';

/** Link parameters of an endpoint (root-complex functions have no link registers). */
export interface PcieLinkOptions {
  /** Max and current link speed code: 1 = 2.5 GT/s, 2 = 5, 3 = 8, 4 = 16, 5 = 32, 6 = 64 GT/s. */
  readonly speed: number;
  /** Max and negotiated link width: 1, 2, 4, 8, 12, 16 or 32 lanes. */
  readonly width: number;
}

/** Options of {@link PcieCapability}. */
export interface PcieOptions {
  /** Device/port type. Default {@link PcieDeviceType.ENDPOINT}. */
  readonly deviceType?: PcieDeviceTypeValue;
  /** Max Payload Size Supported in bytes (128..4096, power of two). Default 256. */
  readonly maxPayloadSize?: number;
  /** Extended (8-bit) Tag Field Supported; makes DevCtl Extended Tag Enable writable. Default true. */
  readonly extendedTag?: boolean;
  /** DevCap2 End-End TLP Prefix Supported (also sets Extended Fmt Field Supported). Default false. */
  readonly endEndTlpPrefix?: boolean;
  /** DevCap2 Max End-End TLP Prefixes, 1..4 (needs `endEndTlpPrefix`). Default 1. */
  readonly maxEndEndTlpPrefixes?: number;
  /** DevCap2 Completion Timeout Ranges Supported (4-bit mask); non-zero makes the timeout value writable. Default 0. */
  readonly completionTimeoutRanges?: number;
  /** DevCap2 Completion Timeout Disable Supported; makes the disable bit writable. Default false. */
  readonly completionTimeoutDisable?: boolean;
  /** DevCap2 LTR Mechanism Supported; makes LTR enable writable. Default false. */
  readonly ltr?: boolean;
  /** Link parameters; endpoints only. Default 2.5 GT/s x1. */
  readonly link?: PcieLinkOptions;
  /**
   * DevCap Function Level Reset Capability (bit 28): DevCtl bit 15 (Initiate FLR) becomes a write-only
   * bit that always reads 0; writing 1 to it asks the function for a function-level reset
   * (`PciFunction.onFunctionReset`). Default false (the bit is then read-only 0).
   */
  readonly functionLevelReset?: boolean;
}

const LINK_WIDTHS: readonly number[] = [1, 2, 4, 8, 12, 16, 32];

/**
 * PCI Express v2 capability. Device Control and Device Control 2 have their PCIe-writable fields
 * (those whose feature the capabilities registers advertise), the Device Status error bits are
 * RW1C, everything else is read-only. Endpoints carry link registers (Common Clock and Extended
 * Synch writable; no ASPM); root-complex functions have none. With `functionLevelReset`, writing 1
 * to Device Control bit 15 clears it again at once and asks the function for a function-level reset.
 */
export class PcieCapability extends CapabilityBase {
  /** {@inheritDoc Capability.id} */
  readonly id = CapabilityId.PCI_EXPRESS;
  /** {@inheritDoc Capability.extended} */
  readonly extended = false;
  /** {@inheritDoc Capability.length} */
  readonly length = 0x3c;
  /** The device/port type. */
  readonly deviceType: PcieDeviceTypeValue;
  private readonly devCap: number;
  private readonly devCtlMask: number;
  private readonly devCap2: number;
  private readonly devCtl2Mask: number;
  private readonly link: PcieLinkOptions | null;
  /** Function-level reset capable (DevCap bit 28). */
  readonly functionLevelReset: boolean;

  /** Declares a PCIe capability; throws on an unsupported type or an out-of-range option. */
  constructor(options: PcieOptions = {}) {
    super();
    const type = options.deviceType ?? PcieDeviceType.ENDPOINT;
    if (!Object.values(PcieDeviceType).includes(type)) {
      throw new Error(`PCIe: device/port type ${String(type)} needs a type-1 header or is reserved; a type-0 function can be 0, 1, 9 or 10`);
    }
    this.deviceType = type;
    const mps = options.maxPayloadSize ?? 256;
    const mpsCode = [128, 256, 512, 1024, 2048, 4096].indexOf(mps);
    if (mpsCode < 0) throw new Error(`PCIe: max payload size ${mps} is not a power of two in 128..4096`);
    const extTag = options.extendedTag ?? true;
    this.functionLevelReset = options.functionLevelReset ?? false;
    const flr = this.functionLevelReset;
    this.devCap = (mpsCode | (extTag ? PcieDeviceCapability.EXTENDED_TAG : 0) | PcieDeviceCapability.ROLE_BASED_ERROR |
      (flr ? PcieDeviceCapability.FLR : 0)) >>> 0;
    // Initiate FLR is writable so that a 1 lands; afterWrite clears it again before anyone can read it.
    this.devCtlMask =
      PcieDeviceControl.ERROR_REPORTING | PcieDeviceControl.RELAXED_ORDERING | PcieDeviceControl.MAX_PAYLOAD |
      (extTag ? PcieDeviceControl.EXTENDED_TAG : 0) | PcieDeviceControl.NO_SNOOP | PcieDeviceControl.MAX_READ_REQUEST |
      (flr ? PcieDeviceControl.INITIATE_FLR : 0);

    const prefixes = options.maxEndEndTlpPrefixes ?? 1;
    const prefix = options.endEndTlpPrefix ?? false;
    if (!Number.isInteger(prefixes) || prefixes < 1 || prefixes > 4) throw new Error(`PCIe: max end-end TLP prefixes ${prefixes} is outside 1..4`);
    if (!prefix && options.maxEndEndTlpPrefixes !== undefined) {
      throw new Error('PCIe: maxEndEndTlpPrefixes needs endEndTlpPrefix');
    }
    const ranges = options.completionTimeoutRanges ?? 0;
    if (!Number.isInteger(ranges) || ranges < 0 || ranges > 0xf) throw new Error(`PCIe: completion timeout ranges 0x${ranges.toString(16)} is not a 4-bit mask`);
    const ctDisable = options.completionTimeoutDisable ?? false;
    const ltr = options.ltr ?? false;
    const c2 = PcieDeviceCapability2;
    this.devCap2 = ranges | (ctDisable ? c2.COMPLETION_TIMEOUT_DISABLE : 0) | (ltr ? c2.LTR : 0) |
      (prefix ? c2.EXTENDED_FMT | c2.END_END_TLP_PREFIX | ((prefixes & 3) << c2.MAX_END_END_TLP_PREFIXES_SHIFT) : 0);
    const d2 = PcieDeviceControl2;
    this.devCtl2Mask = (ranges !== 0 ? d2.COMPLETION_TIMEOUT_VALUE : 0) | (ctDisable ? d2.COMPLETION_TIMEOUT_DISABLE : 0) | (ltr ? d2.LTR_ENABLE : 0);

    const hasLink = type === PcieDeviceType.ENDPOINT || type === PcieDeviceType.LEGACY_ENDPOINT;
    if (!hasLink && options.link !== undefined) throw new Error('PCIe: a root-complex function has no link registers; drop the link option');
    const link = hasLink ? (options.link ?? { speed: 1, width: 1 }) : null;
    if (link !== null) {
      if (!Number.isInteger(link.speed) || link.speed < 1 || link.speed > 6) throw new Error(`PCIe: link speed code ${link.speed} is outside 1..6`);
      if (!LINK_WIDTHS.includes(link.width)) throw new Error(`PCIe: link width x${link.width} is not one of ${LINK_WIDTHS.join(', ')}`);
    }
    this.link = link;
  }

  /** Defines the registers after the header: reset values and guest masks. */
  protected define(space: ConfigSpace, offset: number): void {
    space.init(offset + PcieReg.CAPABILITIES, 2, 2 | (this.deviceType << PcieFlags.TYPE_SHIFT));
    space.init(offset + PcieReg.DEVICE_CAPABILITIES, 4, this.devCap);
    // Reset defaults per PCIe: relaxed ordering and no snoop enabled, max read request 512 bytes.
    space.init(offset + PcieReg.DEVICE_CONTROL, 2,
      PcieDeviceControl.RELAXED_ORDERING | PcieDeviceControl.NO_SNOOP | (2 << 12), this.devCtlMask);
    space.init(offset + PcieReg.DEVICE_STATUS, 2, 0, 0, PCIE_DEVICE_STATUS_ERRORS, PCIE_DEVICE_STATUS_DYNAMIC);
    space.init(offset + PcieReg.DEVICE_CAPABILITIES_2, 4, this.devCap2);
    space.init(offset + PcieReg.DEVICE_CONTROL_2, 2, 0, this.devCtl2Mask);
    if (this.link === null) return;
    const { speed, width } = this.link;
    // LnkCap: max speed and width, ASPM Optionality Compliance; no ASPM, port number 0.
    space.init(offset + PcieReg.LINK_CAPABILITIES, 4, speed | (width << PcieLink.WIDTH_SHIFT) | PcieLink.ASPM_OPTIONALITY);
    space.init(offset + PcieReg.LINK_CONTROL, 2, 0, PcieLink.COMMON_CLOCK | PcieLink.EXTENDED_SYNCH);
    space.init(offset + PcieReg.LINK_STATUS, 2, speed | (width << PcieLink.WIDTH_SHIFT));
    space.init(offset + PcieReg.LINK_CAPABILITIES_2, 4, ((1 << (speed + 1)) - 1) & ~1); // supported speeds vector
    space.init(offset + PcieReg.LINK_CONTROL_2, 2, speed); // target link speed
  }

  /**
   * A guest write that set Initiate FLR (only writable with `functionLevelReset`): the bit is cleared
   * at once, so it always reads 0, and the function is asked for a function-level reset, which it
   * performs when the write has completed.
   */
  afterWrite(offset: number, size: number): void {
    const hi = PcieReg.DEVICE_CONTROL + 1; // the byte holding bit 15
    if (!this.functionLevelReset || offset > hi || offset + size <= hi) return;
    const ctl = this.reg(PcieReg.DEVICE_CONTROL, 2);
    if ((ctl & PcieDeviceControl.INITIATE_FLR) === 0) return;
    this.poke(PcieReg.DEVICE_CONTROL, 2, ctl & ~PcieDeviceControl.INITIATE_FLR);
    this.host?.requestFunctionReset();
  }

  /** Current Device Control value. */
  get deviceControl(): number {
    return this.reg(PcieReg.DEVICE_CONTROL, 2);
  }

  /** Current Device Control 2 value. */
  get deviceControl2(): number {
    return this.reg(PcieReg.DEVICE_CONTROL_2, 2);
  }

  /** Device model: records a detected error in Device Status (bits of {@link PCIE_DEVICE_STATUS_ERRORS}). */
  signalError(bits: number): void {
    this.poke(PcieReg.DEVICE_STATUS, 2, this.reg(PcieReg.DEVICE_STATUS, 2) | (bits & PCIE_DEVICE_STATUS_ERRORS));
  }
}
