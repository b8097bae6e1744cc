/**
 * Function-level reset (PCIe DevCap bit 28, DevCtl bit 15): the PCI Express capability declares the
 * write-only Initiate FLR bit and asks its function for the reset; the function performs it once the
 * guest's write has completed, then tells its owner.
 */
import { describe, expect, it } from 'vitest';
import { PcieCapability, PcieDeviceControl, PcieDeviceType, PciFunctionBuilder } from '../../src/pci/index.js';
import { specFunction } from './fixtures.js';

const DEVCAP = 0x54;
const DEVCTL = 0x58;

describe('function-level reset', () => {
  it('is advertised in DevCap bit 28 only when the capability is FLR-capable; without it DevCtl bit 15 is read-only', () => {
    const plain = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0 })
      .capability(new PcieCapability({ deviceType: PcieDeviceType.ROOT_COMPLEX_INTEGRATED_ENDPOINT }), 0x50)
      .build();
    const seen: string[] = [];
    plain.onFunctionReset(() => seen.push('flr'));
    plain.config.write(0x0c, 1, 0x40); // cache line size: a byte an FLR would reset
    plain.config.write(DEVCTL, 2, PcieDeviceControl.INITIATE_FLR);
    expect([plain.config.read(DEVCAP, 4) >>> 28 & 1, plain.config.read(DEVCTL, 2), plain.config.read(0x0c, 1), seen]).toEqual([0, 0, 0x40, []]);
    const { fn } = specFunction();
    expect(fn.config.read(DEVCAP, 4) >>> 28 & 1).toBe(1);
  });

  it('writing 1 to Initiate FLR resets config space and the capabilities\' state, then tells the owner once; the bit reads 0', () => {
    const { fn, msix, pasid } = specFunction();
    const c = fn.config;
    c.write(0x04, 2, 0x0006);
    c.write(0x10, 4, 0xfe000000);
    c.write(0x42, 2, 0x8000);
    c.write(0x126, 2, 1);
    msix.writeTable(0, 4, 0xfee00000);
    msix.hold(1);
    const seen: number[][] = [];
    fn.onFunctionReset(() => seen.push([c.read(0x04, 2), c.read(0x10, 4), c.read(0x42, 2), msix.addressLo(0), msix.isPending(1) ? 1 : 0, pasid.enabled ? 1 : 0]));
    c.write(DEVCTL, 2, 0x2810 | PcieDeviceControl.INITIATE_FLR);
    expect(seen).toEqual([[0, 0x0000000c, 0x0001, 0, 0, 0]]);
    expect([c.read(DEVCTL, 2), fn.command, fn.busMaster]).toEqual([0x2810, 0, false]);
  });

  it('runs after the whole guest access: every piece of a longer write lands and is observed first', () => {
    const { fn } = specFunction();
    const order: string[] = [];
    fn.onCapabilityWrite((_cap, off, size) => order.push(`write +0x${off.toString(16)}/${size}`));
    fn.onFunctionReset(() => order.push(`flr (DevCtl 0x${fn.config.read(DEVCTL, 2).toString(16)})`));
    // DevCap (read-only), DevCtl with Initiate FLR and DevSta, then the (absent) link registers: three dword pieces.
    const bytes = new Uint8Array(12);
    new DataView(bytes.buffer).setUint32(4, 0x8000 | 0x10, true);
    fn.config.writeFrom(DEVCAP, bytes);
    expect(order).toEqual(['write +0x4/4', 'write +0x8/4', 'write +0xc/4', 'flr (DevCtl 0x2810)']);
  });

  it('is not run by an owner\'s own reset; functionLevelReset() runs it on demand', () => {
    const { fn } = specFunction();
    let n = 0;
    const off = fn.onFunctionReset(() => n++);
    fn.reset();
    expect(n).toBe(0);
    fn.functionLevelReset();
    expect(n).toBe(1);
    off();
    fn.functionLevelReset();
    expect(n).toBe(1);
  });

  it('never leaves the bit set in a snapshot, which restores onto a fresh function', () => {
    const a = specFunction();
    a.fn.config.write(0x04, 2, 0x0006);
    a.fn.config.write(DEVCTL, 2, PcieDeviceControl.INITIATE_FLR | PcieDeviceControl.NO_SNOOP);
    const b = specFunction();
    b.fn.restore(a.fn.snapshot());
    expect([b.fn.config.read(DEVCTL, 2) & 0x8000, b.fn.command]).toEqual([0, 0]);
  });
});
