/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) with the DSA seed convention of
 * dsa-operations.md §12.1. Two implementations of the register update: the optional native addon
 * (`vidxd_crc.node`: the CPU's CRC-32C instruction, SSE4.2 `crc32` on x86 with three interleaved
 * streams, else slice-by-8 in C) and JavaScript (slice-by-16 over 32-bit words, tables built once at
 * module load). {@link crc32cUpdate} and {@link crc32cUpdateMsbFirst} use the addon when it is loaded
 * and the buffer is at least {@link CRC32C_NATIVE_MIN} bytes long (below that the call into the addon
 * costs more than it saves), JavaScript otherwise; `VIDXD_CRC=js` in the environment forces JavaScript.
 * The seed/result conventions (inversion, op flag 17) are always JavaScript: two operations per descriptor.
 *
 * Register convention: the functions named `...Update` advance the raw CRC register `r` (no
 * inversion); `crc32cStart`/`crc32cFinish` convert between a DSA seed/result and the register.
 */
import { loadNativeCrc, NATIVE_CRC_MSB_FIRST, nativeCrcUnavailableReason } from '../../native.js';

/** Reflected CRC-32C polynomial. */
export const CRC32C_POLY_REFLECTED = 0x82f63b78;

// The hot loop below reads the tables through this module-private binding, exported under another
// name: V8 keeps an exported binding in a module cell it does not fold into optimized code, so each
// table read paid for loading the array and checking it again (on one machine: 1.75 GB/s through the
// export, 2.2 GB/s through the private binding).
const TABLE: Int32Array = (() => {
  const t = new Int32Array(16 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY_REFLECTED : c >>> 1;
    t[i] = c;
  }
  for (let k = 1; k < 16; k++) {
    for (let i = 0; i < 256; i++) {
      const p = t[(k - 1) * 256 + i] as number;
      t[k * 256 + i] = (p >>> 8) ^ (t[p & 0xff] as number);
    }
  }
  return t;
})();

/** Bit-reversal of every byte value. */
export const BITREV8: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let r = 0;
    for (let k = 0; k < 8; k++) if (i & (1 << k)) r |= 0x80 >>> k;
    t[i] = r;
  }
  return t;
})();

/** The 16 slicing tables, 256 entries each, table t at `t * 256` (table 0 is the byte table). */
export const CRC32C_TABLE: Int32Array = TABLE;

/** Reverses the 32 bits of `x` (result unsigned). */
export function bitReverse32(x: number): number {
  return (
    (((BITREV8[x & 0xff] as number) << 24) |
      ((BITREV8[(x >>> 8) & 0xff] as number) << 16) |
      ((BITREV8[(x >>> 16) & 0xff] as number) << 8) |
      (BITREV8[x >>> 24] as number)) >>>
    0
  );
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let wordsBuffer: ArrayBufferLike | null = null;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);

/** The Int32Array view of `buffer`, cached for the last buffer seen (allocates only on a change). */
function wordsOf(buffer: ArrayBufferLike): Int32Array<ArrayBufferLike> {
  if (buffer !== wordsBuffer) {
    words = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    wordsBuffer = buffer;
  }
  return words;
}

/**
 * Advances the CRC-32C register `r` over `bytes[off, off + len)` in JavaScript (slice-by-16).
 * Reflected, no inversion. Returns the new register (unsigned).
 */
export function crc32cUpdateJs(r: number, bytes: Uint8Array, off: number, len: number): number {
  const T = TABLE;
  let i = off;
  const end = off + len;
  r |= 0;
  if (len >= 64 && LITTLE_ENDIAN) {
    const base = bytes.byteOffset;
    while (((base + i) & 3) !== 0) r = (T[(r ^ (bytes[i++] as number)) & 0xff] as number) ^ (r >>> 8);
    const w32 = wordsOf(bytes.buffer);
    let w = (base + i) >>> 2;
    const wEnd = w + (((end - i) >>> 4) << 2);
    while (w < wEnd) {
      const a = r ^ (w32[w] as number);
      const b = w32[w + 1] as number;
      const c = w32[w + 2] as number;
      const d = w32[w + 3] as number;
      r =
        (T[3840 + (a & 0xff)] as number) ^
        (T[3584 + ((a >>> 8) & 0xff)] as number) ^
        (T[3328 + ((a >>> 16) & 0xff)] as number) ^
        (T[3072 + (a >>> 24)] as number) ^
        (T[2816 + (b & 0xff)] as number) ^
        (T[2560 + ((b >>> 8) & 0xff)] as number) ^
        (T[2304 + ((b >>> 16) & 0xff)] as number) ^
        (T[2048 + (b >>> 24)] as number) ^
        (T[1792 + (c & 0xff)] as number) ^
        (T[1536 + ((c >>> 8) & 0xff)] as number) ^
        (T[1280 + ((c >>> 16) & 0xff)] as number) ^
        (T[1024 + (c >>> 24)] as number) ^
        (T[768 + (d & 0xff)] as number) ^
        (T[512 + ((d >>> 8) & 0xff)] as number) ^
        (T[256 + ((d >>> 16) & 0xff)] as number) ^
        (T[d >>> 24] as number);
      w += 4;
    }
    i = (w << 2) - base;
  }
  while (i < end) r = (T[(r ^ (bytes[i++] as number)) & 0xff] as number) ^ (r >>> 8);
  return r >>> 0;
}

