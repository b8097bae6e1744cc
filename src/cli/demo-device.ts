/**
 * The sample PCI Express function the `demo` command prints until the real demo lands: DSA-like IDs,
 * two 64-bit BARs, MSI-X with 2 vectors in BAR0, PCIe v2 root-complex integrated endpoint, PM, ATS,
 * PRI and PASID (width 20).
 */
import {
  AtsCapability, MsixCapability, PasidCapability, PcieCapability, PcieDeviceType, type PciFunction,
  PciFunctionBuilder, PowerManagementCapability, PriCapability,
} from '../pci/index.js';

/** Builds the sample function. */
export function buildDemoFunction(): PciFunction {
  return new PciFunctionBuilder({ vendorId: 0x8086, deviceId: 0x0b25, classCode: 0x088000, subsystemVendorId: 0x8086 })
    .bar(0, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .bar(2, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .capability(new MsixCapability({ vectors: 2, tableBar: 0, tableOffset: 0x600, pbaBar: 0, pbaOffset: 0x700 }), 0x40)
    .capability(new PcieCapability({
      deviceType: PcieDeviceType.ROOT_COMPLEX_INTEGRATED_ENDPOINT, endEndTlpPrefix: true, maxEndEndTlpPrefixes: 1,
    }), 0x50)
    .capability(new PowerManagementCapability(), 0x90)
    .capability(new AtsCapability({ invalidateQueueDepth: 1, pageAlignedRequest: true }), 0x100)
    .capability(new PriCapability({ outstandingCapacity: 1 }), 0x110)
    .capability(new PasidCapability({ maxWidth: 20, privileged: true }), 0x120)
    .build();
}
