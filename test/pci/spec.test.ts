/**
 * src/pci/spec.ts is the one place the PCI numbers are defined: vidxd/pci re-exports each of them
 * (the same object, not a copy), and the capabilities the library builds set exactly the bits the
 * header names.
 */
import { describe, expect, it } from 'vitest';
import * as pci from '../../src/pci/index.js';
import * as spec from '../../src/pci/spec.js';

describe('pci/spec.ts', () => {
  it('is re-exported whole by vidxd/pci, the same values', () => {
    const index = pci as Readonly<Record<string, unknown>>;
    const names = Object.keys(spec);
    expect(names.length).toBeGreaterThan(30);
    for (const n of names) expect(index[n], n).toBe((spec as Readonly<Record<string, unknown>>)[n]);
  });

  it('gives the bits a built function shows: FLR capable, MSI-X table size, PASID width and privileged mode', () => {
    const fn = new pci.PciFunctionBuilder({ vendorId: 0x1234, deviceId: 1, classCode: 0x088000 })
      .bar(0, { kind: 'mem64', size: 0x10000 })
      .capability(new pci.PcieCapability({ functionLevelReset: true }))
      .capability(new pci.MsixCapability({ vectors: 9, tableBar: 0, tableOffset: 0x2000, pbaBar: 0, pbaOffset: 0x3000 }))
      .capability(new pci.PasidCapability({ maxWidth: 20, privileged: true }))
      .build();
    const cfg = fn.config;
    const at = (id: number, ext: boolean): number => {
      if (ext) {
        for (let p = spec.EXT_CAPABILITY_START; p !== 0; p = (cfg.read(p, 4) >>> spec.ExtCapHeader.NEXT_SHIFT) & spec.ExtCapHeader.NEXT_MASK) {
          if ((cfg.read(p, 4) & spec.ExtCapHeader.ID_MASK) === id) return p;
        }
        return -1;
      }
      for (let p = cfg.read(spec.Header.CAPABILITY_LIST, 1); p !== 0; p = cfg.read(p + spec.CapHeader.NEXT, 1) & spec.CapHeader.POINTER_MASK) {
        if (cfg.read(p + spec.CapHeader.ID, 1) === id) return p;
      }
      return -1;
    };
    const pcie = at(spec.CapabilityId.PCI_EXPRESS, false);
    expect(cfg.read(pcie + spec.PcieReg.DEVICE_CAPABILITIES, 4) & spec.PcieDeviceCapability.FLR).toBe(spec.PcieDeviceCapability.FLR);
    const msix = at(spec.CapabilityId.MSIX, false);
    expect((cfg.read(msix + spec.MsixReg.CONTROL, 2) & spec.MsixControl.TABLE_SIZE) + 1).toBe(9);
    expect(cfg.read(msix + spec.MsixReg.TABLE, 4) & spec.MSIX_BIR_MASK).toBe(0);
    const pasid = at(spec.ExtCapabilityId.PASID, true);
    const cap = cfg.read(pasid + spec.PasidReg.CAPABILITY, 2);
    expect((cap >>> spec.PasidCap.WIDTH_SHIFT) & spec.PasidCap.WIDTH_MASK).toBe(20);
    expect(cap & spec.PasidCap.PRIVILEGED).toBe(spec.PasidCap.PRIVILEGED);
  });
});
