import { describe, expect, it } from 'vitest';
import {
  AtsCapability, type Capability, PasidCapability, PcieCapability, PcieDeviceType, PciFunctionBuilder,
  PowerManagementCapability, PriCapability, VendorCapability,
} from '../../src/pci/index.js';
import { specFunction } from './fixtures.js';

interface Row {
  readonly what: string;
  readonly offset: number;
  readonly reset: number;
  readonly wmask: number;
  readonly w1c?: number;
  /** Value after writing all ones, where a capability's side effect makes it differ from the mask rule. */
  readonly ones?: number;
}

/** Every dword of every capability of the spec function (with PM at 0x90): reset value and masks. */
const ROWS: readonly Row[] = [
  { what: 'MSI-X header + message control', offset: 0x40, reset: 0x00015011, wmask: 0xc0000000 },
  { what: 'MSI-X table BIR/offset', offset: 0x44, reset: 0x00000600, wmask: 0 },
  { what: 'MSI-X PBA BIR/offset', offset: 0x48, reset: 0x00000700, wmask: 0 },
  { what: 'PCIe header + capabilities (v2, RCiEP)', offset: 0x50, reset: 0x00929010, wmask: 0 },
  { what: 'PCIe DevCap (MPS 256, ExtTag, RBE, FLR)', offset: 0x54, reset: 0x10008021, wmask: 0 },
  // Writing ones sets Initiate FLR (bit 15, write-only): the function resets, so the register reads its reset value.
  { what: 'PCIe DevCtl / DevSta', offset: 0x58, reset: 0x00002810, wmask: 0x0000f9ff, w1c: 0x000f0000, ones: 0x00002810 },
  { what: 'PCIe LnkCap (none for RCiEP)', offset: 0x5c, reset: 0, wmask: 0 },
  { what: 'PCIe LnkCtl / LnkSta (none for RCiEP)', offset: 0x60, reset: 0, wmask: 0 },
  { what: 'PCIe DevCap2 (ExtFmt, EETLPPrefix, 1 prefix)', offset: 0x74, reset: 0x00700000, wmask: 0 },
  { what: 'PCIe DevCtl2', offset: 0x78, reset: 0, wmask: 0 },
  { what: 'PM header + PMC (v3)', offset: 0x90, reset: 0x00030001, wmask: 0 },
  { what: 'PM PMCSR (NoSoftRst)', offset: 0x94, reset: 0x00000008, wmask: 0x00000003 },
  { what: 'ATS header', offset: 0x100, reset: 0x1101000f, wmask: 0 },
  { what: 'ATS capability / control', offset: 0x104, reset: 0x00000021, wmask: 0x801f0000 },
  { what: 'PRI header', offset: 0x110, reset: 0x12010013, wmask: 0 },
  // Writing ones: enable sets (Stopped clears), Reset reads back 0.
  { what: 'PRI control / status', offset: 0x114, reset: 0x01000000, wmask: 0x00000003, w1c: 0x00030000, ones: 0x00000001 },
  { what: 'PRI outstanding capacity', offset: 0x118, reset: 0x00000001, wmask: 0 },
  { what: 'PRI allocation', offset: 0x11c, reset: 0, wmask: 0xffffffff },
  { what: 'PASID header', offset: 0x120, reset: 0x0001001b, wmask: 0 },
  { what: 'PASID capability / control (Priv, width 20)', offset: 0x124, reset: 0x00001404, wmask: 0x00050000 },
];

