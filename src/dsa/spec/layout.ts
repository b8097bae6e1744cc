/**
 * Where the register tables and the portals live (vidxd-device.md §2.2, dsa-operations.md §9.1):
 * the BAR0 offsets OFFSETS advertises, the MSI-X table and PBA, the BAR sizes and the portal decode.
 */
import { type DsaProfile, imsEntries, msixVectors } from './profile.js';

/** Bytes of one WQCFG entry (WQCAP.wqcfg_size = 0; Linux: `1 << (wqcfg_size + IDXD_WQCFG_MIN)`). */
export const WQCFG_SIZE = 32;
/** Bytes of one GRPCFG entry. Linux `GRPCFG_SIZE`. */
export const GRPCFG_SIZE = 64;
/** Bytes of one MSIX_PERM entry. */
export const MSIX_PERM_SIZE = 8;
/** Bytes of one interrupt-handle (IMS) entry. */
export const IMS_ENTRY_SIZE = 16;
/** OFFSETS fields are in units of this many bytes. Linux `IDXD_TABLE_MULT`. */
export const TABLE_UNIT = 0x100;
/** Bytes of one portal page. Linux `IDXD_PORTAL_SIZE` (`PAGE_SIZE`). */
export const PORTAL_PAGE = 0x1000;
/** Bytes of the four portal pages of one WQ. */
export const PORTAL_STRIDE = 0x4000;
/** Bytes of one portal submission. */
export const PORTAL_SLOT = 64;

/** Byte offsets inside BAR0 and the BAR sizes of one device. */
export interface Bar0Layout {
  /** MSIX_PERM table. */
  readonly msixPerm: number;
  /** GRPCFG table. */
  readonly grpcfg: number;
  /** WQCFG table. */
  readonly wqcfg: number;
  /** Interrupt-handle (IMS) table (0 when there is none). */
  readonly ims: number;
  /** MSI-X table. */
  readonly msixTable: number;
  /** MSI-X pending-bit array. */
  readonly msixPba: number;
  /** BAR0 size (power of two). */
  readonly bar0Size: number;
  /** BAR2 size: 16 KiB per WQ rounded up to a power of two. */
  readonly bar2Size: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

function pow2AtLeast(n: number): number {
  let s = 1;
  while (s < n) s *= 2;
  return s;
}

/**
 * The layout of a profile: the default tables sit at the spec offsets (MSIX_PERM 0x300, GRPCFG
 * 0x400, WQCFG 0x800, IMS 0x1000, MSI-X table 0x9000, PBA 0xA000); a bigger profile pushes each
 * table up to the next free 256-byte (tables) or 4-KiB (MSI-X) boundary.
 */
export function bar0Layout(p: DsaProfile): Bar0Layout {
  const vectors = msixVectors(p);
  const msixPerm = 0x300;
  const grpcfg = Math.max(0x400, alignUp(msixPerm + vectors * MSIX_PERM_SIZE, TABLE_UNIT));
  const wqcfg = Math.max(0x800, alignUp(grpcfg + p.groups * GRPCFG_SIZE, TABLE_UNIT));
  const afterWq = alignUp(wqcfg + p.wqs * WQCFG_SIZE, 0x1000);
  const ims = imsEntries(p) === 0 ? 0 : Math.max(0x1000, afterWq);
  const afterIms = ims === 0 ? afterWq : ims + imsEntries(p) * IMS_ENTRY_SIZE;
  const msixTable = Math.max(0x9000, alignUp(afterIms, 0x1000));
  const msixPba = Math.max(0xa000, alignUp(msixTable + vectors * 16, 0x1000));
  const pbaSize = Math.ceil(vectors / 64) * 8;
  return Object.freeze({
    msixPerm,
    grpcfg,
    wqcfg,
    ims,
    msixTable,
    msixPba,
    bar0Size: pow2AtLeast(Math.max(0x10000, msixPba + pbaSize)),
    bar2Size: pow2AtLeast(p.wqs * PORTAL_STRIDE),
  });
}