/**
 * Like {@link crc32cUpdateJs} but with every data byte bit-reversed first (DSA op flag 18, "bypass data
 * reflection": bit 7 of each byte is the most significant). JavaScript, byte at a time.
 */
export function crc32cUpdateMsbFirstJs(r: number, bytes: Uint8Array, off: number, len: number): number {
  const T = TABLE;
  const end = off + len;
  for (let i = off; i < end; i++) r = (T[(r ^ (BITREV8[bytes[i] as number] as number)) & 0xff] as number) ^ (r >>> 8);
  return r >>> 0;
}

const native = loadNativeCrc();
const nativeState = native === null ? new Uint32Array(2) : native.crc32cState;

/**
 * Shortest buffer {@link crc32cUpdate} hands to the native addon; shorter ones are computed in
 * JavaScript, where they cost less than the call into the addon. Measured on a loaded 2-core x86
 * machine: a call costs about 40–55 ns whatever the length, JavaScript about 2.5 ns per byte below
 * 64 bytes (byte at a time), so the two meet near 20–24 bytes; 32 leaves a margin for slower calls.
 */
export const CRC32C_NATIVE_MIN = 32;

/** Shortest buffer {@link crc32cUpdateMsbFirst} hands to the native addon (its JavaScript path is bytewise at every length; same crossing point). */
export const CRC32C_NATIVE_MIN_MSB_FIRST = 32;

/** Which implementation of the CRC-32C register update this process uses. */
export interface Crc32cImplementation {
  /** `'native'`: the addon for buffers of at least {@link CRC32C_NATIVE_MIN} bytes; `'js'`: JavaScript only. */
  readonly path: 'native' | 'js';
  /** The addon's fast path (`'sse4.2'` or `'slice-by-8'`), or `'slice-by-16'` for JavaScript. */
  readonly impl: string;
  /** Why the addon is not used ('' when it is): `'VIDXD_CRC=js'`, `'the addon is not built'`, ... */
  readonly reason: string;
}

/** The implementation chosen at module load (the addon is loaded once; `VIDXD_CRC` is read then). */
export const CRC32C_IMPLEMENTATION: Crc32cImplementation =
  native === null
    ? { path: 'js', impl: 'slice-by-16', reason: nativeCrcUnavailableReason() }
    : { path: 'native', impl: native.crc32cImpl, reason: '' };

/**
 * Advances the CRC-32C register `r` over `bytes[off, off + len)`: reflected, no inversion; the
 * caller guarantees `0 <= off <= off + len <= bytes.length`. Returns the new register (unsigned).
 * Uses the native addon when it is loaded and `len >= CRC32C_NATIVE_MIN`, else {@link crc32cUpdateJs};
 * allocates nothing either way.
 */
export function crc32cUpdate(r: number, bytes: Uint8Array, off: number, len: number): number {
  if (native === null || len < CRC32C_NATIVE_MIN) return crc32cUpdateJs(r, bytes, off, len);
  const st = nativeState;
  st[0] = r;
  st[1] = 0;
  native.crc32c(bytes, off, len);
  return st[0] as number;
}

/**
 * Like {@link crc32cUpdate} but with every data byte bit-reversed first (DSA op flag 18, "bypass data
 * reflection": bit 7 of each byte is the most significant).
 */
export function crc32cUpdateMsbFirst(r: number, bytes: Uint8Array, off: number, len: number): number {
  if (native === null || len < CRC32C_NATIVE_MIN_MSB_FIRST) return crc32cUpdateMsbFirstJs(r, bytes, off, len);
  const st = nativeState;
  st[0] = r;
  st[1] = NATIVE_CRC_MSB_FIRST;
  native.crc32c(bytes, off, len);
  return st[0] as number;
}

/** Register value that starts a CRC from a DSA seed (§12.1 step 1; `bypass` = op flag 17). */
export function crc32cStart(seed: number, bypass: boolean): number {
  return bypass ? bitReverse32(seed) : ~seed >>> 0;
}

/** DSA CRC value from the register (§12.1 step 3; `bypass` = op flag 17). */
export function crc32cFinish(r: number, bypass: boolean): number {
  return bypass ? bitReverse32(r) : ~r >>> 0;
}

/**
 * CRC-32C of `bytes` exactly as CRCGEN computes it: seed (0 = fresh CRC), op flag 17 (`bypassInversion`)
 * and op flag 18 (`msbFirst`). Seed 0 without flags is the standard CRC-32C (check value 0xE3069283).
 */
export function crc32c(bytes: Uint8Array, seed = 0, bypassInversion = false, msbFirst = false): number {
  const r0 = crc32cStart(seed >>> 0, bypassInversion);
  const r = msbFirst ? crc32cUpdateMsbFirst(r0, bytes, 0, bytes.length) : crc32cUpdate(r0, bytes, 0, bytes.length);
  return crc32cFinish(r, bypassInversion);
}
