/**
 * Plain-JS reference computations the demo checks the device against, written independently of the
 * device model (bit-at-a-time CRCs from the polynomials, tuples and records built from their
 * definitions in dsa-operations.md §7 and §12), so a shared mistake cannot pass unnoticed.
 */

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) continuing from `seed` (0 for a fresh CRC), DSA seed convention. */
export function refCrc32c(data: Uint8Array, seed = 0): number {
  let r = ~seed >>> 0;
  for (const b of data) {
    r ^= b;
    for (let k = 0; k < 8; k++) r = r & 1 ? (r >>> 1) ^ 0x82f63b78 : r >>> 1;
  }
  return ~r >>> 0;
}

/** CRC-16/T10-DIF (polynomial 0x8BB7, MSB first, initial value 0, no final XOR). */
export function refCrc16T10Dif(data: Uint8Array): number {
  let r = 0;
  for (const b of data) {
    r ^= b << 8;
    for (let k = 0; k < 8; k++) r = r & 0x8000 ? ((r << 1) ^ 0x8bb7) & 0xffff : (r << 1) & 0xffff;
  }
  return r;
}

/**
 * The protected stream DIF_INS produces from `data` (whole blocks of `bs` bytes): each block followed
 * by its big-endian tuple {guard, app tag, ref tag}, ref tag incrementing from `ref`, app tag fixed.
 */
export function refDifInsert(data: Uint8Array, bs: number, ref: number, app: number): Uint8Array {
  const n = data.length / bs;
  const out = new Uint8Array(n * (bs + 8));
  const v = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const block = data.subarray(i * bs, (i + 1) * bs);
    out.set(block, i * (bs + 8));
    const t = i * (bs + 8) + bs;
    v.setUint16(t, refCrc16T10Dif(block));
    v.setUint16(t + 2, app);
    v.setUint32(t + 4, (ref + i) >>> 0);
  }
  return out;
}

/** `size` bytes of an 8-byte little-endian pattern repeated. */
export function refFill(size: number, pattern: bigint): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((pattern >> BigInt(8 * (i % 8))) & 0xffn);
  return out;
}

/** The delta record (10-byte entries: u16 word offset, 8 bytes of `modified`) that turns `original` into `modified`. */
export function refDelta(original: Uint8Array, modified: Uint8Array): Uint8Array {
  const entries: number[] = [];
  for (let w = 0; w < original.length / 8; w++) {
    let differs = false;
    for (let k = 0; k < 8; k++) if (original[8 * w + k] !== modified[8 * w + k]) differs = true;
    if (!differs) continue;
    entries.push(w & 0xff, w >>> 8, ...modified.subarray(8 * w, 8 * w + 8));
  }
  return Uint8Array.from(entries);
}

/** Offset of the first byte where `a` and `b` differ, −1 when equal. */
export function refFirstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** True when `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && refFirstDifference(a, b) < 0;
}

/** A small seeded PRNG (xorshift32 over a splitmix-mixed seed): the demo's data is the same for the same seed. */
export class DemoRandom {
  private s: number;

  /** Seeds the generator. */
  constructor(seed: number) {
    let z = (seed + 0x9e3779b9) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.s = (z ^ (z >>> 16)) >>> 0 || 1;
  }

  /** A 32-bit unsigned integer. */
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): Uint8Array {
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.u32() & 0xff;
    return bytes;
  }
}
