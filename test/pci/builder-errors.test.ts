import { describe, expect, it } from 'vitest';
import {
  AtsCapability, MsixCapability, PasidCapability, PcieCapability, PciFunctionBuilder, PowerManagementCapability,
  PriCapability, VendorCapability,
} from '../../src/pci/index.js';

const base = (configSize: 256 | 4096 = 4096) => new PciFunctionBuilder({ vendorId: 0x1af4, deviceId: 1, classCode: 0, configSize });

describe('building a function wrongly throws a clear error', () => {
  it('for overlapping capabilities', () => {
    const b = base().capability(new PcieCapability(), 0x40);
    expect(() => b.capability(new PowerManagementCapability(), 0x48)).toThrow(/overlaps capability 0x10 at 0x40/);
  });

  it('for a misaligned capability', () => {
    expect(() => base().capability(new PowerManagementCapability(), 0x42)).toThrow(/not dword-aligned/);
    expect(() => base().capability(new AtsCapability(), 0x102)).toThrow(/not dword-aligned/);
  });

  it('for a standard capability at or above 0x100 or inside the header', () => {
    expect(() => base().capability(new PowerManagementCapability(), 0x100)).toThrow(/outside standard space/);
    expect(() => base().capability(new PowerManagementCapability(), 0x3c)).toThrow(/outside standard space/);
    expect(() => base().capability(new PowerManagementCapability(), 0xfc)).toThrow(/runs past 0xff/);
  });

  it('for an extended capability below 0x100, or in a 256-byte space', () => {
    expect(() => base().capability(new AtsCapability(), 0xf8)).toThrow(/below 0x100/);
    expect(() => base(256).capability(new AtsCapability())).toThrow(/256-byte config space has no extended/);
  });

  it('for an extended chain that does not start at 0x100', () => {
    const b = base().capability(new AtsCapability(), 0x200);
    expect(() => b.build()).toThrow(/starts at 0x100.*0x200/);
  });

  it('for a repeated capability or the same object added twice', () => {
    const ats = new AtsCapability();
    expect(() => base().capability(ats).capability(ats)).toThrow(/already added/);
    expect(() => base().capability(new PasidCapability()).capability(new PasidCapability())).toThrow(/already present/);
    const installed = new PriCapability();
    base().capability(installed).build();
    expect(() => base().capability(installed).build()).toThrow(/already installed/);
  });

  it('when no gap is left for first fit', () => {
    const b = base(256);
    for (let i = 0; i < 4; i++) b.capability(new VendorCapability(new Uint8Array(45)));
    expect(() => b.capability(new PowerManagementCapability())).toThrow(/no free 8-byte gap/);
  });

  it('for bad BAR sizes, slots and kinds', () => {
    expect(() => base().bar(0, { kind: 'mem32', size: 0x3000 })).toThrow(/not a power of two/);
    expect(() => base().bar(0, { kind: 'mem32', size: 8 })).toThrow(/outside 16/);
    expect(() => base().bar(0, { kind: 'mem32', size: 2 ** 32 })).toThrow(/outside 16/);
    expect(() => base().bar(0, { kind: 'io', size: 512 })).toThrow(/I\/O BAR size 512/);
    expect(() => base().bar(0, { kind: 'io', size: 16, prefetchable: true })).toThrow(/cannot be prefetchable/);
    expect(() => base().bar(5, { kind: 'mem64', size: 0x1000 })).toThrow(/BAR5 cannot hold a 64-bit BAR/);
    expect(() => base().bar(6, { kind: 'mem32', size: 0x1000 })).toThrow(/outside 0..5/);
    expect(() => base().bar(0, { kind: 'mem64', size: 0x1000 }).bar(1, { kind: 'mem32', size: 0x1000 })).toThrow(/overlaps a BAR/);
    expect(() => base().rom(1024)).toThrow(/expansion ROM size 1024/);
  });

  it('for an MSI-X table or PBA outside a declared memory BAR', () => {
    const msix = () => new MsixCapability({ vectors: 4, tableBar: 2, tableOffset: 0xff0, pbaBar: 2, pbaOffset: 0x800 });
    expect(() => base().capability(msix()).build()).toThrow(/MSI-X table is in BAR2, which is not a declared memory BAR/);
    expect(() => base().bar(2, { kind: 'mem32', size: 0x1000 }).capability(msix()).build()).toThrow(/does not fit in BAR2/);
    expect(() => new MsixCapability({ vectors: 4, tableBar: 0, tableOffset: 4, pbaBar: 0, pbaOffset: 0x800 })).toThrow(/8-byte aligned/);
    expect(() => new MsixCapability({ vectors: 4, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x30 })).toThrow(/overlap/);
    expect(() => new MsixCapability({ vectors: 0, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800 })).toThrow(/1..2048/);
  });

  it('for out-of-range IDs and header fields', () => {
    expect(() => new PciFunctionBuilder({ vendorId: 0xffff, deviceId: 0, classCode: 0 })).toThrow(/no device/);
    expect(() => new PciFunctionBuilder({ vendorId: 1, deviceId: 0x10000, classCode: 0 })).toThrow(/device ID/);
    expect(() => new PciFunctionBuilder({ vendorId: 1, deviceId: 0, classCode: 0x1000000 })).toThrow(/class code/);
    expect(() => new PciFunctionBuilder({ vendorId: 1, deviceId: 0, classCode: 0, commandMask: 0x800 })).toThrow(/command mask/);
    expect(() => new PciFunctionBuilder({ vendorId: 1, deviceId: 0, classCode: 0, interruptPin: 5 })).toThrow(/interrupt pin/);
  });

  it('for capability options out of range', () => {
    expect(() => new PasidCapability({ maxWidth: 21 })).toThrow(/outside 0..20/);
    expect(() => new AtsCapability({ invalidateQueueDepth: 33 })).toThrow(/outside 1..32/);
    expect(() => new PcieCapability({ deviceType: 4 as 0 })).toThrow(/type-1 header/);
    expect(() => new PcieCapability({ maxPayloadSize: 100 })).toThrow(/max payload size/);
    expect(() => new PcieCapability({ maxEndEndTlpPrefixes: 2 })).toThrow(/needs endEndTlpPrefix/);
    expect(() => new PcieCapability({ deviceType: 9, link: { speed: 1, width: 1 } })).toThrow(/no link registers/);
    expect(() => new PcieCapability({ link: { speed: 1, width: 3 } })).toThrow(/link width x3/);
    expect(() => new PowerManagementCapability({ pmeSupport: 0x20 })).toThrow(/5-bit mask/);
  });

  it('when the builder is used after build', () => {
    const b = base();
    b.build();
    expect(() => b.build()).toThrow(/already built/);
    expect(() => b.bar(0, { kind: 'mem32', size: 0x1000 })).toThrow(/already built/);
  });
});

