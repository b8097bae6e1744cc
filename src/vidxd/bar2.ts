/**
 * The vdev's BAR2 region handler (vidxd-device.md §7, vfio-uapi.md §3.3–3.4): READ | WRITE | MMAP
 * with the sparse-mmap areas of the type (dedicated: both pages; shared: the limited page only).
 * `mmap` of a page returns the bound portal object itself — the fast path, on which no vdev code runs.
 * For a VMM that does not map the portal, trapped writes of 64 bytes at a slot, or of aligned 8-byte
 * pieces assembled per 64-byte slot, are submitted through the same portal with the same rules;
 * every read returns all ones. Nothing here allocates after the first qword write.
 */
import { PORTAL_PAGE, PORTAL_SLOT, type Portal } from '../dsa/index.js';
import {
  type PciBarHandler, type SparseMmapArea, VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
} from '../vfio/index.js';
import type { VdevMode } from './facts.js';
import { LIMITED_PAGE, VDEV_BAR2_SIZE } from './layout.js';
import type { VdevPortals } from './portals.js';

/** The mappable areas of BAR2 per type (§7.1). */
export const VDEV_BAR2_AREAS: Readonly<Record<VdevMode, readonly SparseMmapArea[]>> = Object.freeze({
  dedicated: Object.freeze([{ offset: 0, size: PORTAL_PAGE }, { offset: PORTAL_PAGE, size: PORTAL_PAGE }]),
  shared: Object.freeze([{ offset: LIMITED_PAGE * PORTAL_PAGE, size: PORTAL_PAGE }]),
});

const QWORD = 8;
const SLOTS = VDEV_BAR2_SIZE / PORTAL_SLOT;
/** Fill mask of a complete slot: one bit per qword. */
const FULL = (1 << (PORTAL_SLOT / QWORD)) - 1;

/** BAR2 of a vdev as a PCI BAR handler. */
export class VdevBar2 implements PciBarHandler<Portal> {
  /** READ | WRITE | MMAP (the core adds CAPS for the sparse areas). */
  readonly flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
  /** Trapped writes: a 64-byte slot, or one aligned qword of it. */
  readonly writeSizes = QWORD | PORTAL_SLOT;
  /** The type's mappable pages. */
  readonly sparseAreas: readonly SparseMmapArea[];
  private readonly portals: VdevPortals;
  /**
   * Slots being assembled from qword writes (made at the first such write: most VMMs map the portal
   * or write whole slots, and a thousand vdevs should not carry 8 KiB each for it), and which qwords
   * of each have arrived.
   */
  private slots: Uint8Array | null = null;
  private readonly filled = new Uint8Array(SLOTS);
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
    const slot = (offset / PORTAL_SLOT) | 0;
    if (buf.length === PORTAL_SLOT) {
      this.filled[slot] = 0;
      if (this.trap !== null) this.trap(page, buf, 0);
      else this.portals.page(page).submit(buf, 0);
      return;
    }
    const slots = this.slots ?? (this.slots = new Uint8Array(VDEV_BAR2_SIZE));
    slots.set(buf, offset);
    const mask = (this.filled[slot] as number) | (1 << ((offset % PORTAL_SLOT) / QWORD));
    if (mask !== FULL) {
      this.filled[slot] = mask;
      return;
    }
    this.filled[slot] = 0;
    if (this.trap !== null) this.trap(page, slots, slot * PORTAL_SLOT);
    else this.portals.page(page).submit(slots, slot * PORTAL_SLOT);
  }

  /** The portal object of the page at `offset` (the core has checked: one whole page inside an area). */
  mmap(offset: number, _length: number): Portal {
    return this.portals.page((offset / PORTAL_PAGE) | 0);
  }

  /** The half-assembled slots: index, qwords received (bit k = qword k) and the slot's 64 bytes. */
  halfSlots(): { slot: number; mask: number; bytes: Uint8Array }[] {
    const out: { slot: number; mask: number; bytes: Uint8Array }[] = [];
    for (let i = 0; i < SLOTS; i++) {
      const mask = this.filled[i] as number;
      if (mask === 0 || this.slots === null) continue;
      out.push({ slot: i, mask, bytes: this.slots.slice(i * PORTAL_SLOT, (i + 1) * PORTAL_SLOT) });
    }
    return out;
  }

  /** Migration: holds exactly `slots` as half-assembled (every other slot empty). */
  loadSlots(slots: readonly { readonly slot: number; readonly mask: number; readonly bytes: Uint8Array }[]): void {
    this.reset();
    if (slots.length === 0) return;
    const buf = this.slots ?? (this.slots = new Uint8Array(VDEV_BAR2_SIZE));
    for (const t of slots) {
      buf.set(t.bytes, t.slot * PORTAL_SLOT);
      this.filled[t.slot] = t.mask;
    }
  }

  /** Forgets every half-assembled slot (reset, close). */
  reset(): void {
    this.filled.fill(0);
    this.slots?.fill(0);
  }
}
