/**
 * Build-time checks of a device's operations: a malformed region or IRQ table is a programming error
 * in building a device and throws a plain Error with a clear message (never a VfioError).
 */
import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_PCI_NUM_REGIONS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from './constants.js';
import type { RegionOps, VfioDeviceOps } from './device-ops.js';
import { isValidMigrationFlags } from './migration.js';

/** Most regions a device can have so that `regionOffset(index)` stays an exact number (< 2^53). */
export const MAX_REGIONS = 8192;

const REGION_FLAGS = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
const IRQ_FLAGS = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED | VFIO_IRQ_INFO_NORESIZE;

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function checkSizes(where: string, sizes: number | undefined): void {
  if (sizes === undefined) return;
  if (!Number.isInteger(sizes) || sizes <= 0 || sizes >= 2 ** 31) {
    throw new Error(`${where}: access sizes must be a non-empty OR of powers of two below 2^31`);
  }
}

function checkRegion(i: number, r: RegionOps<unknown>, pci: boolean): void {
  const where = `region ${i}`;
  if (!isCount(r.size)) throw new Error(`${where}: size must be a non-negative safe integer`);
  if (!Number.isInteger(r.flags) || (r.flags & ~REGION_FLAGS) !== 0) {
    throw new Error(`${where}: flags may only hold READ, WRITE and MMAP (CAPS is computed)`);
  }
  if (r.size === 0) {
    if (r.flags !== 0) throw new Error(`${where}: an absent region (size 0) must have flags 0`);
    return;
  }
  if ((r.flags & VFIO_REGION_INFO_FLAG_READ) !== 0 && typeof r.read !== 'function') throw new Error(`${where}: READ without a read handler`);
  if ((r.flags & VFIO_REGION_INFO_FLAG_WRITE) !== 0 && typeof r.write !== 'function') throw new Error(`${where}: WRITE without a write handler`);
  if ((r.flags & VFIO_REGION_INFO_FLAG_MMAP) !== 0 && typeof r.mmap !== 'function') throw new Error(`${where}: MMAP without an mmap handler`);
  checkSizes(where, r.readSizes);
  checkSizes(where, r.writeSizes);
  if (r.sparseAreas !== undefined) {
    if ((r.flags & VFIO_REGION_INFO_FLAG_MMAP) === 0) throw new Error(`${where}: sparse areas without MMAP`);
    for (const a of r.sparseAreas) {
      if (!isCount(a.offset) || !isCount(a.size) || a.size === 0 || a.offset + a.size > r.size) {
        throw new Error(`${where}: sparse area {0x${a.offset.toString(16)}, 0x${a.size.toString(16)}} is not inside the region`);
      }
    }
  }
  if (pci && i >= VFIO_PCI_NUM_REGIONS && r.regionType === undefined) {
    throw new Error(`${where}: a device-specific vfio-pci region needs a region type`);
  }
}

/** Throws a plain Error when `ops` is not a well-formed device. */
export function checkDeviceOps(ops: VfioDeviceOps<unknown>): void {
  if (!Number.isInteger(ops.flags) || ops.flags < 0 || ops.flags > 0xffff_ffff) throw new Error('device flags must be a u32');
  if (ops.regions.length > MAX_REGIONS) throw new Error(`a device has at most ${MAX_REGIONS} regions`);
  const pci = (ops.flags & VFIO_DEVICE_FLAGS_PCI) !== 0;
  ops.regions.forEach((r, i) => checkRegion(i, r, pci));
  let requests = 0;
  ops.irqs.forEach((q, i) => {
    if (!isCount(q.count) || q.count > 0xffff_ffff) throw new Error(`IRQ index ${i}: count must be a u32`);
    if (!Number.isInteger(q.flags) || (q.flags & ~IRQ_FLAGS) !== 0) throw new Error(`IRQ index ${i}: unknown flag bits`);
    if (q.role !== undefined && q.exclusive === true) throw new Error(`IRQ index ${i}: a notification index is not exclusive`);
    if (q.role === 'request') requests++;
  });
  if (requests > 1) throw new Error('at most one IRQ index may have the request role');
  if (ops.migration !== undefined && !isValidMigrationFlags(ops.migration.flags)) {
    throw new Error(`invalid migration flags 0x${ops.migration.flags.toString(16)}`);
  }
}
