import { describe, expect, it } from 'vitest';
import { Command, Header, PciFunctionBuilder, ROM_INDEX, Status } from '../../src/pci/index.js';
import { barFunction, specFunction } from './fixtures.js';

describe('header registers', () => {
  it('resets to the IDs, class, status and pointers it was built with', () => {
    const { fn } = specFunction();
    const c = fn.config;
    expect(c.read(Header.VENDOR_ID, 2)).toBe(0x8086);
    expect(c.read(Header.DEVICE_ID, 2)).toBe(0x0b25);
    expect(c.read(Header.COMMAND, 2)).toBe(0);
    expect(c.read(Header.STATUS, 2)).toBe(Status.CAP_LIST);
    expect(c.read(Header.REVISION_ID, 4)).toBe(0x08800000);
    expect(c.read(Header.HEADER_TYPE, 1)).toBe(0);
    expect(c.read(Header.SUBSYSTEM_VENDOR_ID, 4)).toBe(0x00008086);
    expect(c.read(Header.CAPABILITY_LIST, 1)).toBe(0x40);
    expect(c.read(Header.INTERRUPT_LINE, 1)).toBe(0xff);
    expect(c.read(Header.INTERRUPT_PIN, 1)).toBe(0);
  });

  it('ignores guest writes to IDs, class, header type, capability pointer and interrupt pin', () => {
    const { fn } = specFunction();
    const c = fn.config;
    for (const off of [0x00, 0x08, 0x0c, 0x2c, 0x34, 0x3c]) c.write(off, 4, 0xffffffff);
    expect(c.read(0x00, 4)).toBe(0x0b258086);
    expect(c.read(0x08, 4)).toBe(0x08800000);
    expect(c.read(0x0c, 4)).toBe(0x000000ff); // only the cache line size is writable
    expect(c.read(0x2c, 4)).toBe(0x00008086);
    expect(c.read(0x34, 1)).toBe(0x40);
    expect(c.read(0x3c, 4)).toBe(0x000000ff); // interrupt line writable, pin read-only
  });

  it('makes only the implemented command bits writable', () => {
    const { fn } = specFunction();
    fn.config.write(Header.COMMAND, 2, 0xffff);
    expect(fn.config.read(Header.COMMAND, 2)).toBe(Command.MEMORY | Command.BUS_MASTER | Command.SERR | Command.INTX_DISABLE);
  });

  it('honours a configured command mask', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0, commandMask: Command.BUS_MASTER }).build();
    fn.config.write(Header.COMMAND, 2, 0xffff);
    expect(fn.command).toBe(Command.BUS_MASTER);
  });

  it('clears status error bits only by writing ones, never sets them', () => {
    const { fn } = specFunction();
    const c = fn.config;
    c.write(Header.STATUS, 2, 0xffff);
    expect(c.read(Header.STATUS, 2)).toBe(Status.CAP_LIST);
    c.setBits(Header.STATUS, 2, Status.REC_MASTER_ABORT | Status.SIG_TARGET_ABORT);
    c.write(Header.STATUS, 2, Status.REC_MASTER_ABORT);
    expect(c.read(Header.STATUS, 2)).toBe(Status.CAP_LIST | Status.SIG_TARGET_ABORT);
  });

  it('tells command listeners the old and new value, once per change', () => {
    const { fn } = specFunction();
    const seen: [number, number][] = [];
    fn.onCommandChange((o, n) => seen.push([o, n]));
    fn.config.write(Header.COMMAND, 2, Command.BUS_MASTER | Command.MEMORY);
    fn.config.write(Header.COMMAND, 2, Command.BUS_MASTER | Command.MEMORY); // no change
    fn.config.write(Header.COMMAND, 1, Command.MEMORY); // clears bus master
    fn.config.write(Header.STATUS, 2, 0xffff); // not the command register
    expect(seen).toEqual([[0, 6], [6, 2]]);
    expect(fn.busMaster).toBe(false);
  });

  it('stops telling a listener once it is removed', () => {
    const { fn } = specFunction();
    let calls = 0;
    const off = fn.onCommandChange(() => calls++);
    fn.config.write(Header.COMMAND, 2, Command.BUS_MASTER);
    off();
    fn.config.write(Header.COMMAND, 2, 0);
    expect(calls).toBe(1);
  });
});