describe('placing capabilities', () => {
  it('fills the first gap and links each chain in ascending offset order', () => {
    const fn = base()
      .capability(new PcieCapability(), 0x60)
      .capability(new PowerManagementCapability()) // first fit: 0x40
      .capability(new VendorCapability(new Uint8Array(20))) // 0x48..0x5a fits before 0x60
      .capability(new AtsCapability())
      .capability(new PasidCapability(), 0x200)
      .capability(new PriCapability())
      .build();
    const c = fn.config;
    expect(c.read(0x34, 1)).toBe(0x40);
    expect(c.read(0x40, 2)).toBe(0x4801);
    expect(c.read(0x48, 2)).toBe(0x6009);
    expect(c.read(0x60, 2)).toBe(0x0010);
    expect(c.read(0x100, 4)).toBe(0x1081000f);
    expect(c.read(0x108, 4)).toBe(0x20010013);
    expect(c.read(0x200, 4)).toBe(0x0001001b);
    expect(fn.capabilities.map((cap) => fn.offsetOf(cap))).toEqual([0x40, 0x48, 0x60, 0x100, 0x108, 0x200]);
    expect(fn.validate()).toEqual([]);
  });

  it('leaves CAP_LIST clear and the pointer 0 without standard capabilities', () => {
    const fn = base().build();
    expect(fn.config.read(0x06, 2)).toBe(0);
    expect(fn.config.read(0x34, 1)).toBe(0);
    expect(fn.config.read(0x100, 4)).toBe(0);
  });
});