describe('capability reset values and write masks', () => {
  for (const row of ROWS) {
    it(`${row.what} at 0x${row.offset.toString(16)} resets and masks writes as specified`, () => {
      const { fn } = specFunction({ withPm: true });
      const c = fn.config;
      expect(c.read(row.offset, 4)).toBe(row.reset);
      expect(c.writeMask(row.offset, 4)).toBe(row.wmask);
      expect(c.w1cMask(row.offset, 4)).toBe(row.w1c ?? 0);
      c.write(row.offset, 4, 0);
      expect(c.read(row.offset, 4)).toBe((row.reset & ~row.wmask) >>> 0);
      c.write(row.offset, 4, 0xffffffff);
      const byRule = ((row.reset | row.wmask) & ~(row.w1c ?? 0)) >>> 0;
      expect(c.read(row.offset, 4)).toBe(row.ones ?? byRule);
    });
  }

  it('leaves no guest-writable byte outside the listed registers', () => {
    const { fn } = specFunction({ withPm: true });
    const listed = new Set(ROWS.map((r) => r.offset));
    for (let off = 0x40; off < 0x1000; off += 4) {
      if (listed.has(off)) continue;
      expect(fn.config.writeMask(off, 4) | fn.config.w1cMask(off, 4), `0x${off.toString(16)}`).toBe(0);
    }
  });

  it('tells capability-write listeners which capability and relative offset a guest wrote', () => {
    const { fn, pasid } = specFunction();
    const seen: [Capability, number, number, number][] = [];
    fn.onCapabilityWrite((cap, off, size, old) => seen.push([cap, off, size, old]));
    fn.config.write(0x126, 2, 1);
    expect(seen).toEqual([[pasid, 6, 2, 0]]);
  });
});

describe('ATS, PRI and PASID enables', () => {
  it('expose the guest-written ATS enable and STU', () => {
    const { fn, ats } = specFunction();
    expect(ats.enabled).toBe(false);
    fn.config.write(0x106, 2, 0x8005);
    expect(ats.enabled).toBe(true);
    expect(ats.smallestTranslationUnit).toBe(5);
  });

  it('exposes PASID enable and privileged-mode enable, and keeps execute enable at 0 when execute is unsupported', () => {
    const { fn, pasid } = specFunction();
    fn.config.write(0x126, 2, 0x0007);
    expect(pasid.enabled).toBe(true);
    expect(pasid.privilegedEnabled).toBe(true);
    expect(pasid.executeEnabled).toBe(false);
    expect(pasid.maxWidth).toBe(20);
  });

  it('makes PASID execute enable writable and privileged enable read-only when only execute is supported', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PasidCapability({ maxWidth: 8, execute: true }), 0x100).build();
    const cap = fn.capabilities[0] as PasidCapability;
    expect(fn.config.read(0x104, 2)).toBe(0x0802);
    fn.config.write(0x106, 2, 0xffff);
    expect(fn.config.read(0x106, 2)).toBe(0x0003);
    expect(cap.executeEnabled).toBe(true);
    expect(cap.privilegedEnabled).toBe(false);
  });

  it('clears PRI Stopped while enabled, sets it again on disable, and reads Reset as 0', () => {
    const { fn, pri } = specFunction();
    expect(pri.stopped).toBe(true);
    fn.config.write(0x114, 2, 0x0001);
    expect(pri.enabled).toBe(true);
    expect(pri.stopped).toBe(false);
    fn.config.write(0x114, 2, 0x0002); // reset while clearing enable
    expect(fn.config.read(0x114, 4)).toBe(0x01000000);
    expect(pri.stopped).toBe(true);
    fn.config.write(0x11c, 4, 16);
    expect(pri.allocation).toBe(16);
  });

  it('reports PRI PRG Response PASID Required when configured', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PriCapability({ outstandingCapacity: 512, responsePasidRequired: true })).build();
    expect(fn.config.read(0x104, 4)).toBe(0x81000000);
    expect(fn.config.read(0x108, 4)).toBe(512);
  });
});

