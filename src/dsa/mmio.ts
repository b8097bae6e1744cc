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
