import { describe, expect, it } from 'vitest';
import { Command, Header, PciFunctionBuilder, SNAPSHOT_VERSION } from '../../src/pci/index.js';
import { specFunction } from './fixtures.js';

/** A spec function with guest-visible state everywhere: BARs, command, capability enables, MSI-X. */
function busyFunction() {
  const parts = specFunction({ withPm: true });
  const { fn, msix, pri } = parts;
  const c = fn.config;
  c.write(0x10, 4, 0xfe000000);
  c.write(0x14, 4, 0x1);
  c.write(Header.COMMAND, 2, Command.MEMORY | Command.BUS_MASTER);
  c.write(0x42, 2, 0xc000);
  c.write(0x106, 2, 0x8002);
  c.write(0x114, 2, 1);
  c.write(0x126, 2, 5);
  c.write(0x94, 2, 3);
  msix.writeTable(0, 4, 0xfee00000);
  msix.writeTable(8, 4, 0x41);
  msix.writeTable(12, 4, 0);
  msix.notify(0);
  msix.notify(1);
  pri.signalResponseFailure();
  return parts;
}

describe('snapshot and restore', () => {
  it('restores config bytes and MSI-X table and PBA into a fresh function', () => {
    const a = busyFunction();
    const snap = a.fn.snapshot();
    const b = specFunction({ withPm: true });
    b.fn.restore(snap);
    const ia = new Uint8Array(4096);
    const ib = new Uint8Array(4096);
    a.fn.config.readInto(0, ia);
    b.fn.config.readInto(0, ib);
    expect(ib).toEqual(ia);
    for (let off = 0; off < 32; off += 4) expect(b.msix.readTable(off, 4)).toBe(a.msix.readTable(off, 4));
    expect(b.msix.readPba(0, 4)).toBe(0b11);
    expect(b.fn.command).toBe(Command.MEMORY | Command.BUS_MASTER);
    expect(b.fn.barMapped(0)).toBe(true);
    expect([b.fn.barAddressLo(0), b.fn.barAddressHi(0)]).toEqual([0xfe000000, 1]);
    expect([b.ats.enabled, b.pri.enabled, b.pri.stopped, b.pasid.enabled, b.pasid.privilegedEnabled]).toEqual([true, true, false, true, true]);
    expect(b.pm?.powerState).toBe(3);
    expect(b.fn.snapshot()).toEqual(snap);
  });

  it('starts with a versioned header: magic, version, sizes', () => {
    const snap = specFunction().fn.snapshot();
    expect(String.fromCharCode(...snap.subarray(0, 4))).toBe('VXPC');
    const view = new DataView(snap.buffer);
    expect(view.getUint16(4, true)).toBe(SNAPSHOT_VERSION);
    expect(view.getUint32(8, true)).toBe(4096);
    expect(view.getUint32(12, true)).toBe(32 + 8);
    expect(snap.length).toBe(16 + 4096 + 40);
  });

  it('refuses a wrong magic, version or size with a clear error and changes nothing', () => {
    const { fn } = busyFunction();
    const good = fn.snapshot();
    const target = specFunction({ withPm: true }).fn;
    const before = target.snapshot();
    const badMagic = good.slice();
    badMagic[0] = 0;
    const badVersion = good.slice();
    badVersion[4] = 9;
    expect(() => target.restore(badMagic)).toThrow(/magic/);
    expect(() => target.restore(badVersion)).toThrow(/version 9/);
    expect(() => target.restore(good.subarray(0, good.length - 1))).toThrow(/bytes/);
    expect(() => target.restore(new Uint8Array(3))).toThrow(/magic/);
    const small = new PciFunctionBuilder({ vendorId: 0x8086, deviceId: 0x0b25, classCode: 0x088000, configSize: 256 }).build();
    expect(() => small.restore(good)).toThrow(/4096-byte config space; this function has 256/);
    expect(target.snapshot()).toEqual(before);
  });

  it('refuses a snapshot whose read-only bytes differ from this function', () => {
    const snap = busyFunction().fn.snapshot();
    const parts = specFunction({ withPm: true });
    expect(() => parts.fn.restore(specFunction().fn.snapshot())).toThrow(/read-only/); // no PM there
    const tampered = snap.slice();
    tampered[16 + 0x02] = 0x26; // device ID
    expect(() => parts.fn.restore(tampered)).toThrow(/read-only/);
    const tamperedCap = snap.slice();
    tamperedCap[16 + 0x125] = 0x10; // PASID max width
    expect(() => parts.fn.restore(tamperedCap)).toThrow(/read-only/);
  });

  it('drops reserved bits of an MSI-X table in a snapshot', () => {
    const parts = specFunction();
    const snap = parts.fn.snapshot();
    snap[16 + 4096 + 12] = 0xff; // vector 0 control: only bit 0 exists
    snap[16 + 4096 + 0] = 0x03; // address bits [1:0] read as 0
    parts.fn.restore(snap);
    expect(parts.msix.readTable(12, 4)).toBe(1);
    expect(parts.msix.readTable(0, 4)).toBe(0);
  });
});

describe('reset', () => {
  it('returns every byte and the MSI-X state to the reset image', () => {
    const fresh = specFunction({ withPm: true }).fn.snapshot();
    const { fn } = busyFunction();
    fn.reset();
    expect(fn.snapshot()).toEqual(fresh);
    expect(fn.command).toBe(0);
    expect(fn.barMapped(0)).toBe(false);
  });
});
