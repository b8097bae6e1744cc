import { describe, expect, it } from 'vitest';
import { MsixCapability, PciFunctionBuilder } from '../../src/pci/index.js';
import { specFunction } from './fixtures.js';

const CONTROL = 0x42; // message control of the spec function's MSI-X (cap at 0x40)
const ENABLE = 0x8000;
const FUNCTION_MASK = 0x4000;

/** Spec function with a recording delivery callback; `listening` decides what it returns. */
function setup() {
  const parts = specFunction();
  const delivered: number[] = [];
  const state = { listening: true };
  parts.msix.setDelivery((v) => {
    delivered.push(v);
    return state.listening;
  });
  const unmask = (v: number): void => parts.fn.msix?.writeTable(v * 16 + 12, 4, 0);
  return { ...parts, delivered, state, unmask };
}

describe('MSI-X', () => {
  it('masks every vector at reset and reports its count and placement', () => {
    const { fn, msix } = setup();
    expect(fn.msix).toBe(msix);
    expect(msix.vectors).toBe(2);
    expect([msix.isMasked(0), msix.isMasked(1)]).toEqual([true, true]);
    expect(msix.readTable(12, 4)).toBe(1);
    expect(msix.readTable(28, 4)).toBe(1);
    expect([msix.tableBar, msix.tableOffset, msix.tableSize, msix.pbaBar, msix.pbaOffset, msix.pbaSize]).toEqual([0, 0x600, 32, 0, 0x700, 8]);
    expect(msix.enabled).toBe(false);
    expect(msix.functionMasked).toBe(false);
  });

  it('stores address and data and ignores reserved vector-control bits', () => {
    const { msix } = setup();
    msix.writeTable(16, 4, 0xfee00003);
    msix.writeTable(20, 4, 0x12345678);
    msix.writeTable(24, 4, 0x4041);
    msix.writeTable(28, 4, 0xfffffffe);
    expect(msix.addressLo(1)).toBe(0xfee00000);
    expect(msix.addressHi(1)).toBe(0x12345678);
    expect(msix.data(1)).toBe(0x4041);
    expect(msix.readTable(28, 4)).toBe(0);
    expect(msix.readTable(30, 2)).toBe(0);
    expect(msix.readTable(32, 4)).toBe(0); // past the table
  });

  it('sets the pending bit instead of delivering a masked vector', () => {
    const { fn, msix, delivered } = setup();
    fn.config.write(CONTROL, 2, ENABLE);
    expect(msix.notify(1)).toBe(false);
    expect(delivered).toEqual([]);
    expect(msix.isPending(1)).toBe(true);
    expect(msix.readPba(0, 4)).toBe(0b10);
  });

  it('delivers a pending vector once when it is unmasked, and clears its bit', () => {
    const { fn, msix, delivered, unmask } = setup();
    fn.config.write(CONTROL, 2, ENABLE);
    msix.notify(0);
    msix.notify(0);
    unmask(0);
    unmask(0);
    expect(delivered).toEqual([0]);
    expect(msix.isPending(0)).toBe(false);
    expect(msix.notify(0)).toBe(true);
    expect(delivered).toEqual([0, 0]);
  });

  it('holds every vector pending under the function mask and delivers them when it clears', () => {
    const { fn, msix, delivered, unmask } = setup();
    fn.config.write(CONTROL, 2, ENABLE | FUNCTION_MASK);
    unmask(0);
    unmask(1);
    expect(msix.functionMasked).toBe(true);
    expect(msix.notify(0)).toBe(false);
    expect(msix.notify(1)).toBe(false);
    expect(msix.readPba(0, 1)).toBe(0b11);
    fn.config.write(CONTROL, 2, ENABLE);
    expect(delivered).toEqual([0, 1]);
    expect(msix.readPba(0, 1)).toBe(0);
  });

  it('keeps vectors pending while MSI-X is disabled and delivers them when it is enabled', () => {
    const { fn, msix, delivered, unmask } = setup();
    unmask(1);
    expect(msix.notify(1)).toBe(false);
    expect(delivered).toEqual([]);
    fn.config.write(CONTROL + 1, 1, ENABLE >> 8);
    expect(msix.enabled).toBe(true);
    expect(delivered).toEqual([1]);
    expect(msix.isPending(1)).toBe(false);
  });

  it('keeps a vector pending when nobody listens, or when no callback is installed', () => {
    const { fn, msix, state, delivered, unmask } = setup();
    fn.config.write(CONTROL, 2, ENABLE);
    unmask(0);
    state.listening = false;
    expect(msix.notify(0)).toBe(false);
    expect(msix.isPending(0)).toBe(true);
    msix.setDelivery(null);
    expect(msix.notify(0)).toBe(false);
    expect(msix.isPending(0)).toBe(true);
    msix.setDelivery((v) => {
      delivered.push(v);
      return true;
    });
    expect(msix.deliverPending()).toBe(1);
    expect(msix.isPending(0)).toBe(false);
  });

  it('ignores out-of-range vector numbers without throwing', () => {
    const { fn, msix, delivered, unmask } = setup();
    fn.config.write(CONTROL, 2, ENABLE);
    unmask(0);
    for (const v of [2, -1, 1.5, 2048, Number.NaN]) {
      expect(msix.notify(v)).toBe(false);
      expect(msix.isPending(v)).toBe(false);
      expect(msix.isMasked(v)).toBe(true);
      expect(msix.addressLo(v)).toBe(0);
    }
    expect(delivered).toEqual([]);
    expect(msix.readPba(0, 4)).toBe(0);
  });

  it('keeps the PBA read-only and the BIR/offset fields read-only in config space', () => {
    const { fn, msix } = setup();
    msix.notify(1);
    fn.config.write(0x44, 4, 0xffffffff);
    fn.config.write(0x48, 4, 0);
    expect(fn.config.read(0x44, 4)).toBe(0x600);
    expect(fn.config.read(0x48, 4)).toBe(0x700);
    expect(msix.readPba(0, 4)).toBe(2);
    expect(msix.readPba(8, 4)).toBe(0);
  });

  it('returns to all-masked, nothing pending, disabled on reset', () => {
    const { fn, msix, unmask } = setup();
    fn.config.write(CONTROL, 2, ENABLE | FUNCTION_MASK);
    unmask(1);
    msix.writeTable(16, 4, 0xfee00000);
    msix.notify(1);
    fn.reset();
    expect(msix.enabled).toBe(false);
    expect(msix.functionMasked).toBe(false);
    expect(msix.isMasked(1)).toBe(true);
    expect(msix.isPending(1)).toBe(false);
    expect(msix.addressLo(1)).toBe(0);
  });

  it('sizes the PBA in qwords for large vector counts', () => {
    const msix = new MsixCapability({ vectors: 65, tableBar: 1, tableOffset: 0, pbaBar: 1, pbaOffset: 0x800 });
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 1, classCode: 0, configSize: 256 })
      .bar(1, { kind: 'mem32', size: 0x1000 }).capability(msix).build();
    expect(msix.pbaSize).toBe(16);
    expect(fn.config.read(0x42, 2)).toBe(64);
    fn.config.write(0x42, 2, ENABLE | FUNCTION_MASK);
    msix.notify(64);
    expect(msix.readPba(8, 1)).toBe(1);
  });

  it('holds a vector the function cannot send in its pending bit and delivers it by the hardware rules later', () => {
    const { fn, msix, delivered, unmask } = setup();
    fn.config.write(CONTROL, 2, ENABLE);
    unmask(1);
    msix.hold(1);
    expect([delivered, msix.isPending(1)]).toEqual([[], true]);
    expect(msix.deliverPending()).toBe(1);
    expect([delivered, msix.isPending(1)]).toEqual([[1], false]);
  });
});

