/**
 * The bytes of a PCI configuration space and the one write rule that governs them.
 *
 * Every byte carries a value, a write mask (`wmask`: bits a guest may set or clear), a
 * write-1-to-clear mask (`w1cmask`: bits a guest can only clear, by writing 1), a dynamic mask
 * (bits that are read-only to a guest but that the device model changes at run time) and an owner
 * (the header, a capability, or nobody). A guest write applies
 * `v = (v & ~w) | (new & w); v &= ~(new & w1c)` byte by byte; a bit is never both writable and RW1C.
 */
import { isAccessSize, readLe } from './bytes.js';
import { CONFIG_SIZE_CONVENTIONAL, CONFIG_SIZE_EXPRESS } from './spec.js';

/** Owner code of bytes that belong to nothing (they read 0 and ignore writes unless masked). */
export const OWNER_NONE = 0;
/** Owner code of the type-0 header (offsets 0x00..0x3F). */
export const OWNER_HEADER = 1;
/** Owner code of the first capability; capability `k` (in placement order) has `OWNER_FIRST_CAPABILITY + k`. */
export const OWNER_FIRST_CAPABILITY = 2;

/** The two configuration-space sizes a function can have. */
export type ConfigSize = typeof CONFIG_SIZE_CONVENTIONAL | typeof CONFIG_SIZE_EXPRESS;

/**
 * Told about every guest write once the bytes have changed, one call per naturally aligned piece
 * that lies within one owner. Installed once; the call passes plain numbers (no allocation).
 */
export interface ConfigWriteObserver {
  /**
   * A guest wrote `size` bytes at `offset` (a naturally aligned piece with a single owner).
   * @param owner the owner code of the piece (never {@link OWNER_NONE})
   * @param oldValue the piece's value before the write (little-endian)
   */
  afterWrite(owner: number, offset: number, size: number, oldValue: number): void;
  /**
   * Optional: one guest access ({@link ConfigSpace.write} or {@link ConfigSpace.writeFrom}) has
   * completed — every piece of it written and observed. What a write asked for that must not run
   * in the middle of it (a function-level reset) runs here.
   */
  accessDone?(): void;
}


/**
 * A 256- or 4096-byte configuration space with per-byte masks and owners.
 *
 * Guest accesses ({@link read}, {@link write}, {@link readInto}, {@link writeFrom}) never throw:
 * bytes outside the space read as 0 and ignore writes, and writes to read-only bits are ignored.
 * Build-time methods ({@link init}, {@link claim}) throw a plain `Error` on misuse.
 */
export class ConfigSpace {
  /** Number of bytes: 256 (conventional) or 4096 (PCI Express). */
  readonly size: ConfigSize;
  private readonly value: Uint8Array;
  private readonly wmask: Uint8Array;
  private readonly w1cmask: Uint8Array;
  private readonly dynmask: Uint8Array;
  private readonly owner: Uint8Array;
  private readonly resetImage: Uint8Array;
  private observer: ConfigWriteObserver | null = null;

  /** Creates an all-zero, all-read-only space of `size` bytes. */
  constructor(size: ConfigSize) {
    if (size !== CONFIG_SIZE_CONVENTIONAL && size !== CONFIG_SIZE_EXPRESS) {
      throw new Error(`config space size must be 256 or 4096 bytes, not ${String(size)}`);
    }
    this.size = size;
    this.value = new Uint8Array(size);
    this.wmask = new Uint8Array(size);
    this.w1cmask = new Uint8Array(size);
    this.dynmask = new Uint8Array(size);
    this.owner = new Uint8Array(size);
    this.resetImage = new Uint8Array(size);
  }

  // ---------------------------------------------------------------- build time

  /**
   * Defines `size` (1..4) bytes at `offset`: their reset value (also the current value) and masks,
   * little-endian. Throws if the range is outside the space or a bit is both writable and RW1C.
   * @param dynamicMask read-only bits the device model changes at run time (not compared on restore)
   */
  init(offset: number, size: number, value: number, wmask = 0, w1cmask = 0, dynamicMask = 0): void {
    this.checkRange(offset, size, 'init');
    if (size > 4) throw new Error(`init of ${size} bytes at 0x${offset.toString(16)}: at most 4 bytes at a time`);
    if ((wmask & w1cmask) !== 0) {
      throw new Error(
        `bits 0x${((wmask & w1cmask) >>> 0).toString(16)} at 0x${offset.toString(16)} are both writable and RW1C`,
      );
    }
    for (let i = 0; i < size; i++) {
      const s = 8 * i;
      const b = offset + i;
      this.value[b] = value >>> s;
      this.resetImage[b] = value >>> s;
      this.wmask[b] = wmask >>> s;
      this.w1cmask[b] = w1cmask >>> s;
      this.dynmask[b] = dynamicMask >>> s;
    }
  }