describe('PCI Express capability', () => {
  it('gives an endpoint link registers with Common Clock and Extended Synch writable', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PcieCapability({ deviceType: PcieDeviceType.ENDPOINT, link: { speed: 3, width: 4 } }), 0x40).build();
    const c = fn.config;
    expect(c.read(0x42, 2)).toBe(0x0002);
    expect(c.read(0x4c, 4)).toBe(0x00400043);
    expect(c.read(0x52, 2)).toBe(0x0043);
    expect(c.read(0x6c, 4)).toBe(0x0000000e);
    expect(c.read(0x70, 2)).toBe(3);
    c.write(0x50, 2, 0xffff);
    expect(c.read(0x50, 2)).toBe(0x00c0);
  });

  it('makes Device Control 2 fields writable only for advertised features', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PcieCapability({ completionTimeoutRanges: 0x3, completionTimeoutDisable: true, ltr: true }), 0x40).build();
    expect(fn.config.read(0x64, 4)).toBe(0x00000813);
    fn.config.write(0x68, 2, 0xffff);
    expect(fn.config.read(0x68, 2)).toBe(0x041f);
  });

  it('leaves Extended Tag Enable read-only without extended tag support', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PcieCapability({ extendedTag: false, maxPayloadSize: 512 }), 0x40).build();
    expect(fn.config.read(0x44, 4)).toBe(0x00008002);
    fn.config.write(0x48, 2, 0xffff);
    expect(fn.config.read(0x48, 2)).toBe(0x78ff);
  });
});

describe('Power Management capability', () => {
  it('discards a write naming an unsupported D1 or D2 state', () => {
    const { fn, pm } = specFunction({ withPm: true });
    fn.config.write(0x94, 2, 0x0001);
    expect(pm?.powerState).toBe(0);
    fn.config.write(0x94, 2, 0x0003);
    expect(pm?.powerState).toBe(3);
    fn.config.write(0x94, 1, 0x02);
    expect(pm?.powerState).toBe(3);
    fn.config.write(0x94, 1, 0x00);
    expect(pm?.powerState).toBe(0);
  });

  it('refuses D3hot to D2 even when D2 is supported, and allows D0 to D2', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PowerManagementCapability({ d1: true, d2: true }), 0x40).build();
    fn.config.write(0x44, 2, 3);
    fn.config.write(0x44, 2, 2);
    expect(fn.config.read(0x44, 2) & 3).toBe(3);
    fn.config.write(0x44, 2, 0);
    fn.config.write(0x44, 2, 2);
    expect(fn.config.read(0x44, 2) & 3).toBe(2);
    expect(fn.config.read(0x42, 2)).toBe(0x0603);
  });

  it('makes PME enable writable and PME status RW1C when PME is supported', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PowerManagementCapability({ pmeSupport: 0x19, noSoftReset: false }), 0x40).build();
    expect(fn.config.read(0x42, 2)).toBe(0xc803);
    expect(fn.config.writeMask(0x44, 2)).toBe(0x0103);
    expect(fn.config.w1cMask(0x44, 2)).toBe(0x8000);
  });
});

describe('vendor-specific capability', () => {
  it('stores its length and body, writable only where the mask allows', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0, configSize: 256 })
      .capability(new VendorCapability(Uint8Array.of(0xaa, 0xbb, 0xcc), Uint8Array.of(0, 0x0f, 0)))
      .build();
    expect(fn.config.read(0x40, 4)).toBe(0xaa060009);
    fn.config.write(0x44, 2, 0xffff);
    expect(fn.config.read(0x44, 2)).toBe(0xccbf);
  });

  it('can appear more than once', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0, configSize: 256 })
      .capability(new VendorCapability(new Uint8Array(1)))
      .capability(new VendorCapability(new Uint8Array(1)))
      .build();
    expect(fn.config.read(0x40, 4)).toBe(0x00044409);
    expect(fn.config.read(0x44, 4)).toBe(0x00040009);
    expect(fn.validate()).toEqual([]);
  });
});

describe('an ATS capability with defaults', () => {
  it('advertises a queue depth of 32 as 0', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 }).capability(new AtsCapability()).build();
    expect(fn.config.read(0x104, 2)).toBe(0);
  });
});

describe('finding capabilities', () => {
  it('by class, by ID and by offset', () => {
    const { fn, pasid, pcie } = specFunction();
    expect(fn.getCapability(PasidCapability)).toBe(pasid);
    expect(fn.getCapability(PowerManagementCapability)).toBeUndefined();
    expect(fn.findCapability(0x10)).toBe(pcie);
    expect(fn.findCapability(0x1b, true)).toBe(pasid);
    expect(fn.findCapability(0x1b)).toBeUndefined();
    expect(fn.offsetOf(pasid)).toBe(0x120);
    expect(fn.offsetOf(new AtsCapability())).toBe(-1);
  });
});