describe('MSI-X with a VFIO owner\'s sink attached (vfio-uapi.md §5.4)', () => {
  it('hands every raised vector to the sink, whatever enable, function mask and entry masks say; the PBA stays untouched', () => {
    const { fn, msix, delivered } = setup();
    const sunk: number[] = [];
    msix.attachSink((v) => sunk.push(v) > 0);
    expect(msix.notify(1)).toBe(true); // MSI-X disabled, entry masked
    fn.config.write(CONTROL, 2, ENABLE | FUNCTION_MASK);
    expect(msix.notify(0)).toBe(true);
    expect([sunk, delivered, msix.readPba(0, 4)]).toEqual([[1, 0], [], 0]);
  });

  it('reports what the sink answers: a vector it does not signal is dropped, never pending', () => {
    const { msix } = setup();
    msix.attachSink(() => false);
    expect(msix.notify(1)).toBe(false);
    expect(msix.isPending(1)).toBe(false);
  });

  it('leaves the table and message control as storage: unmasking or enabling delivers nothing', () => {
    const { fn, msix, unmask } = setup();
    const sunk: number[] = [];
    msix.attachSink((v) => sunk.push(v) > 0);
    msix.hold(1); // the function's own pending bit
    unmask(1);
    fn.config.write(CONTROL, 2, ENABLE);
    expect([sunk, msix.isMasked(1), msix.enabled, msix.isPending(1)]).toEqual([[], false, true, true]);
    expect(msix.deliverPending()).toBe(1); // the device releases what it held: to the sink, whatever the table says
    expect([sunk, msix.isPending(1)]).toEqual([[1], false]);
  });

  it('restores exactly the hardware route on release; release is idempotent; one sink at a time', () => {
    const { fn, msix, delivered, unmask } = setup();
    const release = msix.attachSink(() => true);
    expect(() => msix.attachSink(() => true)).toThrow(/already attached/);
    release();
    release();
    expect(msix.sinkAttached).toBe(false);
    fn.config.write(CONTROL, 2, ENABLE);
    unmask(0);
    expect(msix.notify(0)).toBe(true);
    expect(delivered).toEqual([0]);
    const again = msix.attachSink(() => true);
    release(); // a stale release does not detach the newer sink
    expect(msix.sinkAttached).toBe(true);
    again();
  });
});
