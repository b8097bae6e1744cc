/**
 * The answers of GET_INFO, GET_REGION_INFO and GET_IRQ_INFO as plain objects (the argsz-free object
 * API), and the vfio-pci region offset encoding (`vfio-uapi.md` §§2–5).
 */
import {
  VFIO_PCI_OFFSET_SHIFT,
  VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_INFO_FLAG_MMAP,
} from './constants.js';
import type { SparseMmapArea } from './device-ops.js';

/** Bytes of device-handle position space per region: 2^40. */
export const REGION_SPAN = 2 ** VFIO_PCI_OFFSET_SHIFT;

/**
 * The device-handle position where region `index` starts: index × 2^40, vfio-pci's encoding (exact up to
 * index 8191). Use this rather than a shift: JavaScript's `<<` works on 32 bits and wraps.
 */
export function regionOffset(index: number): number {
  return index * REGION_SPAN;
}

/** `1 / REGION_SPAN`, exact (a power of two): decoding a position multiplies instead of dividing. */
const INV_REGION_SPAN = 1 / REGION_SPAN;

/** The region index a device-handle position addresses: `pos >> 40`. */
export function regionIndexOf(pos: number): number {
  return Math.floor(pos * INV_REGION_SPAN);
}

/** The region-relative byte a device-handle position addresses: `pos & (2^40 − 1)`. */
export function regionByteOf(pos: number): number {
  return pos % REGION_SPAN;
}

/** GET_INFO answer. */
export interface DeviceInfo {
  /** VFIO_DEVICE_FLAGS_*. */
  readonly flags: number;
  /** Number of regions (max index + 1). */
  readonly numRegions: number;
  /** Number of IRQ indices (max index + 1). */
  readonly numIrqs: number;
}

/** SPARSE_MMAP capability. */
export interface SparseMmapCap {
  /** VFIO_REGION_INFO_CAP_SPARSE_MMAP. */
  readonly id: typeof VFIO_REGION_INFO_CAP_SPARSE_MMAP;
  /** The areas, region-relative. */
  readonly areas: readonly SparseMmapArea[];
}

/** TYPE capability. */
export interface RegionTypeCap {
  /** VFIO_REGION_INFO_CAP_TYPE. */
  readonly id: typeof VFIO_REGION_INFO_CAP_TYPE;
  /** Region type. */
  readonly type: number;
  /** Region subtype. */
  readonly subtype: number;
}

/** MSIX_MAPPABLE capability (no body). */
export interface MsixMappableCap {
  /** VFIO_REGION_INFO_CAP_MSIX_MAPPABLE. */
  readonly id: typeof VFIO_REGION_INFO_CAP_MSIX_MAPPABLE;
}

/** A region-info capability the library produces and parses. */
export type RegionCap = SparseMmapCap | RegionTypeCap | MsixMappableCap;

/** GET_REGION_INFO answer. */
export interface RegionInfo {
  /** The region index. */
  readonly index: number;
  /** VFIO_REGION_INFO_FLAG_* (CAPS set when `caps` is non-empty; 0 for an absent region). */
  readonly flags: number;
  /** Size in bytes (0 = absent). */
  readonly size: number;
  /** Device-handle position of the region: `regionOffset(index)`. */
  readonly offset: number;
  /** Capabilities, in chain order. */
  readonly caps: readonly RegionCap[];
}

/**
 * The mappable areas of a region from its GET_REGION_INFO answer: the SPARSE_MMAP capability's areas;
 * the whole region when it is mappable without one; none when it is not mappable.
 */
export function sparseAreas(info: RegionInfo): readonly SparseMmapArea[] {
  if ((info.flags & VFIO_REGION_INFO_FLAG_MMAP) === 0) return [];
  for (const cap of info.caps) if (cap.id === VFIO_REGION_INFO_CAP_SPARSE_MMAP) return cap.areas;
  return [{ offset: 0, size: info.size }];
}

/** GET_IRQ_INFO answer. */
export interface IrqInfo {
  /** The IRQ index. */
  readonly index: number;
  /** VFIO_IRQ_INFO_*. */
  readonly flags: number;
  /** Number of vectors. */
  readonly count: number;
}
