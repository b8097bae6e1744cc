/**
 * BAR0 as an MMIO region: 1-, 2-, 4- and 8-byte accesses at naturally aligned offsets reach the
 * register file (an 8-byte access is two dword accesses, low dword first, like Linux `lo_hi`
 * accessors); a misaligned access, another size or an offset outside the BAR reads 0 and writes
 * nothing; while the function does not decode memory (PCI command MEM clear) every read returns
 * all ones (master abort). Nothing here throws or allocates.
 */
import type { RegisterFile } from './register-file.js';

/** BAR0 of a DSA device. */
export class RegisterMmio {
  /** BAR0 size in bytes. */
  readonly size: number;
  private readonly regs: RegisterFile;
  private readonly decoding: () => boolean;

  /** @param decoding whether the function decodes memory (PCI command MEM) */
  constructor(regs: RegisterFile, decoding: () => boolean) {
    this.regs = regs;
    this.size = regs.size;
    this.decoding = decoding;
  }

  private ok(offset: number, size: number): boolean {
    return (size === 1 || size === 2 || size === 4 || size === 8) && offset >= 0 && offset + size <= this.size &&
      offset % size === 0 && this.decoding();
  }

  /** What a read that reaches no register returns: all ones while memory decode is off, else 0. */
  private unserved(size: number): number {
    return this.decoding() ? 0 : size >= 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  }

  /** Reads 1, 2 or 4 bytes (for 8 bytes use {@link readInto} or two dword reads). */
  read(offset: number, size: number): number {
    if (size === 8 || !this.ok(offset, size)) return this.unserved(size);
    return this.regs.read(offset, size);
  }

  /** Writes 1, 2 or 4 bytes (for 8 bytes use {@link writeFrom} or two dword writes). */
  write(offset: number, size: number, value: number): void {
    if (size !== 8 && this.ok(offset, size)) this.regs.write(offset, size, value >>> 0);
  }

  /** Reads a dword. */
  read32(offset: number): number {
    return this.read(offset, 4);
  }

  /** Writes a dword. */
  write32(offset: number, value: number): void {
    this.write(offset, 4, value);
  }

  /** Writes a qword as two dwords, low first. */
  write64(offset: number, lo: number, hi: number): void {
    if (!this.ok(offset, 8)) return;
    this.regs.write(offset, 4, lo >>> 0);
    this.regs.write(offset + 4, 4, hi >>> 0);
  }

  /** Fills `dst` (1, 2, 4 or 8 bytes, little-endian) from `offset`. */
  readInto(offset: number, dst: Uint8Array): void {
    const n = dst.length;
    if (!this.ok(offset, n)) {
      dst.fill(this.decoding() ? 0 : 0xff);
      return;
    }
    const words = n === 8 ? 2 : 1;
    const size = n === 8 ? 4 : n;
    for (let k = 0; k < words; k++) {
      const v = this.regs.read(offset + 4 * k, size);
      for (let b = 0; b < size; b++) dst[4 * k + b] = (v >>> (8 * b)) & 0xff;
    }
  }

  /** Writes `src` (1, 2, 4 or 8 bytes, little-endian) at `offset`. */
  writeFrom(offset: number, src: Uint8Array): void {
    const n = src.length;
    if (!this.ok(offset, n)) return;
    const words = n === 8 ? 2 : 1;
    const size = n === 8 ? 4 : n;
    for (let k = 0; k < words; k++) {
      let v = 0;
      for (let b = 0; b < size; b++) v |= (src[4 * k + b] as number) << (8 * b);
      this.regs.write(offset + 4 * k, size, v >>> 0);
    }
  }
}

/**
 * A mapping of part of BAR0 (what `mmap` of a mappable BAR0 area hands out): a direct handle on the
 * same register file, at offsets relative to the start of the mapping, with nothing between the caller
 * and the registers but the device's own rules (the access sizes and alignment of {@link RegisterMmio},
 * all ones while memory decode is off). An access that does not lie wholly inside the mapping reaches
 * nothing: it reads 0 and writes nothing.
 */
export class MappedRegisters {
  /** BAR0 offset of the first mapped byte. */
  readonly offset: number;
  /** Mapped bytes. */
  readonly size: number;
  private readonly mmio: RegisterMmio;

  /** The `size` bytes of `mmio` from BAR0 offset `offset`; throws `RangeError` when they do not lie inside BAR0. */
  constructor(mmio: RegisterMmio, offset: number, size: number) {
    if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size <= 0 || offset + size > mmio.size) {
      throw new RangeError(`a BAR0 mapping of 0x${size.toString(16)} bytes at 0x${offset.toString(16)} does not lie inside the ${mmio.size}-byte BAR`);
    }
    this.mmio = mmio;
    this.offset = offset;
    this.size = size;
  }

  private inside(at: number, n: number): boolean {
    return at >= 0 && at + n <= this.size;
  }

  /** Reads 1, 2 or 4 bytes at `at` (relative to the mapping). */
  read(at: number, size: number): number {
    return this.inside(at, size) ? this.mmio.read(this.offset + at, size) : 0;
  }

  /** Writes 1, 2 or 4 bytes at `at`. */
  write(at: number, size: number, value: number): void {
    if (this.inside(at, size)) this.mmio.write(this.offset + at, size, value);
  }

  /** Reads a dword (`readl`). */
  read32(at: number): number {
    return this.read(at, 4);
  }

  /** Writes a dword (`writel`). */
  write32(at: number, value: number): void {
    this.write(at, 4, value);
  }

  /** Writes a qword as two dwords, low first (`writeq` / `lo_hi_writeq`). */
  write64(at: number, lo: number, hi: number): void {
    if (this.inside(at, 8)) this.mmio.write64(this.offset + at, lo, hi);
  }

  /** Fills `dst` (1, 2, 4 or 8 bytes, little-endian) from `at` (`readq` with 8 bytes). */
  readInto(at: number, dst: Uint8Array): void {
    if (this.inside(at, dst.length)) this.mmio.readInto(this.offset + at, dst);
    else dst.fill(0);
  }

  /** Writes `src` (1, 2, 4 or 8 bytes, little-endian) at `at`. */
  writeFrom(at: number, src: Uint8Array): void {
    if (this.inside(at, src.length)) this.mmio.writeFrom(this.offset + at, src);
  }
}
