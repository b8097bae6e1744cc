/**
 * MSI-X capability (ID 0x11, 12 bytes) with its vector table and pending-bit array, which the owner
 * serves from a BAR of its choice through {@link MsixCapability.readTable} /
 * {@link MsixCapability.writeTable} / {@link MsixCapability.readPba}.
 *
 * A raised vector travels one of two ways. With no sink attached — a real driver owns the function —
 * the hardware rules apply (enable, function mask, entry mask, PBA) and a deliverable message takes
 * the route the device model installed ({@link MsixCapability.setDelivery}). With a sink attached —
 * a VFIO layer owns the function ({@link MsixCapability.attachSink}) — every raised vector goes to the
 * sink as it is: under VFIO the VMM emulates the guest's table and message control and masks by
 * swapping triggers (vfio-uapi.md §5.4), so the capability's bytes are only storage.
 */
import { CapabilityBase } from '../capability.js';
import { isAccessSize, readLe } from '../bytes.js';
import type { ConfigSpace } from '../config-space.js';
import { CapabilityId, MSIX_ENTRY_SIZE, MSIX_VECTOR_CONTROL, MSIX_VECTOR_MASKED, MsixControl, MsixReg } from '../spec.js';

/** Where the table and the PBA live and how many vectors there are. */
export interface MsixOptions {
  /** Number of vectors, 1..2048. */
  readonly vectors: number;
  /** BAR holding the table (BIR 0..5). */
  readonly tableBar: number;
  /** Offset of the table in that BAR (8-byte aligned). */
  readonly tableOffset: number;
  /** BAR holding the PBA (BIR 0..5). */
  readonly pbaBar: number;
  /** Offset of the PBA in that BAR (8-byte aligned). */
  readonly pbaOffset: number;
}

/**
 * The hardware route of a message the table let through: returns true if the message was delivered,
 * false if nobody is listening (the vector then stays pending in the PBA).
 */
export type MsixDelivery = (vector: number) => boolean;

/**
 * A VFIO owner's sink: takes every raised vector, whatever the table says, and returns whether it
 * signalled something. A vector it does not signal (no trigger installed) is dropped, never pending.
 */
export type MsixSink = (vector: number) => boolean;

const { CONTROL, TABLE, PBA } = MsixReg;
/** Guest write mask of each byte of an entry: address [1:0] read as 0, vector control bits 31:1 reserved. */
const ENTRY_WMASK = new Uint8Array([0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0]);

/**
 * MSI-X. Enable and function mask live in Message Control (guest-writable), BIR/offset fields are
 * read-only. Every vector is masked at reset. Without a sink, {@link notify} delivers through the
 * hardware route when the vector can be delivered, else sets its pending bit, and unmasking an entry,
 * clearing the function mask or setting enable delivers each pending deliverable vector once. With a
 * sink attached, {@link notify} hands the vector to the sink and the table, message control and PBA
 * are left alone.
 */
export class MsixCapability extends CapabilityBase {
  /** {@inheritDoc Capability.id} */
  readonly id = CapabilityId.MSIX;
  /** {@inheritDoc Capability.extended} */
  readonly extended = false;
  /** {@inheritDoc Capability.length} */
  readonly length = 12;
  /** Number of vectors. */
  readonly vectors: number;
  /** BAR holding the table. */
  readonly tableBar: number;
  /** Offset of the table in its BAR. */
  readonly tableOffset: number;
  /** Size of the table in bytes (16 per vector). */
  readonly tableSize: number;
  /** BAR holding the PBA. */
  readonly pbaBar: number;
  /** Offset of the PBA in its BAR. */
  readonly pbaOffset: number;
  /** Size of the PBA in bytes (a qword per 64 vectors). */
  readonly pbaSize: number;
  /** {@inheritDoc Capability.stateSize} */
  readonly stateSize: number;
  private readonly table: Uint8Array;
  private readonly pba: Uint8Array;
  private delivery: MsixDelivery | null = null;
  private sink: MsixSink | null = null;

