/**
 * Base address registers and the expansion ROM: declarations, their validation and the masks that
 * make sizing fall out of the write rule (writing all ones reads back the size mask, as on hardware).
 */
import type { ConfigSpace } from './config-space.js';
import { BarBits, Header, RomBar } from './spec.js';

/** What a BAR decodes: 32-bit memory, 64-bit memory (two slots), or I/O space. */
export type BarKind = 'mem32' | 'mem64' | 'io';

/** A BAR to declare on a function. */
export interface BarOptions {
  /** Address space and width. */
  readonly kind: BarKind;
  /** Size in bytes: a power of two; memory 16 B..2 GiB (32-bit) or ..2^63 (64-bit); I/O 4..256 B. */
  readonly size: number;
  /** Memory only: the prefetchable bit (bit 3). Default false. */
  readonly prefetchable?: boolean;
}

/** A declared BAR as the function reports it. */
export interface BarInfo extends Required<BarOptions> {
  /** BAR number 0..5 (a 64-bit BAR also occupies `index + 1`). */
  readonly index: number;
}

const TWO_32 = 0x1_0000_0000;

/** Index under which BAR events and accessors report the expansion ROM (as VFIO's ROM region). */
export const ROM_INDEX = 6;

/** Low-order read-only type bits of a BAR. */
export function barTypeBits(bar: BarOptions): number {
  if (bar.kind === 'io') return BarBits.IO;
  return (bar.kind === 'mem64' ? BarBits.TYPE_64 : 0) | (bar.prefetchable === true ? BarBits.PREFETCH : 0);
}

function isPowerOfTwo(n: number): boolean {
  if (!Number.isFinite(n) || n < 1 || !Number.isInteger(n)) return false;
  let s = n;
  while (s > 1) {
    if (s % 2 !== 0) return false;
    s /= 2;
  }
  return true;
}

/** Throws a plain `Error` unless `bar` is a valid declaration for slot `index`. */
export function checkBar(index: number, bar: BarOptions): void {
  const where = `BAR${index}`;
  if (!Number.isInteger(index) || index < 0 || index > 5) throw new Error(`BAR index ${index} is outside 0..5`);
  if (bar.kind !== 'mem32' && bar.kind !== 'mem64' && bar.kind !== 'io') {
    throw new Error(`${where}: unknown kind ${String(bar.kind)}`);
  }
  if (bar.kind === 'mem64' && index === 5) throw new Error('BAR5 cannot hold a 64-bit BAR (it needs two slots)');
  if (!isPowerOfTwo(bar.size)) throw new Error(`${where}: size ${bar.size} is not a power of two`);
  if (bar.kind === 'io') {
    if (bar.prefetchable === true) throw new Error(`${where}: an I/O BAR cannot be prefetchable`);
    if (bar.size < 4 || bar.size > 256) throw new Error(`${where}: I/O BAR size ${bar.size} is outside 4..256 bytes`);
    return;
  }
  const max = bar.kind === 'mem32' ? 2 ** 31 : 2 ** 63;
  if (bar.size < 16 || bar.size > max) {
    throw new Error(`${where}: ${bar.kind} BAR size ${bar.size} is outside 16..${max} bytes`);
  }
}

/** Throws a plain `Error` unless `size` is a valid expansion ROM size (power of two, 2 KiB..2 GiB). */
export function checkRom(size: number): void {
  if (!isPowerOfTwo(size) || size < 2048 || size > 2 ** 31) {
    throw new Error(`expansion ROM size ${size} is not a power of two in 2 KiB..2 GiB`);
  }
}

/** Defines the BAR's register(s) in `space`: type bits read-only, address bits above the size writable. */
export function initBar(space: ConfigSpace, bar: BarInfo): void {
  const off = Header.BAR0 + 4 * bar.index;
  const type = barTypeBits(bar);
  if (bar.kind === 'io') {
    space.init(off, 4, type, (~(bar.size - 1) & ~BarBits.IO_FLAGS) >>> 0);
    return;
  }
  if (bar.kind === 'mem32') {
    space.init(off, 4, type, (~(bar.size - 1) & ~BarBits.MEM_FLAGS) >>> 0);
    return;
  }
  const loMask = bar.size >= TWO_32 ? 0 : (~(bar.size - 1) & ~BarBits.MEM_FLAGS) >>> 0;
  const hiMask = bar.size >= TWO_32 ? (~(bar.size / TWO_32 - 1)) >>> 0 : 0xffffffff;
  space.init(off, 4, type, loMask);
  space.init(off + 4, 4, 0, hiMask);
}

/** Defines the expansion ROM register: address bits above the size and the enable bit (0) writable. */
export function initRom(space: ConfigSpace, size: number): void {
  space.init(Header.ROM_ADDRESS, 4, 0, ((~(size - 1) & RomBar.ADDRESS_MASK) | RomBar.ENABLE) >>> 0);
}
