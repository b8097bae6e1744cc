/** The demo's plain-JS reference computations reproduce the check values of dsa-operations.md §12.3. */
import { describe, expect, it } from 'vitest';
import { refCrc16T10Dif, refCrc32c, refDelta, refDifInsert, refFill } from '../../src/cli/reference.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const ramp = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

describe('reference computations', () => {
  it('CRC-32C', () => {
    expect(refCrc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(refCrc32c(ascii('123456789'), 0x12345678)).toBe(0x27d87b6a);
    expect(refCrc32c(ascii('56789'), refCrc32c(ascii('1234')))).toBe(0xe3069283);
    expect(refCrc32c(new Uint8Array(4096))).toBe(0x98f94189);
    expect(refCrc32c(ramp(4096))).toBe(0x9c71fe32);
  });

  it('CRC-16/T10-DIF and DIF tuples', () => {
    expect(refCrc16T10Dif(ascii('123456789'))).toBe(0xd0db);
    expect(refCrc16T10Dif(ramp(512))).toBe(0x4f10);
    const out = refDifInsert(ramp(1024), 512, 0x12345678, 0xabcd);
    expect([...out.subarray(512, 520)]).toEqual([0x4f, 0x10, 0xab, 0xcd, 0x12, 0x34, 0x56, 0x78]);
    expect([...out.subarray(1032, 1040)]).toEqual([0x4f, 0x10, 0xab, 0xcd, 0x12, 0x34, 0x56, 0x79]);
  });

  it('fill and delta records', () => {
    expect([...refFill(10, 0x0123456789abcdefn)]).toEqual([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0xef, 0xcd]);
    const a = new Uint8Array(64);
    const b = a.slice();
    b.fill(0x11, 8, 16);
    b.fill(0x22, 40, 48);
    expect([...refDelta(a, b)]).toEqual([1, 0, ...new Array<number>(8).fill(0x11), 5, 0, ...new Array<number>(8).fill(0x22)]);
  });
});