  /** Declares an MSI-X capability; throws on a bad vector count, BIR or offset alignment. */
  constructor(options: MsixOptions) {
    super();
    const { vectors, tableBar, tableOffset, pbaBar, pbaOffset } = options;
    if (!Number.isInteger(vectors) || vectors < 1 || vectors > 2048) throw new Error(`MSI-X: ${vectors} vectors is outside 1..2048`);
    for (const [name, bir] of [['table', tableBar], ['PBA', pbaBar]] as const) {
      if (!Number.isInteger(bir) || bir < 0 || bir > 5) throw new Error(`MSI-X: ${name} BIR ${bir} is outside 0..5`);
    }
    for (const [name, off] of [['table', tableOffset], ['PBA', pbaOffset]] as const) {
      if (!Number.isInteger(off) || off < 0 || off > 0xfffffff8 || off % 8 !== 0) {
        throw new Error(`MSI-X: ${name} offset 0x${off.toString(16)} is not an 8-byte aligned 32-bit offset`);
      }
    }
    this.vectors = vectors;
    this.tableBar = tableBar;
    this.tableOffset = tableOffset;
    this.tableSize = vectors * MSIX_ENTRY_SIZE;
    this.pbaBar = pbaBar;
    this.pbaOffset = pbaOffset;
    this.pbaSize = Math.ceil(vectors / 64) * 8;
    if (tableBar === pbaBar && tableOffset < pbaOffset + this.pbaSize && pbaOffset < tableOffset + this.tableSize) {
      throw new Error(`MSI-X: table (0x${tableOffset.toString(16)}+${this.tableSize}) and PBA (0x${pbaOffset.toString(16)}+${this.pbaSize}) overlap in BAR${tableBar}`);
    }
    this.table = new Uint8Array(this.tableSize);
    this.pba = new Uint8Array(this.pbaSize);
    this.stateSize = this.tableSize + this.pbaSize;
    this.reset();
  }

