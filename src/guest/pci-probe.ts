/**
 * Step 1 of bring-up: what config space says (vidxd-device.md §3). IDs from the header; the
 * capabilities by walking both chains (a driver never assumes an offset); the memory BARs sized by
 * the all-ones probe with memory decode off; the MSI-X table and PBA from the MSI-X capability.
 */
import { IdxdGuestError } from './errors.js';
import type { DeviceIo } from './io.js';
import {
  CAP_WALK_LIMIT, PCI_CONFIG_SIZE, PCI_EXT_CAP_START, PCI_STATUS_CAP_LIST, PciBar, PciCapId, PciCommand, PciExtCapId, PciHeader,
  PciMsix, PciPasid,
} from './pci-regs.js';

/** One capability found in a chain. */
export interface FoundCapability {
  /** Capability ID. */
  readonly id: number;
  /** Offset in config space. */
  readonly offset: number;
}

/** A sized memory BAR. */
export interface SizedBar {
  /** BAR index (0..5). */
  readonly index: number;
  /** Size in bytes (0: not implemented). */
  readonly size: number;
  /** 64-bit BAR (takes this index and the next). */
  readonly is64: boolean;
  /** Prefetchable. */
  readonly prefetchable: boolean;
}

/** The MSI-X capability. */
export interface MsixInfo {
  /** Offset of the capability. */
  readonly offset: number;
  /** Table size (vectors). */
  readonly vectors: number;
  /** BAR holding the table. */
  readonly tableBar: number;
  /** Offset of the table in that BAR. */
  readonly tableOffset: number;
  /** BAR holding the PBA. */
  readonly pbaBar: number;
  /** Offset of the PBA in that BAR. */
  readonly pbaOffset: number;
}

/** The PASID capability. */
export interface PasidInfo {
  /** Offset of the capability. */
  readonly offset: number;
  /** Max PASID width in bits. */
  readonly maxWidth: number;
  /** Privileged mode supported. */
  readonly privileged: boolean;
}

/** Everything config space told the driver. */
export interface PciProbe {
  /** Vendor ID. */
  readonly vendorId: number;
  /** Device ID. */
  readonly deviceId: number;
  /** Revision ID. */
  readonly revision: number;
  /** Class code (base, sub, interface) as 24 bits. */
  readonly classCode: number;
  /** Subsystem vendor ID. */
  readonly subsystemVendorId: number;
  /** Subsystem ID. */
  readonly subsystemId: number;
  /** The standard chain, in walk order. */
  readonly capabilities: readonly FoundCapability[];
  /** The extended chain, in walk order (empty without a PCI Express capability). */
  readonly extCapabilities: readonly FoundCapability[];
  /** PCI Express capability offset, or −1. */
  readonly pcie: number;
  /** MSI-X, or null. */
  readonly msix: MsixInfo | null;
  /** ATS capability offset, or −1. */
  readonly ats: number;
  /** PRI capability offset, or −1. */
  readonly pri: number;
  /** PASID, or null. */
  readonly pasid: PasidInfo | null;
  /** The memory BARs found by sizing (BAR0 and BAR2 of an idxd device). */
  readonly bars: readonly SizedBar[];
}

