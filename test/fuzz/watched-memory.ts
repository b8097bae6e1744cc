/**
 * A memory the fuzzer watches: the bytes a device may DMA into and a shadow copy holding what those
 * bytes are allowed to be. The guest CPU writes both; a DMA write is accepted into the shadow only
 * after the invariants have attributed it to the memory's owner; anything else that changes the
 * bytes shows up as a difference between the two (a native compare, so checking is cheap).
 */
import { Buffer } from 'node:buffer';
import { GuestMemory } from '../../src/memory/index.js';
import type { Prng } from '../util/prng.js';

/** Who a memory belongs to: a vdev's guest (its id) or the parent's host driver. */
export type MemoryOwner = number;

/** The owner id of the parent's own memory. */
export const HOST_OWNER: MemoryOwner = 0;

/** Bytes of a memory range at some moment, plus the guest CPU's writes since. */
export class Snapshot {
  /** The copy `bytes` of the memory range starting at memory offset `offset`. */
  constructor(readonly offset: number, readonly bytes: Uint8Array) {}

  /** Records a CPU store of `value` at memory offset `at` (ignored outside the range). */
  put(at: number, value: number): void {
    const i = at - this.offset;
    if (i >= 0 && i < this.bytes.length) this.bytes[i] = value;
  }
}

/** One watched memory. */
export class WatchedMemory {
  /** The memory devices see (through an IOAS or the IOMMU). */
  readonly memory: GuestMemory;
  /** Its bytes (the identity a DMA run names). */
  readonly bytes: Uint8Array;
  /** What the bytes may hold. */
  readonly shadow: Uint8Array;
  private readonly live: Buffer;
  private readonly copy: Buffer;
  private readonly snapshots: Snapshot[] = [];

  /**
   * A memory of `size` bytes named `name` (for messages), owned by `owner` (null: nobody, a canary),
   * filled with seeded random bytes.
   */
  constructor(readonly name: string, size: number, readonly owner: MemoryOwner | null, r: Prng) {
    this.memory = new GuestMemory(size);
    this.bytes = this.memory.bytes;
    // Four random bytes per draw (64 KiB per vdev, created often).
    const words = new Uint32Array(this.bytes.buffer, 0, size >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = r.u32();
    this.shadow = this.bytes.slice();
    this.live = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.copy = Buffer.from(this.shadow.buffer, this.shadow.byteOffset, this.shadow.byteLength);
  }

  /** The guest CPU stores `src` at `offset` (memory, shadow and open snapshots alike). */
  cpuWrite(offset: number, src: Uint8Array): void {
    this.bytes.set(src, offset);
    this.shadow.set(src, offset);
    for (const s of this.snapshots) for (let i = 0; i < src.length; i++) s.put(offset + i, src[i] as number);
  }

  /** The guest CPU fills `[offset, offset + length)` with `value`. */
  cpuFill(offset: number, length: number, value: number): void {
    this.bytes.fill(value, offset, offset + length);
    this.shadow.fill(value, offset, offset + length);
    for (const s of this.snapshots) for (let i = 0; i < length; i++) s.put(offset + i, value);
  }

  /**
   * A copy of `[offset, offset + length)` as it is now, kept up to date with the guest CPU's writes
   * until {@link closeSnapshots}: what the bytes must still hold if no device write reached them.
   */
  snapshot(offset: number, length: number): Snapshot {
    const s = new Snapshot(offset, this.bytes.slice(offset, offset + length));
    this.snapshots.push(s);
    return s;
  }

  /** Stops updating every snapshot. */
  closeSnapshots(): void {
    this.snapshots.length = 0;
  }

  /** Accepts the current bytes of `[offset, offset + length)` (an attributed DMA write). */
  accept(offset: number, length: number): void {
    this.shadow.set(this.bytes.subarray(offset, offset + length), offset);
  }

  /** Offset of the first byte that differs from the shadow, or -1 when none does. */
  firstDifference(): number {
    if (this.live.equals(this.copy)) return -1;
    for (let i = 0; i < this.bytes.length; i++) if (this.bytes[i] !== this.shadow[i]) return i;
    return -1;
  }
}
