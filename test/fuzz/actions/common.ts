/**
 * What the actions share: the action record, little-endian byte helpers, and what a guest driver
 * knows when it builds descriptors (its WQCFG PASID, the interrupt handles it holds).
 */
import type { VfioDevice } from '../../../src/vfio/index.js';
import type { DescriptorSource } from '../descriptors.js';
import type { Fuzzer } from '../fuzzer.js';
import type { FuzzGuest } from '../guest.js';
import type { VdevPortalMapping } from '../../../src/vidxd/index.js';

/** One kind of action: its name in the summary, its relative frequency, and what it does. */
export interface ActionDef {
  /** Name in the summary. */
  readonly name: string;
  /** Relative weight of the kind in the random choice. */
  readonly weight: number;
  /** Runs one action of this kind against the fuzzer's state. */
  readonly run: (f: Fuzzer) => void;
}

/** Region index of BAR0 (registers). */
export const BAR0 = 0;
/** Region index of BAR2 (portals). */
export const BAR2 = 2;
/** Region index of config space. */
export const CONFIG = 7;

/** The low `size` bytes of `value` (repeated past 4 bytes), little-endian. */
export function le(value: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (value >>> (8 * (i & 3))) & 0xff;
  return b;
}

/** A little-endian number from up to 4 bytes of `b`. */
export function fromLe(b: Uint8Array): number {
  let v = 0;
  for (let i = Math.min(4, b.length) - 1; i >= 0; i--) v = (v << 8) | (b[i] as number);
  return v >>> 0;
}

const dword = new Uint8Array(4);

/** A 4-byte read of region `index` at `offset` through the handle (the caller knows it is legal). */
export function read32(h: VfioDevice<VdevPortalMapping>, index: number, offset: number): number {
  h.readRegion(index, offset, dword);
  return fromLe(dword);
}

/** A 4-byte write of region `index` at `offset` through the handle. */
export function write32(h: VfioDevice<VdevPortalMapping>, index: number, offset: number, value: number): void {
  h.writeRegion(index, offset, le(value, 4));
}

/** What the guest of `g` (open) knows when it builds a descriptor: its WQCFG PASID and held handles. */
export function descriptorSource(f: Fuzzer, g: FuzzGuest & { handle: VfioDevice<VdevPortalMapping> }): DescriptorSource {
  const pasid = (read32(g.handle, BAR0, 0x508) >>> 8) & 0xfffff;
  const handles = g.vdev.heldHandles().filter((h): h is number => h !== null);
  return { r: f.r, pasid, handles, memory: g.memory };
}

/**
 * Commands that may abandon the vdev's queued descriptors (ABORT_ALL, RESET_DEVICE, ABORT_WQ,
 * RESET_WQ, ABORT_PASID); every other command must leave them queued or let them run.
 */
export const ABORTIVE_COMMANDS: ReadonlySet<number> = new Set([4, 5, 9, 10, 12]);

/**
 * Whether the 4-byte CMD value `cmd` written by the guest of `g` may abandon its descriptors: an
 * abortive command — ABORT_PASID only with the guest PASID its descriptors run with (WQCFG.pasid,
 * locked while the WQ is enabled, with pasid_en or on a shared vdev); no descriptor has another.
 */
export function abortive(g: FuzzGuest & { handle: VfioDevice<VdevPortalMapping> }, cmd: number): boolean {
  const code = (cmd >>> 20) & 0x1f;
  if (!ABORTIVE_COMMANDS.has(code)) return false;
  if (code !== 12) return true;
  const wqcfg = read32(g.handle, BAR0, 0x508);
  return (g.mode === 'shared' || ((wqcfg >>> 28) & 1) === 1) && ((wqcfg >>> 8) & 0xfffff) === (cmd & 0xfffff);
}

/** Hex for the reproducer. */
export function x(n: number): string {
  return `0x${n.toString(16)}`;
}
