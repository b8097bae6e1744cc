/**
 * Trapped portal writes in 8-byte pieces (vidxd-device.md §7.3, vfio-uapi.md §11.6): a VMM that does
 * not map a portal page forwards a guest's stores as region writes, and QEMU's `vfio-user-pci` splits
 * them into aligned 8-byte writes. The pieces are collected per 64-byte slot; a slot whose eight qwords
 * have all arrived is one descriptor. Shared by the vdev's BAR2 and the PF's.
 */
import { PORTAL_SLOT } from '../dsa/index.js';

/** The size of a piece. */
export const QWORD = 8;
/** Fill mask of a complete slot: one bit per qword. */
const FULL = (1 << (PORTAL_SLOT / QWORD)) - 1;

/** One half-assembled slot: its index, the qwords received (bit k = qword k) and its 64 bytes. */
export interface HalfSlot {
  /** Slot index in the BAR. */
  readonly slot: number;
  /** Qwords received, bit k = qword k. */
  readonly mask: number;
  /** The slot's 64 bytes. */
  readonly bytes: Uint8Array;
}

/** Collects 8-byte pieces per 64-byte slot of a BAR of `size` bytes. Nothing allocates after the first piece. */
export class SlotAssembler {
  private readonly size: number;
  /**
   * The slots being assembled (made at the first piece: most VMMs map the portal or write whole slots,
   * and a thousand vdevs should not carry a BAR's worth of bytes each for it).
   */
  private slots: Uint8Array | null = null;
  /** Which qwords of each slot have arrived. */
  private readonly filled: Uint8Array;

  /** An assembler for a BAR of `size` bytes (a multiple of the slot size). */
  constructor(size: number) {
    this.size = size;
    this.filled = new Uint8Array(size / PORTAL_SLOT);
  }

  /**
   * Adds the aligned 8-byte `piece` written at `offset`. When it completes its slot, returns the BAR's
   * assembly bytes, in which the slot's 64 bytes start at `offset - offset % 64`, and starts the slot
   * empty again; otherwise null.
   */
  add(offset: number, piece: Uint8Array): Uint8Array | null {
    const slots = this.slots ?? (this.slots = new Uint8Array(this.size));
    slots.set(piece, offset);
    const slot = (offset / PORTAL_SLOT) | 0;
    const mask = (this.filled[slot] as number) | (1 << ((offset % PORTAL_SLOT) / QWORD));
    if (mask !== FULL) {
      this.filled[slot] = mask;
      return null;
    }
    this.filled[slot] = 0;
    return slots;
  }

  /** Forgets the half-assembled slot holding `offset` (a whole 64-byte write replaces it). */
  discard(offset: number): void {
    this.filled[(offset / PORTAL_SLOT) | 0] = 0;
  }

  /** The half-assembled slots (migration state): index, qwords received (bit k = qword k) and the slot's 64 bytes. */
  halfSlots(): HalfSlot[] {
    const out: HalfSlot[] = [];
    if (this.slots === null) return out;
    for (let i = 0; i < this.filled.length; i++) {
      const mask = this.filled[i] as number;
      if (mask !== 0) out.push({ slot: i, mask, bytes: this.slots.slice(i * PORTAL_SLOT, (i + 1) * PORTAL_SLOT) });
    }
    return out;
  }

  /** Holds exactly `slots` as half-assembled, every other slot empty (a loaded migration state). */
  loadSlots(slots: readonly HalfSlot[]): void {
    this.reset();
    if (slots.length === 0) return;
    const buf = this.slots ?? (this.slots = new Uint8Array(this.size));
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
