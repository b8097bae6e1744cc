import { describe, expect, it } from 'vitest';
import {
  CRC16_T10DIF_TABLE,
  CRC32C_TABLE,
  crc16T10Dif,
  crc32c,
  crc32cUpdate,
  crc64Finish,
  crc64Start,
  crc64Update,
} from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';
import { ascii, pat, ramp } from './harness.js';

const fill = (n: number, b: number): Uint8Array => new Uint8Array(n).fill(b);

describe('CRC-32C check values (dsa-operations.md §12.3)', () => {
  const cases: [string, Uint8Array, number, number][] = [
    ['"123456789"', ascii('123456789'), 0, 0xe3069283],
    ['"123456789" seed 0x12345678', ascii('123456789'), 0x12345678, 0x27d87b6a],
    ['"123456789" seed 0xFFFFFFFF', ascii('123456789'), 0xffffffff, 0xa71c05df],
    ['"1234"', ascii('1234'), 0, 0xf63af4ee],
    ['"56789" chained', ascii('56789'), 0xf63af4ee, 0xe3069283],
    ['4096 x 0x00', fill(4096, 0), 0, 0x98f94189],
    ['4096 x 0xFF', fill(4096, 0xff), 0, 0x25c1fe13],
    ['ramp(4096)', ramp(4096), 0, 0x9c71fe32],
    ['32 x 0x00', fill(32, 0), 0, 0x8a9136aa],
    ['32 x 0xFF', fill(32, 0xff), 0, 0x62a8ab43],
    ['0x00..0x1F', ramp(32), 0, 0x46dd794e],
    ['0x1F..0x00', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0, 0x113fdb5c],
    ['pat(4096)', pat(4096), 0, 0x820c97a4],
    ['pat(4096) seed 0x12345678', pat(4096), 0x12345678, 0x1b6f4410],
  ];
  for (const [name, data, seed, want] of cases) {
    it(`${name} -> 0x${want.toString(16)}`, () => expect(crc32c(data, seed)).toBe(want));
  }

  it('chains ramp(4096) at 2048 and at 1000', () => {
    const r = ramp(4096);
    expect(crc32c(r.subarray(2048), crc32c(r.subarray(0, 2048)))).toBe(0x9c71fe32);
    expect(crc32c(r.subarray(1000), crc32c(r.subarray(0, 1000)))).toBe(0x9c71fe32);
  });

  it('applies op flags 17 and 18', () => {
    const d = ascii('123456789');
    expect(crc32c(d, 0, true)).toBe(0x045fc71a);
    expect(crc32c(d, 0x12345678, true)).toBe(0xa1b203f2);
    expect(crc32c(d, 0, false, true)).toBe(0xa8f022a0);
    expect(crc32c(d, 0, true, true)).toBe(0xc052a8c8);
  });

  it('chains in every flag combination', () => {
    const prng = new Prng(17);
    const d = prng.bytes(777);
    for (const bypass of [false, true]) {
      for (const msb of [false, true]) {
        const whole = crc32c(d, 0x5555aaaa, bypass, msb);
        expect(crc32c(d.subarray(300), crc32c(d.subarray(0, 300), 0x5555aaaa, bypass, msb), bypass, msb)).toBe(whole);
      }
    }
  });

  it('has table entry[1] = 0xF26B8303', () => {
    expect(CRC32C_TABLE[1]! >>> 0).toBe(0xf26b8303);
  });

  it('crc32cUpdate (the addon from CRC32C_NATIVE_MIN bytes, else slice-by-16) equals the byte-at-a-time definition for every alignment and length', () => {
    const prng = new Prng(0xc3c);
    const buf = prng.bytes(5000);
    const bytewise = (b: Uint8Array, off: number, len: number): number => {
      let r = 0xffffffff;
      for (let i = off; i < off + len; i++) r = (CRC32C_TABLE[(r ^ b[i]!) & 0xff]! ^ (r >>> 8)) >>> 0;
      return r;
    };
    for (let k = 0; k < 300; k++) {
      const off = prng.below(64);
      const len = prng.below(4900);
      expect(crc32cUpdate(0xffffffff, buf, off, len)).toBe(bytewise(buf, off, len));
    }
    // A view with a non-zero byte offset into its buffer.
    const view = new Uint8Array(buf.buffer, 3, 4000);
    expect(crc32cUpdate(0xffffffff, view, 1, 3000)).toBe(bytewise(buf, 4, 3000));
  });
});

describe('CRC-16/T10-DIF check values (§12.3)', () => {
  const cases: [string, Uint8Array, boolean, boolean, number][] = [
    ['"123456789"', ascii('123456789'), false, false, 0xd0db],
    ['"123456789" invert seed', ascii('123456789'), true, false, 0x8e3c],
    ['"123456789" invert result', ascii('123456789'), false, true, 0x2f24],
    ['"123456789" both', ascii('123456789'), true, true, 0x71c3],
    ['"abc"', ascii('abc'), false, false, 0x443b],
    ['512 x 0x00', fill(512, 0), false, false, 0x0000],
    ['512 x 0x00 invert seed', fill(512, 0), true, false, 0x72bb],
    ['512 x 0x00 invert result', fill(512, 0), false, true, 0xffff],
    ['512 x 0xFF', fill(512, 0xff), false, false, 0xe6a1],
    ['ramp(512)', ramp(512), false, false, 0x4f10],
    ['ramp(520)', ramp(520), false, false, 0x297a],
    ['ramp(4096)', ramp(4096), false, false, 0x8f6d],
    ['ramp(4104)', ramp(4104), false, false, 0x6a1a],
    ['pat(512)', pat(512), false, false, 0x03c7],
  ];
  for (const [name, data, seed, result, want] of cases) {
    it(`${name} -> 0x${want.toString(16)}`, () => expect(crc16T10Dif(data, seed, result)).toBe(want));
  }

  it('has a zero residue over data followed by its big-endian guard', () => {
    const d = new Uint8Array(514);
    d.set(ramp(512));
    d[512] = 0x4f;
    d[513] = 0x10;
    expect(crc16T10Dif(d)).toBe(0);
  });

  it('uses the MSB-first table of polynomial 0x8BB7', () => {
    expect(CRC16_T10DIF_TABLE[1]).toBe(0x8bb7);
  });
});

describe('CRC-64 (2.0 option, op flag 19)', () => {
  it('"123456789" seed 0 -> 0xAE8B14860A799888', () => {
    const reg = new Uint32Array(2);
    crc64Start(reg, 0, 0, false);
    crc64Update(reg, ascii('123456789'), 0, 9, false);
    crc64Finish(reg, false);
    expect(reg[1]).toBe(0xae8b1486);
    expect(reg[0]).toBe(0x0a799888);
  });
});
