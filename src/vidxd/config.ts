/**
 * The vdev's PCI function (vidxd-device.md §3): a single-function type-0 header with the parent's
 * device and revision IDs, 64-bit prefetchable BAR0 (8 KiB registers) and BAR2 (8 KiB portals),
 * MSI-X at 0x40 with its table and PBA in BAR0, PCI Express (root-complex integrated endpoint with
 * the PASID TLP prefix, function-level reset capable) at 0x50, and ATS, PRI and PASID in extended space. Every read-only field is
 * protected by `src/pci`'s per-byte masks; BAR sizing answers `~(size − 1) | flags`.
 */
import {
  AtsCapability, MsixCapability, PasidCapability, PcieCapability, PcieDeviceType, PciFunctionBuilder,
  PriCapability,
} from '../pci/index.js';
import type { DsaPciParts } from '../dsa/index.js';
import type { VdevFacts } from './facts.js';
import { VDEV_BAR0_SIZE, VDEV_BAR2_SIZE, VDEV_LAYOUT, VDEV_MAX_VECTORS, VDEV_PORTAL_BAR, VDEV_REGISTER_BAR } from './layout.js';

/** Vendor ID of every vdev. */
export const VDEV_VENDOR_ID = 0x8086;
/** Class code: system peripheral, other (0x088000). */
export const VDEV_CLASS_CODE = 0x088000;
/** Subsystem vendor ID. */
export const VDEV_SUBSYSTEM_VENDOR_ID = 0x8086;

/** Capability offsets of §3.2. */
export const VdevCapOffset = {
  MSIX: 0x40,
  PCI_EXPRESS: 0x50,
  ATS: 0x100,
  PRI: 0x110,
  PASID: 0x120,
} as const;

/** The vdev's PCI function and the capabilities it reads: the same set as the DSA model's function. */
export type VdevPciParts = DsaPciParts;

/** Builds the PCI function of a vdev with `facts` (IDs and vector count). Throws a plain `Error` for a vector count the layout cannot hold. */
export function buildVdevFunction(facts: VdevFacts): VdevPciParts {
  const v = facts.vectors;
  if (!Number.isInteger(v) || v < 1 || v > VDEV_MAX_VECTORS) throw new Error(`vdev: ${v} MSI-X vectors is outside 1..${VDEV_MAX_VECTORS}`);
  const msix = new MsixCapability({
    vectors: v, tableBar: VDEV_REGISTER_BAR, tableOffset: VDEV_LAYOUT.msixTable, pbaBar: VDEV_REGISTER_BAR, pbaOffset: VDEV_LAYOUT.msixPba,
  });
  const pcie = new PcieCapability({
    deviceType: PcieDeviceType.ROOT_COMPLEX_INTEGRATED_ENDPOINT, endEndTlpPrefix: true, maxEndEndTlpPrefixes: 1, functionLevelReset: true,
  });
  const ats = new AtsCapability({ invalidateQueueDepth: 1, pageAlignedRequest: true });
  const pri = new PriCapability({ outstandingCapacity: 1 });
  const pasid = new PasidCapability({ maxWidth: 20, privileged: true, execute: false });
  const fn = new PciFunctionBuilder({
    vendorId: VDEV_VENDOR_ID,
    deviceId: facts.deviceId,
    classCode: VDEV_CLASS_CODE,
    revision: facts.revision,
    subsystemVendorId: VDEV_SUBSYSTEM_VENDOR_ID,
    subsystemId: 0,
    interruptPin: 0,
    interruptLine: 0xff,
  })
    .bar(VDEV_REGISTER_BAR, { kind: 'mem64', size: VDEV_BAR0_SIZE, prefetchable: true })
    .bar(VDEV_PORTAL_BAR, { kind: 'mem64', size: VDEV_BAR2_SIZE, prefetchable: true })
    .capability(msix, VdevCapOffset.MSIX)
    .capability(pcie, VdevCapOffset.PCI_EXPRESS)
    .capability(ats, VdevCapOffset.ATS)
    .capability(pri, VdevCapOffset.PRI)
    .capability(pasid, VdevCapOffset.PASID)
    .build();
  return { fn, msix, pcie, ats, pri, pasid };
}