  /** Marks `length` bytes at `offset` as owned by `owner`; throws if any of them already has an owner. */
  claim(offset: number, length: number, owner: number): void {
    this.checkRange(offset, length, 'claim');
    if (owner <= OWNER_NONE || owner > 0xff) throw new Error(`invalid owner code ${owner}`);
    for (let b = offset; b < offset + length; b++) {
      if (this.owner[b] !== OWNER_NONE) {
        throw new Error(`byte 0x${b.toString(16)} is already owned (owner ${this.owner[b]}); cannot claim it for owner ${owner}`);
      }
    }
    this.owner.fill(owner, offset, offset + length);
  }

  /** Installs the write observer; it can be installed once. */
  setObserver(observer: ConfigWriteObserver): void {
    if (this.observer !== null) throw new Error('the config space already has a write observer');
    this.observer = observer;
  }

  private checkRange(offset: number, length: number, what: string): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 1 || offset + length > this.size) {
      throw new Error(`${what}: range 0x${offset.toString(16)}+${length} is outside the ${this.size}-byte config space`);
    }
  }

  // ---------------------------------------------------------------- queries

  /** Owner code of the byte at `offset` ({@link OWNER_NONE} outside the space). */
  ownerAt(offset: number): number {
    return offset >>> 0 === offset && offset < this.size ? (this.owner[offset] as number) : OWNER_NONE;
  }

  /** Write mask of `size` bytes at `offset` (0 outside the space). */
  writeMask(offset: number, size: number): number {
    return this.gather(this.wmask, offset, size);
  }

  /** RW1C mask of `size` bytes at `offset` (0 outside the space). */
  w1cMask(offset: number, size: number): number {
    return this.gather(this.w1cmask, offset, size);
  }

  /** Dynamic (device-changed read-only) mask of `size` bytes at `offset` (0 outside the space). */
  dynamicMask(offset: number, size: number): number {
    return this.gather(this.dynmask, offset, size);
  }

  /** Reset value of `size` bytes at `offset` (0 outside the space). */
  resetValue(offset: number, size: number): number {
    return this.gather(this.resetImage, offset, size);
  }

  /**
   * True when every guest-read-only, non-dynamic bit of `image` (a full copy of the space) equals
   * this space's reset image.
   */
  matchesReadOnly(image: Uint8Array): boolean {
    if (image.length !== this.size) return false;
    for (let b = 0; b < this.size; b++) {
      const ro = ~((this.wmask[b] as number) | (this.w1cmask[b] as number) | (this.dynmask[b] as number)) & 0xff;
      if ((((image[b] as number) ^ (this.resetImage[b] as number)) & ro) !== 0) return false;
    }
    return true;
  }

  private gather(bytes: Uint8Array, offset: number, size: number): number {
    return readLe(bytes, offset, size);
  }

  // ---------------------------------------------------------------- guest accesses

  /**
   * Reads 1, 2 or 4 bytes at any offset, little-endian. Bytes outside the space read as 0; any other
   * size reads 0. Reads have no side effects, so the natural-alignment split is invisible here.
   */
  read(offset: number, size: number): number {
    if (!isAccessSize(size)) return 0;
    return this.gather(this.value, offset, size);
  }

  /**
   * Writes 1, 2 or 4 bytes at any offset under the write rule. The access is split into naturally
   * aligned pieces that each lie within one owner; bytes outside the space are ignored, as is any
   * other size. Never throws.
   */
  write(offset: number, size: number, value: number): void {
    if (!isAccessSize(size) || !Number.isInteger(offset)) return;
    let pos = offset;
    const end = offset + size;
    let shift = 0;
    while (pos < end) {
      const n = this.pieceSize(pos, end);
      if (pos >= 0 && pos < this.size) this.writePiece(pos, n, shift < 32 ? value >>> shift : 0);
      pos += n;
      shift += 8 * n;
    }
    this.observer?.accessDone?.();
  }

  /**
   * Copies bytes starting at `offset` into `dst`; bytes outside the space are set to 0.
   * @returns the number of bytes served from the space (0 when `offset` is out of range)
   */
  readInto(offset: number, dst: Uint8Array): number {
    const served = this.servable(offset, dst.length);
    for (let i = 0; i < served; i++) dst[i] = this.value[offset + i] as number;
    dst.fill(0, served);
    return served;
  }

  /**
   * Writes `src` starting at `offset` as a guest would, in naturally aligned pieces of at most 4
   * bytes that each lie within one owner; bytes past the end of the space are ignored.
   * @returns the number of bytes served (0 when `offset` is out of range)
   */
  writeFrom(offset: number, src: Uint8Array): number {
    const served = this.servable(offset, src.length);
    const end = offset + served;
    let pos = offset;
    while (pos < end) {
      const n = this.pieceSize(pos, end);
      let v = 0;
      for (let i = 0; i < n; i++) v |= (src[pos - offset + i] as number) << (8 * i);
      this.writePiece(pos, n, v);
      pos += n;
    }
    this.observer?.accessDone?.();
    return served;
  }

  private servable(offset: number, length: number): number {
    if (offset >>> 0 !== offset || offset >= this.size) return 0;
    return Math.min(length, this.size - offset);
  }

  /** Largest naturally aligned piece (4, 2 or 1 bytes) at `pos` below `end` with a single owner. */
  private pieceSize(pos: number, end: number): number {
    if (pos < 0 || pos >= this.size) return 1;
    const own = this.owner[pos];
    if ((pos & 3) === 0 && pos + 4 <= end && pos + 4 <= this.size &&
        this.owner[pos + 1] === own && this.owner[pos + 2] === own && this.owner[pos + 3] === own) return 4;
    if ((pos & 1) === 0 && pos + 2 <= end && pos + 2 <= this.size && this.owner[pos + 1] === own) return 2;
    return 1;
  }

  private writePiece(pos: number, n: number, v: number): void {
    let old = 0;
    for (let i = 0; i < n; i++) {
      const b = pos + i;
      const cur = this.value[b] as number;
      old |= cur << (8 * i);
      const nb = (v >>> (8 * i)) & 0xff;
      const w = this.wmask[b] as number;
      this.value[b] = ((cur & ~w) | (nb & w)) & ~(nb & (this.w1cmask[b] as number));
    }
    const own = this.owner[pos] as number;
    if (own !== OWNER_NONE && this.observer !== null) this.observer.afterWrite(own, pos, n, old >>> 0);
  }

  // ---------------------------------------------------------------- device-model accesses

  /** Sets `size` (1..4) bytes at `offset` to `value`, bypassing the masks (device model, not guest). Out of range: ignored. */
  poke(offset: number, size: number, value: number): void {
    for (let i = 0; i < size && i < 4; i++) {
      const b = offset + i;
      if (b >>> 0 === b && b < this.size) this.value[b] = value >>> (8 * i);
    }
  }

  /** Sets `bits` in the `size` bytes at `offset`, bypassing the masks (device model). */
  setBits(offset: number, size: number, bits: number): void {
    this.poke(offset, size, this.gather(this.value, offset, size) | bits);
  }

  /** Clears `bits` in the `size` bytes at `offset`, bypassing the masks (device model). */
  clearBits(offset: number, size: number, bits: number): void {
    this.poke(offset, size, this.gather(this.value, offset, size) & ~bits);
  }

  /** Copies a full image (exactly {@link size} bytes) into the space, bypassing masks (restore). */
  load(image: Uint8Array): void {
    if (image.length !== this.size) throw new Error(`config image is ${image.length} bytes; expected ${this.size}`);
    this.value.set(image);
  }

  /** Returns every byte to its reset value. */
  reset(): void {
    this.value.set(this.resetImage);
  }

  /**
   * From now on {@link reset} (and {@link matchesReadOnly}) use `other`'s reset image: a space of the
   * same size with the same masks and owners whose read-only values differ (a device presenting the
   * identity of the device it was migrated from). The current bytes are not touched. Throws a plain
   * `Error` when the sizes, masks or owners differ.
   */
  adoptResetImage(other: ConfigSpace): void {
    if (other.size !== this.size) throw new Error(`cannot adopt the reset image of a ${other.size}-byte space`);
    for (const [a, b] of [[this.wmask, other.wmask], [this.w1cmask, other.w1cmask], [this.dynmask, other.dynmask], [this.owner, other.owner]] as const) {
      const x = new Int32Array(a.buffer, a.byteOffset, a.length >>> 2);
      const y = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
      for (let i = 0; i < x.length; i++) {
        if (x[i] !== y[i]) throw new Error(`cannot adopt the reset image of a space whose masks differ near 0x${(4 * i).toString(16)}`);
      }
    }
    this.resetImage.set(other.resetImage);
  }
}