describe('BARs', () => {
  it('sizes a 64-bit 8 KiB prefetchable BAR by writing all ones', () => {
    const { fn } = specFunction();
    const c = fn.config;
    expect(c.read(0x10, 4)).toBe(0x0000000c);
    c.write(0x10, 4, 0xffffffff);
    c.write(0x14, 4, 0xffffffff);
    expect(c.read(0x10, 4)).toBe(0xffffe00c);
    expect(c.read(0x14, 4)).toBe(0xffffffff);
  });

  it('answers a masked probe (0xFFFFFFF0) the same way', () => {
    const { fn } = specFunction();
    fn.config.write(0x18, 4, 0xfffffff0);
    expect(fn.config.read(0x18, 4)).toBe(0xffffe00c);
  });

  it('keeps an assigned address within the size alignment', () => {
    const { fn } = specFunction();
    fn.config.write(0x10, 4, 0xfe001234);
    fn.config.write(0x14, 4, 0x00000001);
    expect(fn.config.read(0x10, 4)).toBe(0xfe00000c);
    expect(fn.config.read(0x14, 4)).toBe(1);
    expect(fn.barAddressLo(0)).toBe(0xfe000000);
    expect(fn.barAddressHi(0)).toBe(1);
  });

  it('sizes a 32-bit memory BAR and an I/O BAR', () => {
    const fn = barFunction();
    fn.config.write(0x18, 4, 0xffffffff);
    fn.config.write(0x1c, 4, 0xffffffff);
    expect(fn.config.read(0x18, 4)).toBe(0xfffff000);
    expect(fn.config.read(0x1c, 4)).toBe(0xffffffe1);
  });

  it('sizes a 64-bit BAR larger than 4 GiB through its high dword', () => {
    const fn = barFunction();
    fn.config.write(0x20, 4, 0xffffffff);
    fn.config.write(0x24, 4, 0xffffffff);
    expect(fn.config.read(0x20, 4)).toBe(0x00000004);
    expect(fn.config.read(0x24, 4)).toBe(0xfffffffe);
  });

  it('sizes the expansion ROM and keeps its enable bit writable', () => {
    const fn = barFunction();
    fn.config.write(Header.ROM_ADDRESS, 4, 0xfffff800);
    expect(fn.config.read(Header.ROM_ADDRESS, 4)).toBe(0xffff0000);
    fn.config.write(Header.ROM_ADDRESS, 4, 0xffffffff);
    expect(fn.config.read(Header.ROM_ADDRESS, 4)).toBe(0xffff0001);
  });

  it('reads absent BAR slots and an absent ROM as 0 and ignores writes to them', () => {
    const { fn } = specFunction();
    for (const off of [0x20, 0x24, Header.ROM_ADDRESS]) {
      fn.config.write(off, 4, 0xffffffff);
      expect(fn.config.read(off, 4)).toBe(0);
    }
  });

  it('reports BAR address and decode-enable changes to BAR listeners', () => {
    const fn = barFunction();
    const events: string[] = [];
    fn.onBarChange((i, mapped, lo, hi) => events.push(`${i} ${mapped} ${lo.toString(16)} ${hi.toString(16)}`));
    fn.config.write(0x18, 4, 0xc0000000); // BAR2 moves while decode is off
    fn.config.write(Header.COMMAND, 2, Command.MEMORY); // memory BARs start decoding; I/O BAR does not
    fn.config.write(Header.ROM_ADDRESS, 4, 0xd0000001); // ROM enabled
    fn.config.write(0x1c, 4, 0x1000); // I/O address (mask 0x1 type bit)
    fn.config.write(Header.COMMAND, 2, Command.IO | Command.MEMORY);
    fn.config.write(Header.COMMAND, 2, 0);
    expect(events).toEqual([
      '2 false c0000000 0',
      '0 true 0 0', '2 true c0000000 0', '4 true 0 0',
      `${ROM_INDEX} true d0000000 0`,
      '3 false 1000 0',
      '3 true 1000 0',
      '0 false 0 0', '2 false c0000000 0', '3 false 1000 0', '4 false 0 0', `${ROM_INDEX} false d0000000 0`,
    ]);
    expect(fn.barMapped(2)).toBe(false);
  });
});