  /** Defines the registers after the header: reset values and guest masks. */
  protected define(space: ConfigSpace, offset: number): void {
    space.init(offset + CONTROL, 2, this.vectors - 1, MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
    space.init(offset + TABLE, 4, (this.tableOffset | this.tableBar) >>> 0);
    space.init(offset + PBA, 4, (this.pbaOffset | this.pbaBar) >>> 0);
  }

  // ---------------------------------------------------------------- state queries

  /** MSI-X Enable in Message Control. */
  get enabled(): boolean {
    return (this.reg(CONTROL, 2) & MsixControl.ENABLE) !== 0;
  }

  /** Function Mask in Message Control. */
  get functionMasked(): boolean {
    return (this.reg(CONTROL, 2) & MsixControl.FUNCTION_MASK) !== 0;
  }

  /** The entry's own mask bit (true for an out-of-range vector). */
  isMasked(vector: number): boolean {
    if (!this.valid(vector)) return true;
    return ((this.table[vector * MSIX_ENTRY_SIZE + MSIX_VECTOR_CONTROL] as number) & MSIX_VECTOR_MASKED) !== 0;
  }

  /** The vector's pending bit (false for an out-of-range vector). */
  isPending(vector: number): boolean {
    if (!this.valid(vector)) return false;
    return ((this.pba[vector >>> 3] as number) & (1 << (vector & 7))) !== 0;
  }

  /** Message Address low dword of the entry (0 for an out-of-range vector). */
  addressLo(vector: number): number {
    return this.valid(vector) ? this.readTable(vector * MSIX_ENTRY_SIZE, 4) : 0;
  }

  /** Message Upper Address of the entry (0 for an out-of-range vector). */
  addressHi(vector: number): number {
    return this.valid(vector) ? this.readTable(vector * MSIX_ENTRY_SIZE + 4, 4) : 0;
  }

  /** Message Data of the entry (0 for an out-of-range vector). */
  data(vector: number): number {
    return this.valid(vector) ? this.readTable(vector * MSIX_ENTRY_SIZE + 8, 4) : 0;
  }

  // ---------------------------------------------------------------- delivery

  /**
   * Installs (or removes, with null) the hardware route: where a message the table lets through goes
   * while no sink is attached. It belongs to the device model, which installs it once; a VFIO owner
   * attaches a sink instead and never replaces it. Pending vectors are not re-evaluated; see
   * {@link deliverPending}.
   */
  setDelivery(delivery: MsixDelivery | null): void {
    this.delivery = delivery;
  }

  /**
   * Attaches a VFIO owner's sink: from now on every raised vector goes to `sink` with no look at the
   * table, message control or PBA (vfio-uapi.md §5.4), until the returned function is called; that
   * function detaches the sink (once; later calls do nothing) and the hardware route installed with
   * {@link setDelivery}, which the sink never touched, applies again. One sink at a time: attaching a
   * second throws a plain `Error` (two owners of one function are a programming error).
   */
  attachSink(sink: MsixSink): () => void {
    if (this.sink !== null) throw new Error('MSI-X: a sink is already attached (one VFIO owner at a time)');
    this.sink = sink;
    return () => {
      if (this.sink === sink) this.sink = null;
    };
  }

  /** Whether a VFIO owner's sink is attached (see {@link attachSink}). */
  get sinkAttached(): boolean {
    return this.sink !== null;
  }

  /**
   * Raises `vector`. With a sink attached, hands it to the sink (the sink's answer is returned; the
   * PBA is untouched). Otherwise delivered through the hardware route when MSI-X is enabled, the
   * function is not masked and the entry is not masked; else, or when the route returns false or none
   * is installed, its pending bit is set. An out-of-range vector is ignored.
   * @returns true if the message was delivered
   */
  notify(vector: number): boolean {
    if (!this.valid(vector)) return false;
    const sink = this.sink;
    if (sink !== null) return sink(vector);
    if (!this.deliverable(vector)) {
      this.setPending(vector, true);
      return false;
    }
    return this.deliver(vector);
  }

  /**
   * The function could not send `vector` at all (e.g. its bus mastering is off): the message waits in
   * its pending bit, whoever owns the function, until {@link deliverPending} sends it. An out-of-range
   * vector is ignored.
   */
  hold(vector: number): void {
    if (this.valid(vector)) this.setPending(vector, true);
  }

  /**
   * Delivers every pending vector that can be delivered now, clearing each delivered one's bit. With a
   * sink attached, that is every pending vector (each handed to the sink and cleared, whatever the
   * sink answers); otherwise the hardware rules decide.
   * @returns the number of vectors delivered
   */
  deliverPending(): number {
    const sink = this.sink;
    if (sink === null && (!this.enabled || this.functionMasked)) return 0;
    let delivered = 0;
    for (let i = 0; i < this.pba.length; i++) {
      if (this.pba[i] === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const v = i * 8 + bit;
        if (((this.pba[i] as number) & (1 << bit)) === 0) continue;
        if (sink !== null) {
          this.setPending(v, false);
          if (sink(v)) delivered++;
        } else if (!this.isMasked(v) && this.deliver(v)) {
          delivered++;
        }
      }
    }
    return delivered;
  }

  private valid(vector: number): boolean {
    return vector >>> 0 === vector && vector < this.vectors;
  }

  private deliverable(vector: number): boolean {
    return this.enabled && !this.functionMasked && !this.isMasked(vector);
  }

  private deliver(vector: number): boolean {
    const ok = this.delivery !== null && this.delivery(vector);
    this.setPending(vector, !ok);
    return ok;
  }

  private setPending(vector: number, pending: boolean): void {
    const i = vector >>> 3;
    const bit = 1 << (vector & 7);
    this.pba[i] = pending ? (this.pba[i] as number) | bit : (this.pba[i] as number) & ~bit;
  }

  // ---------------------------------------------------------------- table and PBA accesses

  /** Reads 1, 2 or 4 bytes at `offset` from the start of the table; out of range reads 0. */
  readTable(offset: number, size: number): number {
    return isAccessSize(size) ? readLe(this.table, offset, size) : 0;
  }

  /**
   * Writes 1, 2 or 4 bytes at `offset` from the start of the table (reserved bits ignored; out of
   * range ignored). Without a sink, unmasking an entry whose vector is pending delivers it; with one,
   * the write only stores (the VMM does the guest's masking).
   */
  writeTable(offset: number, size: number, value: number): void {
    if (!isAccessSize(size)) return;
    let unmasked = -1;
    for (let i = 0; i < size; i++) {
      const b = offset + i;
      if (b >>> 0 !== b || b >= this.tableSize) continue;
      const m = ENTRY_WMASK[b & 15] as number;
      const old = this.table[b] as number;
      const next = (old & ~m) | ((value >>> (8 * i)) & m);
      this.table[b] = next;
      if ((b & 15) === MSIX_VECTOR_CONTROL && (old & MSIX_VECTOR_MASKED) !== 0 && (next & MSIX_VECTOR_MASKED) === 0) unmasked = b >>> 4;
    }
    if (unmasked >= 0 && this.sink === null && this.isPending(unmasked) && this.deliverable(unmasked)) this.deliver(unmasked);
  }

  /** Reads 1, 2 or 4 bytes at `offset` from the start of the PBA (read-only); out of range reads 0. */
  readPba(offset: number, size: number): number {
    return isAccessSize(size) ? readLe(this.pba, offset, size) : 0;
  }

  // ---------------------------------------------------------------- capability hooks

  /** Without a sink, setting enable or clearing function mask delivers pending vectors; with one, the bits are only storage. */
  afterWrite(offset: number, size: number, oldValue: number): void {
    if (this.sink !== null) return;
    const hi = CONTROL + 1; // byte holding enable (bit 7) and function mask (bit 6)
    if (offset > hi || offset + size <= hi) return;
    const before = (oldValue >>> (8 * (hi - offset))) & 0xc0;
    const wasLive = (before & 0x80) !== 0 && (before & 0x40) === 0;
    if (!wasLive) this.deliverPending();
  }

  /** Masks every vector, clears addresses, data and the PBA. The hardware route and an attached sink stay. */
  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[v * MSIX_ENTRY_SIZE + MSIX_VECTOR_CONTROL] = 1;
    this.pba.fill(0);
  }

