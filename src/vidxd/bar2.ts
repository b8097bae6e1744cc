/**
 * The vdev's BAR2 region handler (vidxd-device.md §7, vfio-uapi.md §3.3–3.4): READ | WRITE | MMAP
 * with the sparse-mmap areas of the type (dedicated: both pages; shared: the limited page only).
 * `mmap` of a page returns a {@link VdevPortalMapping}: the bound portal's `submit` and nothing else —
 * the fast path, on which no vdev code runs.
 * For a VMM that does not map the portal, trapped writes of 64 bytes at a slot, or of aligned 8-byte
 * pieces assembled per 64-byte slot, are submitted through the same portal with the same rules;
 * every read returns all ones. Nothing here allocates after the first qword write.
 */
import { PORTAL_PAGE, PORTAL_SLOT } from '../dsa/index.js';
import {
  type PciBarHandler, type SparseMmapArea, VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
} from '../vfio/index.js';
import type { VdevMode } from './facts.js';
import { LIMITED_PAGE, VDEV_BAR2_SIZE } from './layout.js';
import type { VdevPortalMapping, VdevPortals } from './portals.js';
import { type HalfSlot, QWORD, SlotAssembler } from './slot-assembler.js';

/** The mappable areas of BAR2 per type (§7.1). */
export const VDEV_BAR2_AREAS: Readonly<Record<VdevMode, readonly SparseMmapArea[]>> = Object.freeze({
  dedicated: Object.freeze([{ offset: 0, size: PORTAL_PAGE }, { offset: PORTAL_PAGE, size: PORTAL_PAGE }]),
  shared: Object.freeze([{ offset: LIMITED_PAGE * PORTAL_PAGE, size: PORTAL_PAGE }]),
});

/** BAR2 of a vdev as a PCI BAR handler. */
export class VdevBar2 implements PciBarHandler<VdevPortalMapping> {
  /** READ | WRITE | MMAP (the core adds CAPS for the sparse areas). */
  readonly flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
  /** Trapped writes: a 64-byte slot, or one aligned qword of it. */
  readonly writeSizes = QWORD | PORTAL_SLOT;
  /** The type's mappable pages. */
  readonly sparseAreas: readonly SparseMmapArea[];
  private readonly portals: VdevPortals;
  /** Slots being assembled from qword writes. */
  private readonly pieces = new SlotAssembler(VDEV_BAR2_SIZE);
  /**
   * Migration: while set (the vdev is stopped), a complete trapped submission goes here instead of to
   * a portal (`page` is the BAR2 page it was written to).
   */
  trap: ((page: number, src: Uint8Array, off: number) => void) | null = null;

  /** BAR2 of a vdev of `mode` over its `portals`. */
  constructor(mode: VdevMode, portals: VdevPortals) {
    this.sparseAreas = VDEV_BAR2_AREAS[mode];
    this.portals = portals;
  }

  /** Reads return all ones, with no side effect. */
  read(_offset: number, buf: Uint8Array): void {
    buf.fill(0xff);
  }

  /**
   * A trapped write: 64 bytes at a slot are submitted at once (a half-assembled slot there is
   * discarded); an 8-byte piece is kept until the slot's eight qwords have all arrived, then the slot
   * is submitted and starts empty again.
   */
  write(offset: number, buf: Uint8Array): void {
    const page = (offset / PORTAL_PAGE) | 0;
    if (buf.length === PORTAL_SLOT) {
      this.pieces.discard(offset);
      if (this.trap !== null) this.trap(page, buf, 0);
      else this.portals.page(page).submit(buf, 0);
      return;
    }
    const slots = this.pieces.add(offset, buf);
    if (slots === null) return;
    const at = offset - (offset % PORTAL_SLOT);
    if (this.trap !== null) this.trap(page, slots, at);
    else this.portals.page(page).submit(slots, at);
  }

  /** The mapping of the page at `offset` (the core has checked: one whole page inside an area). */
  mmap(offset: number, _length: number): VdevPortalMapping {
    return this.portals.mapping((offset / PORTAL_PAGE) | 0);
  }

  /** The half-assembled slots: index, qwords received (bit k = qword k) and the slot's 64 bytes. */
  halfSlots(): HalfSlot[] {
    return this.pieces.halfSlots();
  }

  /** Migration: holds exactly `slots` as half-assembled (every other slot empty). */
  loadSlots(slots: readonly HalfSlot[]): void {
    this.pieces.loadSlots(slots);
  }

  /** Forgets every half-assembled slot (reset, close). */
  reset(): void {
    this.pieces.reset();
  }
}
