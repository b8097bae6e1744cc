import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/index.js';

describe('GuestMemory', () => {
  it('allocates a zero-filled ArrayBuffer of the requested size', () => {
    const m = new GuestMemory(8192);
    expect(m.size).toBe(8192);
    expect(m.buffer).toBeInstanceOf(ArrayBuffer);
    expect(m.bytes.every((b) => b === 0)).toBe(true);
    expect(m.view.byteLength).toBe(8192);
  });

  it('allocates a SharedArrayBuffer when asked', () => {
    expect(new GuestMemory(4096, true).buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('wraps an embedder buffer without copying', () => {
    const buf = new SharedArrayBuffer(4096);
    const m = new GuestMemory(buf);
    new Uint8Array(buf)[100] = 0x5a;
    expect(m.bytes[100]).toBe(0x5a);
    expect(m.size).toBe(4096);
  });

  it('rejects a negative or fractional size', () => {
    expect(() => new GuestMemory(-1)).toThrow(RangeError);
    expect(() => new GuestMemory(1.5)).toThrow(RangeError);
  });
});
