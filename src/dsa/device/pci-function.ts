/**
 * The PCI function of the DSA model (vidxd-device.md §2.1–§2.2): IDs and class of the profile,
 * 64-bit prefetchable BAR0 (registers) and BAR2 (portals), MSI-X in BAR0 with one vector for
 * errors/commands plus one per WQ, PCI Express (the profile's device type, root-complex integrated
 * endpoint by default, with the PASID TLP prefix, function-level reset capable — vidxd-device.md
 * §3.3: Linux's idxd driver recovers from a halt with reset type FLR by `pci_reset_function()`), ATS,
 * PRI and PASID.
 */
import {
  AtsCapability, MsixCapability, PasidCapability, PcieCapability, type PciFunction, PciFunctionBuilder, PriCapability,
} from '../../pci/index.js';
import type { Bar0Layout } from '../spec/layout.js';
import { type DsaProfile, msixVectors } from '../spec/profile.js';

/** BAR index of the registers. Linux `IDXD_MMIO_BAR`. */
export const REGISTER_BAR = 0;
/** BAR index of the portals. Linux `IDXD_WQ_BAR`. */
export const PORTAL_BAR = 2;

/** The PCI function and the capabilities the model drives. */
export interface DsaPciParts {
  /** The function. */
  readonly fn: PciFunction;
  /** MSI-X (table and PBA served from BAR0). */
  readonly msix: MsixCapability;
  /** PCI Express. */
  readonly pcie: PcieCapability;
  /** ATS. */
  readonly ats: AtsCapability;
  /** PRI. */
  readonly pri: PriCapability;
  /** PASID. */
  readonly pasid: PasidCapability;
}

/** Builds the PCI function of a DSA device with `profile` and BAR0 `layout`. */
export function buildDsaFunction(profile: DsaProfile, layout: Bar0Layout): DsaPciParts {
  const msix = new MsixCapability({
    vectors: msixVectors(profile), tableBar: REGISTER_BAR, tableOffset: layout.msixTable, pbaBar: REGISTER_BAR, pbaOffset: layout.msixPba,
  });
  const pcie = new PcieCapability({ deviceType: profile.pcieType, endEndTlpPrefix: true, maxEndEndTlpPrefixes: 1, functionLevelReset: true });
  const ats = new AtsCapability({ invalidateQueueDepth: profile.atsQueueDepth, pageAlignedRequest: true });
  const pri = new PriCapability({ outstandingCapacity: profile.priCapacity });
  const pasid = new PasidCapability({ maxWidth: profile.pasidWidth, privileged: profile.pasidPrivileged });
  const fn = new PciFunctionBuilder({
    vendorId: profile.vendorId,
    deviceId: profile.deviceId,
    classCode: profile.classCode,
    revision: profile.revision,
    subsystemVendorId: profile.subsystemVendorId,
    subsystemId: profile.subsystemId,
  })
    .bar(REGISTER_BAR, { kind: 'mem64', size: layout.bar0Size, prefetchable: true })
    .bar(PORTAL_BAR, { kind: 'mem64', size: layout.bar2Size, prefetchable: true })
    .capability(pcie, 0x40)
    .capability(msix, 0x80)
    .capability(ats, 0x100)
    .capability(pri, 0x110)
    .capability(pasid, 0x120)
    .build();
  return { fn, msix, pcie, ats, pri, pasid };
}
