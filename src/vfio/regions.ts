/**
 * The region table of an open device: region info with its capabilities (`vfio-uapi.md` §3–4) and
 * the checks of every region access and mmap (§3.4) before the device's handler runs. The access
 * path allocates nothing.
 */
import {
  VFIO_PAGE_SIZE,
  VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_INFO_FLAG_CAPS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from './constants.js';
import type { RegionOps, SparseMmapArea } from './device-ops.js';
import { VfioError } from './errors.js';
import { REGION_SPAN, regionIndexOf, regionOffset, type RegionCap, type RegionInfo } from './info.js';

/** `v` in hex for a message, whatever the caller passed (a misused argument may be anything). */
function hex(v: unknown): string {
  return typeof v === 'number' ? `0x${v.toString(16)}` : String(v);
}

/** Any length at any offset. */
const ANY = -1;

interface Slot<M> {
  readonly ops: RegionOps<M>;
  readonly size: number;
  readonly flags: number;
  readonly readSizes: number;
  readonly writeSizes: number;
  readonly areas: readonly SparseMmapArea[];
  readonly info: RegionInfo;
}

function capsOf(r: RegionOps<unknown>): RegionCap[] {
  const caps: RegionCap[] = [];
  if (r.size === 0) return caps;
  if (r.sparseAreas !== undefined) {
    caps.push({ id: VFIO_REGION_INFO_CAP_SPARSE_MMAP, areas: r.sparseAreas.map((a) => ({ offset: a.offset, size: a.size })) });
  }
  if (r.regionType !== undefined) {
    caps.push({ id: VFIO_REGION_INFO_CAP_TYPE, type: r.regionType.type, subtype: r.regionType.subtype });
  }
  if (r.msixMappable === true) caps.push({ id: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE });
  return caps;
}

function fits(off: number, len: number, size: number, sizes: number): boolean {
  if (len === 0 || off + len > size) return false;
  if (sizes === ANY) return true;
  return (len & (len - 1)) === 0 && (sizes & len) !== 0 && off % len === 0;
}

/** A region offset some device-handle position has: an integer in [0, 2^40). */
function validOffset(off: number): boolean {
  return off >= 0 && off < REGION_SPAN && Math.floor(off) === off;
}

/** EINVAL for an access whose buffer is not a `Uint8Array` (a DataView, an array, null). */
function notBytes(what: 'read' | 'write', index: number, off: number): VfioError {
  return new VfioError('EINVAL', `${what} at region ${String(index)} offset ${hex(off)}: the buffer is not a Uint8Array`);
}

/** The regions of one open device, snapshotted from its operations. */
export class RegionTable<M> {
  private readonly slots: Slot<M>[];

  /** Snapshots `regions` (sizes, flags, rules and capabilities are fixed from here on). */
  constructor(regions: readonly RegionOps<M>[]) {
    this.slots = regions.map((ops, index) => {
      const caps = capsOf(ops);
      const flags = ops.size === 0 ? 0 : ops.flags | (caps.length > 0 ? VFIO_REGION_INFO_FLAG_CAPS : 0);
      return {
        ops,
        size: ops.size,
        flags,
        readSizes: ops.readSizes ?? ANY,
        writeSizes: ops.writeSizes ?? ANY,
        areas: ops.sparseAreas ?? (ops.size > 0 ? [{ offset: 0, size: ops.size }] : []),
        info: Object.freeze({ index, flags, size: ops.size, offset: regionOffset(index), caps: Object.freeze(caps) }),
      };
    });
  }

  /** Number of regions. */
  get count(): number {
    return this.slots.length;
  }

  /** GET_REGION_INFO: EINVAL for an index outside the table; an absent region answers size 0, flags 0. */
  info(index: number): RegionInfo {
    const s = Number.isInteger(index) && index >= 0 ? this.slots[index] : undefined;
    if (s === undefined) throw new VfioError('EINVAL', `region index ${index} out of range (${this.slots.length} regions)`);
    return s.info;
  }

  /**
   * Checked read of region `index` at region offset `off` (< 2^40, so that every pair is a device-handle
   * position); returns the byte count. Allocates nothing.
   */
  read(index: number, off: number, buf: Uint8Array): number {
    if (!(buf instanceof Uint8Array)) throw notBytes('read', index, off);
    const len = buf.length;
    const s = this.slots[index];
    if (s === undefined || !validOffset(off) || (s.flags & VFIO_REGION_INFO_FLAG_READ) === 0 || !fits(off, len, s.size, s.readSizes)) {
      throw this.accessError('read', index, off, len);
    }
    (s.ops.read as (offset: number, buf: Uint8Array) => void).call(s.ops, off, buf);
    return len;
  }

  /** Checked write of region `index` at region offset `off`; returns the byte count. Allocates nothing. */
  write(index: number, off: number, buf: Uint8Array): number {
    if (!(buf instanceof Uint8Array)) throw notBytes('write', index, off);
    const len = buf.length;
    const s = this.slots[index];
    if (s === undefined || !validOffset(off) || (s.flags & VFIO_REGION_INFO_FLAG_WRITE) === 0 || !fits(off, len, s.size, s.writeSizes)) {
      throw this.accessError('write', index, off, len);
    }
    (s.ops.write as (offset: number, buf: Uint8Array) => void).call(s.ops, off, buf);
    return len;
  }

  /** Checked mmap: MMAP region, shared, whole pages inside one sparse area (else EINVAL). */
  mmap(pos: number, length: number, shared: boolean): M {
    const index = Number.isInteger(pos) && pos >= 0 ? regionIndexOf(pos) : -1;
    const s = this.slots[index];
    const where = `mmap of ${hex(length)} bytes at ${hex(pos)}`;
    if (s === undefined) throw new VfioError('EINVAL', `${where}: no region there`);
    if ((s.flags & VFIO_REGION_INFO_FLAG_MMAP) === 0) throw new VfioError('EINVAL', `${where}: region ${index} cannot be mapped`);
    if (!shared) throw new VfioError('EINVAL', `${where}: mappings must be shared`);
    const off = pos - index * REGION_SPAN;
    if (!Number.isSafeInteger(length) || length <= 0 || off % VFIO_PAGE_SIZE !== 0 || length % VFIO_PAGE_SIZE !== 0) {
      throw new VfioError('EINVAL', `${where}: not whole pages`);
    }
    if (!s.areas.some((a) => off >= a.offset && off + length <= a.offset + a.size)) {
      throw new VfioError('EINVAL', `${where}: not inside one mappable area of region ${index}`);
    }
    return (s.ops.mmap as (offset: number, length: number) => M).call(s.ops, off, length);
  }

  private accessError(what: 'read' | 'write', index: number, off: number, len: number): VfioError {
    const valid = Number.isInteger(index) && index >= 0 && validOffset(off);
    const head = `${what} of ${len} bytes at region ${String(index)} offset ${hex(off)}${valid ? ` (position 0x${(index * REGION_SPAN + off).toString(16)})` : ''}`;
    if (!valid) return new VfioError('EINVAL', `${head}: not a valid position`);
    const s = this.slots[index];
    if (s === undefined) return new VfioError('EINVAL', `${head}: region ${index} does not exist`);
    const flag = what === 'read' ? VFIO_REGION_INFO_FLAG_READ : VFIO_REGION_INFO_FLAG_WRITE;
    if (s.size === 0) return new VfioError('EINVAL', `${head}: region ${index} is not implemented`);
    if ((s.flags & flag) === 0) return new VfioError('EINVAL', `${head}: region ${index} is not ${what === 'read' ? 'readable' : 'writable'}`);
    if (len === 0) return new VfioError('EINVAL', `${head}: empty access`);
    if (off + len > s.size) return new VfioError('EINVAL', `${head}: outside region ${index} (size 0x${s.size.toString(16)})`);
    return new VfioError('EINVAL', `${head}: region ${index} does not allow a ${len}-byte access at offset 0x${off.toString(16)}`);
  }
}
