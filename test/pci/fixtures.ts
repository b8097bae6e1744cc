/** Functions the pci tests build. */
import {
  AtsCapability, MsixCapability, PasidCapability, PcieCapability, PcieDeviceType, type PciFunction,
  PciFunctionBuilder, PowerManagementCapability, PriCapability,
} from '../../src/pci/index.js';

/** The capability objects of {@link specFunction}, so tests can query them. */
export interface SpecParts {
  readonly fn: PciFunction;
  readonly msix: MsixCapability;
  readonly pcie: PcieCapability;
  readonly pm: PowerManagementCapability | null;
  readonly ats: AtsCapability;
  readonly pri: PriCapability;
  readonly pasid: PasidCapability;
}

/**
 * The config space of docs/spec/vidxd-device.md §3 (the virtual device), optionally with a Power
 * Management capability at 0x90 so every capability type is present.
 */
export function specFunction(options: { withPm?: boolean } = {}): SpecParts {
  const msix = new MsixCapability({ vectors: 2, tableBar: 0, tableOffset: 0x600, pbaBar: 0, pbaOffset: 0x700 });
  const pcie = new PcieCapability({
    deviceType: PcieDeviceType.ROOT_COMPLEX_INTEGRATED_ENDPOINT, endEndTlpPrefix: true, maxEndEndTlpPrefixes: 1, functionLevelReset: true,
  });
  const pm = options.withPm === true ? new PowerManagementCapability() : null;
  const ats = new AtsCapability({ invalidateQueueDepth: 1, pageAlignedRequest: true });
  const pri = new PriCapability({ outstandingCapacity: 1 });
  const pasid = new PasidCapability({ maxWidth: 20, privileged: true, execute: false });
  const b = new PciFunctionBuilder({ vendorId: 0x8086, deviceId: 0x0b25, classCode: 0x088000, subsystemVendorId: 0x8086 })
    .bar(0, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .bar(2, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .capability(msix, 0x40)
    .capability(pcie, 0x50)
    .capability(ats, 0x100)
    .capability(pri, 0x110)
    .capability(pasid, 0x120);
  if (pm !== null) b.capability(pm, 0x90);
  return { fn: b.build(), msix, pcie, pm, ats, pri, pasid };
}

/** A conventional function with every BAR kind and a ROM, for header and BAR tests. */
export function barFunction(): PciFunction {
  return new PciFunctionBuilder({ vendorId: 0x1234, deviceId: 0x5678, classCode: 0x020000, configSize: 256 })
    .bar(0, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .bar(2, { kind: 'mem32', size: 0x1000 })
    .bar(3, { kind: 'io', size: 32 })
    .bar(4, { kind: 'mem64', size: 2 ** 33 })
    .rom(0x10000)
    .build();
}
