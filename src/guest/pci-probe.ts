/**
 * Step 1 of bring-up: what config space says (vidxd-device.md §3). IDs from the header; the
 * capabilities by walking both chains (a driver never assumes an offset); the memory BARs sized by
 * the all-ones probe with memory decode off; the MSI-X table and PBA from the MSI-X capability.
 */
import {
  BarBits, CapabilityId, CapHeader, Command, CONFIG_SIZE_EXPRESS, EXT_CAPABILITY_START, ExtCapabilityId, ExtCapHeader, Header, MSIX_BIR_MASK,
  MsixControl, MsixReg, PasidCap, PasidReg, Status,
} from '../pci/spec.js';
import { IdxdGuestError } from './errors.js';
import type { DeviceIo } from './io.js';

/** Bound on a capability walk: 48 standard or 960 extended capabilities would fill the space; more is a loop. */
const CAP_WALK_LIMIT = 960;

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
  if ((io.cfg(Header.STATUS, 2) & Status.CAP_LIST) === 0) return out;
  // Bits 1:0 of a pointer are reserved (the specification says software must mask them).
  let ptr = io.cfg(Header.CAPABILITY_LIST, 1) & CapHeader.POINTER_MASK;
  const seen = new Set<number>();
  while (ptr !== 0) {
    if (ptr < Header.END || seen.has(ptr) || out.length >= CAP_WALK_LIMIT) {
      throw new IdxdGuestError('probe', `standard capability chain is broken at 0x${ptr.toString(16)}`);
    }
    seen.add(ptr);
    out.push({ id: io.cfg(ptr + CapHeader.ID, 1), offset: ptr });
    ptr = io.cfg(ptr + CapHeader.NEXT, 1) & CapHeader.POINTER_MASK;
  }
  return out;
}

/** Walks the extended chain from 0x100 (an all-zero or all-ones first header means no extended capability). */
function walkExtended(io: DeviceIo): FoundCapability[] {
  const out: FoundCapability[] = [];
  let ptr = EXT_CAPABILITY_START;
  const seen = new Set<number>();
  while (ptr !== 0) {
    const h = io.cfg(ptr, 4);
    if (h === 0 || h === 0xffffffff) break;
    if (ptr < EXT_CAPABILITY_START || ptr >= CONFIG_SIZE_EXPRESS || seen.has(ptr) || out.length >= CAP_WALK_LIMIT) {
      throw new IdxdGuestError('probe', `extended capability chain is broken at 0x${ptr.toString(16)}`);
    }
    seen.add(ptr);
    out.push({ id: h & ExtCapHeader.ID_MASK, offset: ptr });
    ptr = (h >>> ExtCapHeader.NEXT_SHIFT) & ExtCapHeader.NEXT_MASK;
  }
  return out;
}

/**
 * Sizes the memory BAR at `index` with the all-ones probe: save, write all ones, read back the size
 * mask, restore. Memory decode must be off meanwhile (the caller does that), as a moving BAR would
 * otherwise claim addresses.
 */
function sizeBar(io: DeviceIo, index: number): SizedBar {
  const off = Header.BAR0 + 4 * index;
  const lo = io.cfg(off, 4);
  if ((lo & BarBits.IO) !== 0) return { index, size: 0, is64: false, prefetchable: false };
  const is64 = (lo & BarBits.TYPE_MASK) === BarBits.TYPE_64;
  const hi = is64 ? io.cfg(off + 4, 4) : 0;
  io.setCfg(off, 4, 0xffffffff);
  if (is64) io.setCfg(off + 4, 4, 0xffffffff);
  const maskLo = (io.cfg(off, 4) & ~BarBits.MEM_FLAGS) >>> 0;
  const maskHi = is64 ? io.cfg(off + 4, 4) : 0xffffffff;
  io.setCfg(off, 4, lo);
  if (is64) io.setCfg(off + 4, 4, hi);
  // size = ~mask + 1 over 64 bits: the lowest set bit of the mask, taken from the low dword when it has one.
  let size = 0;
  if (maskLo !== 0) size = (maskLo & -maskLo) >>> 0;
  else if (maskHi !== 0) size = ((maskHi & -maskHi) >>> 0) * 0x1_0000_0000;
  return { index, size, is64, prefetchable: (lo & BarBits.PREFETCH) !== 0 };
}

function readMsix(io: DeviceIo, offset: number): MsixInfo {
  const control = io.cfg(offset + MsixReg.CONTROL, 2);
  const table = io.cfg(offset + MsixReg.TABLE, 4);
  const pba = io.cfg(offset + MsixReg.PBA, 4);
  return {
    offset,
    vectors: (control & MsixControl.TABLE_SIZE) + 1,
    tableBar: table & MSIX_BIR_MASK,
    tableOffset: (table & ~MSIX_BIR_MASK) >>> 0,
    pbaBar: pba & MSIX_BIR_MASK,
    pbaOffset: (pba & ~MSIX_BIR_MASK) >>> 0,
  };
}

/** Probes config space: IDs, both capability chains, BAR0 and BAR2 sizes, MSI-X and PASID. */
export function probePci(io: DeviceIo): PciProbe {
  const vendorId = io.cfg(Header.VENDOR_ID, 2);
  if (vendorId === 0xffff || vendorId === 0) throw new IdxdGuestError('probe', 'no device answers config reads (vendor ID 0xffff)');
  const capabilities = walkStandard(io);
  const find = (list: readonly FoundCapability[], id: number): number => list.find((c) => c.id === id)?.offset ?? -1;
  const pcie = find(capabilities, CapabilityId.PCI_EXPRESS);
  // lspci and Linux walk the extended chain only for a PCI Express function: conventional PCI has 256 bytes.
  const extCapabilities = pcie >= 0 ? walkExtended(io) : [];
  const msixAt = find(capabilities, CapabilityId.MSIX);
  const pasidAt = find(extCapabilities, ExtCapabilityId.PASID);
  const command = io.cfg(Header.COMMAND, 2);
  io.setCfg(Header.COMMAND, 2, command & ~Command.MEMORY);
  const bars = [sizeBar(io, 0), sizeBar(io, 2)];
  io.setCfg(Header.COMMAND, 2, command);
  let pasid: PasidInfo | null = null;
  if (pasidAt >= 0) {
    const cap = io.cfg(pasidAt + PasidReg.CAPABILITY, 2);
    pasid = { offset: pasidAt, maxWidth: (cap >>> PasidCap.WIDTH_SHIFT) & PasidCap.WIDTH_MASK, privileged: (cap & PasidCap.PRIVILEGED) !== 0 };
  }
  return {
    vendorId,
    deviceId: io.cfg(Header.DEVICE_ID, 2),
    revision: io.cfg(Header.REVISION_ID, 1),
    classCode: io.cfg(Header.REVISION_ID, 4) >>> 8,
    subsystemVendorId: io.cfg(Header.SUBSYSTEM_VENDOR_ID, 2),
    subsystemId: io.cfg(Header.SUBSYSTEM_ID, 2),
    capabilities,
    extCapabilities,
    pcie,
    msix: msixAt >= 0 ? readMsix(io, msixAt) : null,
    ats: find(extCapabilities, ExtCapabilityId.ATS),
    pri: find(extCapabilities, ExtCapabilityId.PRI),
    pasid,
    bars,
  };
}