/** Walks the standard chain from the capability pointer; a loop, a pointer into the header or a chain longer than the space allows is a probe error. */
function walkStandard(io: DeviceIo): FoundCapability[] {
  const out: FoundCapability[] = [];
  if ((io.cfg(PciHeader.STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return out;
  // Bits 1:0 of a pointer are reserved (the specification says software must mask them).
  let ptr = io.cfg(PciHeader.CAPABILITY_LIST, 1) & 0xfc;
  const seen = new Set<number>();
  while (ptr !== 0) {
    if (ptr < 0x40 || seen.has(ptr) || out.length >= CAP_WALK_LIMIT) {
      throw new IdxdGuestError('probe', `standard capability chain is broken at 0x${ptr.toString(16)}`);
    }
    seen.add(ptr);
    out.push({ id: io.cfg(ptr, 1), offset: ptr });
    ptr = io.cfg(ptr + 1, 1) & 0xfc;
  }
  return out;
}

/** Walks the extended chain from 0x100 (an all-zero or all-ones first header means no extended capability). */
function walkExtended(io: DeviceIo): FoundCapability[] {
  const out: FoundCapability[] = [];
  let ptr = PCI_EXT_CAP_START;
  const seen = new Set<number>();
  while (ptr !== 0) {
    const h = io.cfg(ptr, 4);
    if (h === 0 || h === 0xffffffff) break;
    if (ptr < PCI_EXT_CAP_START || ptr >= PCI_CONFIG_SIZE || seen.has(ptr) || out.length >= CAP_WALK_LIMIT) {
      throw new IdxdGuestError('probe', `extended capability chain is broken at 0x${ptr.toString(16)}`);
    }
    seen.add(ptr);
    out.push({ id: h & 0xffff, offset: ptr });
    ptr = (h >>> 20) & 0xffc;
  }
  return out;
}

/**
 * Sizes the memory BAR at `index` with the all-ones probe: save, write all ones, read back the size
 * mask, restore. Memory decode must be off meanwhile (the caller does that), as a moving BAR would
 * otherwise claim addresses.
 */
function sizeBar(io: DeviceIo, index: number): SizedBar {
  const off = PciHeader.BAR0 + 4 * index;
  const lo = io.cfg(off, 4);
  if ((lo & PciBar.IO) !== 0) return { index, size: 0, is64: false, prefetchable: false };
  const is64 = (lo & PciBar.TYPE_MASK) === PciBar.TYPE_64;
  const hi = is64 ? io.cfg(off + 4, 4) : 0;
  io.setCfg(off, 4, 0xffffffff);
  if (is64) io.setCfg(off + 4, 4, 0xffffffff);
  const maskLo = (io.cfg(off, 4) & ~PciBar.MEM_FLAGS) >>> 0;
  const maskHi = is64 ? io.cfg(off + 4, 4) : 0xffffffff;
  io.setCfg(off, 4, lo);
  if (is64) io.setCfg(off + 4, 4, hi);
  // size = ~mask + 1 over 64 bits: the lowest set bit of the mask, taken from the low dword when it has one.
  let size = 0;
  if (maskLo !== 0) size = (maskLo & -maskLo) >>> 0;
  else if (maskHi !== 0) size = ((maskHi & -maskHi) >>> 0) * 0x1_0000_0000;
  return { index, size, is64, prefetchable: (lo & PciBar.PREFETCH) !== 0 };
}

function readMsix(io: DeviceIo, offset: number): MsixInfo {
  const control = io.cfg(offset + PciMsix.CONTROL, 2);
  const table = io.cfg(offset + PciMsix.TABLE, 4);
  const pba = io.cfg(offset + PciMsix.PBA, 4);
  return {
    offset,
    vectors: (control & PciMsix.TABLE_SIZE_MASK) + 1,
    tableBar: table & PciMsix.BIR_MASK,
    tableOffset: (table & ~PciMsix.BIR_MASK) >>> 0,
    pbaBar: pba & PciMsix.BIR_MASK,
    pbaOffset: (pba & ~PciMsix.BIR_MASK) >>> 0,
  };
}

/** Probes config space: IDs, both capability chains, BAR0 and BAR2 sizes, MSI-X and PASID. */
export function probePci(io: DeviceIo): PciProbe {
  const vendorId = io.cfg(PciHeader.VENDOR_ID, 2);
  if (vendorId === 0xffff || vendorId === 0) throw new IdxdGuestError('probe', 'no device answers config reads (vendor ID 0xffff)');
  const capabilities = walkStandard(io);
  const find = (list: readonly FoundCapability[], id: number): number => list.find((c) => c.id === id)?.offset ?? -1;
  const pcie = find(capabilities, PciCapId.PCI_EXPRESS);
  // lspci and Linux walk the extended chain only for a PCI Express function: conventional PCI has 256 bytes.
  const extCapabilities = pcie >= 0 ? walkExtended(io) : [];
  const msixAt = find(capabilities, PciCapId.MSIX);
  const pasidAt = find(extCapabilities, PciExtCapId.PASID);
  const command = io.cfg(PciHeader.COMMAND, 2);
  io.setCfg(PciHeader.COMMAND, 2, command & ~PciCommand.MEMORY);
  const bars = [sizeBar(io, 0), sizeBar(io, 2)];
  io.setCfg(PciHeader.COMMAND, 2, command);
  let pasid: PasidInfo | null = null;
  if (pasidAt >= 0) {
    const cap = io.cfg(pasidAt + PciPasid.CAPABILITY, 2);
    pasid = { offset: pasidAt, maxWidth: (cap >>> PciPasid.WIDTH_SHIFT) & PciPasid.WIDTH_MASK, privileged: (cap & PciPasid.PRIVILEGED) !== 0 };
  }
  return {
    vendorId,
    deviceId: io.cfg(PciHeader.DEVICE_ID, 2),
    revision: io.cfg(PciHeader.REVISION_ID, 1),
    classCode: io.cfg(PciHeader.REVISION_ID, 4) >>> 8,
    subsystemVendorId: io.cfg(PciHeader.SUBSYSTEM_VENDOR_ID, 2),
    subsystemId: io.cfg(PciHeader.SUBSYSTEM_ID, 2),
    capabilities,
    extCapabilities,
    pcie,
    msix: msixAt >= 0 ? readMsix(io, msixAt) : null,
    ats: find(extCapabilities, PciExtCapId.ATS),
    pri: find(extCapabilities, PciExtCapId.PRI),
    pasid,
    bars,
  };
}
