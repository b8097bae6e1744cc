/**
 * CRC-64/NVMe (reflected polynomial 0x9A6C9329AC4BC9B5), the DSA 2.0 CRC64 option (op flag 19),
 * with the same seed/flag structure as CRC-32C (§12.1) in 64 bits. The register lives in two u32
 * halves in a caller-owned `Uint32Array(2)` `[lo, hi]`; no BigInt.
 */
import { BITREV8, bitReverse32 } from './crc32c.js';

const POLY_LO = 0xac4bc9b5;
const POLY_HI = 0x9a6c9329;

// The loops read the tables through module-private bindings (see crc32c.ts: V8 does not fold an exported one).
const REV8 = BITREV8;
const LO = new Uint32Array(256);
const HI = new Uint32Array(256);
/** Low halves of the byte table. */
export const CRC64_TABLE_LO: Uint32Array = LO;
/** High halves of the byte table. */
export const CRC64_TABLE_HI: Uint32Array = HI;
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = ((lo >>> 1) | (hi << 31)) >>> 0;
    hi = hi >>> 1;
    if (bit) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  LO[i] = lo;
  HI[i] = hi;
}

/** Advances the register `reg` ([lo, hi]) over `bytes[off, off + len)`; `msbFirst` = op flag 18. */
export function crc64Update(reg: Uint32Array, bytes: Uint8Array, off: number, len: number, msbFirst: boolean): void {
  let lo = reg[0] as number;
  let hi = reg[1] as number;
  const end = off + len;
  for (let i = off; i < end; i++) {
    const b = msbFirst ? (REV8[bytes[i] as number] as number) : (bytes[i] as number);
    const idx = (lo ^ b) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ (LO[idx] as number)) >>> 0;
    hi = ((hi >>> 8) ^ (HI[idx] as number)) >>> 0;
  }
  reg[0] = lo;
  reg[1] = hi;
}

/** Sets `reg` from a 64-bit seed (`seedLo`, `seedHi`): NOT seed, or bit-reversed with op flag 17. */
export function crc64Start(reg: Uint32Array, seedLo: number, seedHi: number, bypass: boolean): void {
  if (bypass) {
    reg[0] = bitReverse32(seedHi);
    reg[1] = bitReverse32(seedLo);
  } else {
    reg[0] = ~seedLo >>> 0;
    reg[1] = ~seedHi >>> 0;
  }
}

/** Converts `reg` in place to the CRC value (NOT, or bit-reversed with op flag 17). */
export function crc64Finish(reg: Uint32Array, bypass: boolean): void {
  const lo = reg[0] as number;
  const hi = reg[1] as number;
  if (bypass) {
    reg[0] = bitReverse32(hi);
    reg[1] = bitReverse32(lo);
  } else {
    reg[0] = ~lo >>> 0;
    reg[1] = ~hi >>> 0;
  }
}
