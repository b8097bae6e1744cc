import { describe, expect, it } from 'vitest';
import { Header, PciFunctionBuilder, PowerManagementCapability, Status } from '../../src/pci/index.js';
import { specFunction } from './fixtures.js';

/** Every RW1C register of the spec function (plus PM with PME), with its RW1C bits. */
const REGISTERS = [
  { what: 'status', offset: Header.STATUS, bits: Status.ERRORS },
  { what: 'PCIe device status', offset: 0x5a, bits: 0x000f },
  { what: 'PRI status', offset: 0x116, bits: 0x0003 },
] as const;

describe('RW1C bits', () => {
  for (const r of REGISTERS) {
    it(`in the ${r.what} register are never set by a guest write`, () => {
      const { fn } = specFunction();
      const before = fn.config.read(r.offset, 2);
      fn.config.write(r.offset, 2, 0xffff);
      fn.config.write(r.offset & ~3, 4, 0xffffffff);
      fn.config.write(r.offset, 1, 0xff);
      fn.config.write(r.offset + 1, 1, 0xff);
      expect(fn.config.read(r.offset, 2) & r.bits).toBe(0);
      const kept = ~(r.bits | fn.config.dynamicMask(r.offset, 2)); // PRI Stopped follows Enable
      expect(fn.config.read(r.offset, 2) & kept).toBe(before & kept);
    });

    it(`in the ${r.what} register clear one at a time, only where a 1 is written`, () => {
      const { fn } = specFunction();
      fn.config.setBits(r.offset, 2, r.bits);
      let expected = fn.config.read(r.offset, 2);
      for (let bit = 1; bit <= 0x8000; bit <<= 1) {
        if ((r.bits & bit) === 0) continue;
        fn.config.write(r.offset, 2, 0); // writing zeros clears nothing
        expect(fn.config.read(r.offset, 2)).toBe(expected);
        fn.config.write(r.offset, 2, bit);
        expected &= ~bit;
        expect(fn.config.read(r.offset, 2)).toBe(expected);
      }
      expect(fn.config.read(r.offset, 2) & r.bits).toBe(0);
    });
  }

  it('are set by the device model helpers and cleared by the guest', () => {
    const { fn, pcie, pri } = specFunction();
    pri.signalResponseFailure();
    pri.signalUnexpectedGroupIndex();
    pcie.signalError(0x0005);
    expect(fn.config.read(0x116, 2)).toBe(0x0103);
    expect(fn.config.read(0x5a, 2)).toBe(0x0005);
    fn.config.write(0x116, 2, 0x0001);
    fn.config.write(0x5a, 2, 0x0004);
    expect(fn.config.read(0x116, 2)).toBe(0x0102);
    expect(fn.config.read(0x5a, 2)).toBe(0x0001);
  });

  it('include PME status of a PME-capable PM capability', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0 })
      .capability(new PowerManagementCapability({ pmeSupport: 0x08 }), 0x40).build();
    fn.config.write(0x44, 2, 0x8000);
    expect(fn.config.read(0x44, 2) & 0x8000).toBe(0);
    fn.config.setBits(0x44, 2, 0x8000);
    fn.config.write(0x44, 2, 0x8000);
    expect(fn.config.read(0x44, 2) & 0x8000).toBe(0);
  });
});
