import { describe, expect, it } from 'vitest';
import { Dma, GuestMemory, IoAddressSpace, Perm } from '../../src/memory/index.js';

function setup(): { mem: GuestMemory; s: IoAddressSpace; dma: Dma } {
  const mem = new GuestMemory(1 << 16);
  const s = new IoAddressSpace();
  // Two non-contiguous extents back to back in IOVA, then a hole.
  s.map(0x1000, 0x1000, mem, 0x8000, Perm.RW);
  s.map(0x2000, 0x1000, mem, 0x3000, Perm.RW);
  return { mem, s, dma: new Dma() };
}

describe('Dma', () => {
  it('writes and reads back across runs', () => {
    const { mem, s, dma } = setup();
    const data = Uint8Array.from({ length: 200 }, (_, i) => i);
    expect(dma.write(s, 0x1fa0, data, 0, 200)).toBe(200);
    expect(mem.bytes[0x8fa0]).toBe(0);
    expect(mem.bytes[0x3000]).toBe(0x60);
    const back = new Uint8Array(200);
    expect(dma.read(s, 0x1fa0, back, 0, 200)).toBe(200);
    expect(back).toEqual(data);
  });

  it('stops at the first fault and returns the bytes done', () => {
    const { s, dma } = setup();
    const out = new Uint8Array(0x3000);
    expect(dma.read(s, 0x2f00, out, 0, 0x200)).toBe(0x100);
    expect(dma.fill(s, 0x2ff0, 0xab, 0x20)).toBe(0x10);
    expect(dma.probe(s, 0x1000, 0x3000, true)).toBe(0x2000);
    expect(dma.read(null, 0x1000, out, 0, 1)).toBe(0);
  });

  it('fills bytes', () => {
    const { mem, s, dma } = setup();
    expect(dma.fill(s, 0x1ff0, 0x7e, 0x20)).toBe(0x20);
    expect(mem.bytes[0x8ff0]).toBe(0x7e);
    expect(mem.bytes[0x300f]).toBe(0x7e);
    expect(mem.bytes[0x3010]).toBe(0);
  });
});
