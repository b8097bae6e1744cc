/**
 * Where things sit in the vdev's BARs (vidxd-device.md §3.2, §4, §7.1): the BAR0 tables OFFSETS
 * advertises, the MSI-X table and PBA, the portal pages of BAR2, and the vector-count limits the
 * fixed layout imposes.
 */
import { type Bar0Layout, PORTAL_PAGE } from '../dsa/index.js';

/** BAR index of the emulated registers. */
export const VDEV_REGISTER_BAR = 0;
/** BAR index of the portal pages. */
export const VDEV_PORTAL_BAR = 2;
/** BAR0 size: 8 KiB. */
export const VDEV_BAR0_SIZE = 0x2000;
/** BAR2 size: 8 KiB, page 0 the unlimited and page 1 the limited portal of the backing WQ. */
export const VDEV_BAR2_SIZE = 2 * PORTAL_PAGE;
/** Default number of MSI-X vectors: vector 0 (emulated causes) and one completion vector. */
export const VDEV_DEFAULT_VECTORS = 2;
/** Most MSI-X vectors the layout holds: the table at 0x600 must end before the PBA at 0x700. */
export const VDEV_MAX_VECTORS = 16;

/**
 * The vdev's BAR0 layout in the DSA model's terms (so the register blocks locate their tables the
 * same way): MSIX_PERM 0x300, GRPCFG 0x400, WQCFG 0x500, no IMS table, MSI-X table 0x600, PBA 0x700.
 */
export const VDEV_LAYOUT: Bar0Layout = Object.freeze({
  msixPerm: 0x300,
  grpcfg: 0x400,
  wqcfg: 0x500,
  ims: 0,
  msixTable: 0x600,
  msixPba: 0x700,
  bar0Size: VDEV_BAR0_SIZE,
  bar2Size: VDEV_BAR2_SIZE,
});

/** Page of BAR2 holding the unlimited portal. */
export const UNLIMITED_PAGE = 0;
/** Page of BAR2 holding the limited portal. */
export const LIMITED_PAGE = 1;
