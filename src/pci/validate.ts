/**
 * Walks both capability chains of a config-space image and reports what is wrong with them:
 * loops, pointers into the header, extended pointers below 0x100, misaligned pointers,
 * capabilities running past their space, and overlapping capabilities.
 */
import { readLe } from './bytes.js';
import {
  CapabilityId, CONFIG_SIZE_EXPRESS, EXT_CAPABILITY_START, ExtCapabilityId, ExtCapHeader, Header, MsiControl, PcieFlags, Status,
} from './spec.js';

interface Extent {
  readonly start: number;
  readonly end: number;
  readonly label: string;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Bytes a standard capability spans, from its ID and registers (2, the header, when unknown). */
function standardLength(image: Uint8Array, at: number, id: number): number {
  switch (id) {
    case CapabilityId.POWER_MANAGEMENT: return 8;
    case CapabilityId.MSIX: return 12;
    case CapabilityId.VENDOR_SPECIFIC: return Math.max(3, image[at + 2] ?? 0);
    case CapabilityId.PCI_EXPRESS: return (readLe(image, at + 2, 2) & PcieFlags.VERSION_MASK) >= 2 ? 0x3c : 0x24;
    case CapabilityId.MSI: {
      const ctrl = readLe(image, at + 2, 2);
      return 10 + ((ctrl & MsiControl.ADDRESS_64) !== 0 ? 4 : 0) + ((ctrl & MsiControl.PER_VECTOR_MASK) !== 0 ? 10 : 0);
    }
    default: return 2;
  }
}

/** Bytes an extended capability spans, from its ID (4, the header, when unknown). */
function extendedLength(image: Uint8Array, at: number, id: number): number {
  switch (id) {
    case ExtCapabilityId.ATS: return 8;
    case ExtCapabilityId.PASID: return 8;
    case ExtCapabilityId.PRI: return 16;
    case ExtCapabilityId.VENDOR_SPECIFIC: return Math.max(8, readLe(image, at + 4, 4) >>> 20);
    default: return 4;
  }
}

function walkStandard(image: Uint8Array, problems: string[], extents: Extent[]): void {
  if ((readLe(image, Header.STATUS, 2) & Status.CAP_LIST) === 0) return;
  const seen = new Uint8Array(256);
  let from = 'the capability pointer (0x34)';
  let ptr = image[Header.CAPABILITY_LIST] ?? 0;
  while (ptr !== 0) {
    if ((ptr & 3) !== 0) {
      problems.push(`${from} holds ${hex(ptr)}, which is not dword-aligned`);
      ptr &= ~3;
    }
    if (ptr < Header.END) {
      problems.push(`${from} points into the header (${hex(ptr)} < 0x40)`);
      return;
    }
    if (seen[ptr] !== 0) {
      problems.push(`standard capability chain loops: ${from} points back to ${hex(ptr)}`);
      return;
    }
    seen[ptr] = 1;
    const id = image[ptr] ?? 0;
    if (id === 0xff) {
      problems.push(`standard capability at ${hex(ptr)} has ID 0xff (chain broken)`);
      return;
    }
    const end = ptr + standardLength(image, ptr, id);
    if (end > 0x100) problems.push(`standard capability ${hex(id)} at ${hex(ptr)} runs past 0xff (to ${hex(end - 1)})`);
    extents.push({ start: ptr, end, label: `standard capability ${hex(id)} at ${hex(ptr)}` });
    from = `the next pointer of standard capability ${hex(id)} at ${hex(ptr)}`;
    ptr = image[ptr + 1] ?? 0;
  }
}

function walkExtended(image: Uint8Array, problems: string[], extents: Extent[]): void {
  if (image.length < CONFIG_SIZE_EXPRESS || readLe(image, EXT_CAPABILITY_START, 4) === 0) return;
  const seen = new Uint8Array(CONFIG_SIZE_EXPRESS);
  let from = '';
  let ptr = EXT_CAPABILITY_START;
  while (ptr !== 0) {
    if ((ptr & 3) !== 0) {
      problems.push(`${from} holds ${hex(ptr)}, which is not dword-aligned`);
      ptr &= ~3;
    }
    if (ptr < EXT_CAPABILITY_START) {
      problems.push(`${from} points below 0x100 (${hex(ptr)})`);
      return;
    }
    if (seen[ptr] !== 0) {
      problems.push(`extended capability chain loops: ${from} points back to ${hex(ptr)}`);
      return;
    }
    seen[ptr] = 1;
    const header = readLe(image, ptr, 4);
    if (header === 0xffffffff || header === 0) {
      problems.push(`extended capability at ${hex(ptr)} has an ${header === 0 ? 'empty' : 'all-ones'} header (chain broken)`);
      return;
    }
    const id = header & ExtCapHeader.ID_MASK;
    const end = ptr + extendedLength(image, ptr, id);
    if (end > 0x1000) problems.push(`extended capability ${hex(id)} at ${hex(ptr)} runs past 0xfff`);
    extents.push({ start: ptr, end, label: `extended capability ${hex(id)} at ${hex(ptr)}` });
    from = `the next pointer of extended capability ${hex(id)} at ${hex(ptr)}`;
    ptr = header >>> ExtCapHeader.NEXT_SHIFT;
  }
}

/**
 * Checks the standard chain (from 0x34, when STATUS.CAP_LIST is set) and, for a 4096-byte image,
 * the extended chain (from 0x100). Capability lengths come from the IDs the library knows (the
 * header alone for others).
 * @param image a 256- or 4096-byte config-space image
 * @returns human-readable problems; empty when both chains are clean
 */
export function validateCapabilityChains(image: Uint8Array): string[] {
  const problems: string[] = [];
  if (image.length < 0x100) return [`config image is ${image.length} bytes; at least 256 are needed`];
  const extents: Extent[] = [];
  walkStandard(image, problems, extents);
  walkExtended(image, problems, extents);
  extents.sort((a, b) => a.start - b.start);
  let reach: Extent | null = null; // the extent seen so far that ends last
  for (const cur of extents) {
    if (reach !== null && cur.start < reach.end) problems.push(`${reach.label} overlaps ${cur.label}`);
    if (reach === null || cur.end > reach.end) reach = cur;
  }
  return problems;
}