  /** Writes the table then the PBA into `dst`. */
  saveState(dst: Uint8Array): void {
    dst.set(this.table, 0);
    dst.set(this.pba, this.tableSize);
  }

  /** Whether `src` is a table and PBA with no reserved bit and no pending bit beyond the last vector set. */
  isExactState(src: Uint8Array): boolean {
    if (src.length !== this.stateSize) return false;
    for (let b = 0; b < this.tableSize; b++) if (((src[b] as number) & ~(ENTRY_WMASK[b & 15] as number)) !== 0) return false;
    for (let v = this.vectors; v < this.pbaSize * 8; v++) if ((((src[this.tableSize + (v >>> 3)] as number) >>> (v & 7)) & 1) !== 0) return false;
    return true;
  }

  /** Loads a table and PBA saved by {@link saveState}; reserved bits and bits beyond the last vector are dropped. */
  loadState(src: Uint8Array): void {
    if (src.length !== this.stateSize) throw new Error(`MSI-X state is ${src.length} bytes; expected ${this.stateSize}`);
    for (let b = 0; b < this.tableSize; b++) {
      this.table[b] = (src[b] as number) & (ENTRY_WMASK[b & 15] as number);
    }
    this.pba.set(src.subarray(this.tableSize));
    for (let v = this.vectors; v < this.pbaSize * 8; v++) this.setPending(v, false);
  }
}
