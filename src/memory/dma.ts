import { type AddressSpace, DmaRun, IOVA_LIMIT } from './address-space.js';
import { copyBytes } from './copy.js';

/**
 * Run-by-run DMA loops over an `AddressSpace` with a preallocated `DmaRun`: no allocation per call.
 * Each method returns how many bytes it transferred before the first fault (equal to the length
 * when nothing faulted); the faulting IOVA is then `iova + returned`.
 */
export class Dma {
  private readonly run = new DmaRun();

  /** Reads `length` bytes at `iova` into `dst[dstOff..]`. */
  read(space: AddressSpace | null, iova: number, dst: Uint8Array, dstOff: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = this.step(space, iova + done, length - done, false);
      if (n === 0) break;
      copyBytes(this.run.bytes, this.run.offset, dst, dstOff + done, n);
      done += n;
    }
    return done;
  }

  /** Writes `src[srcOff..srcOff + length)` to `iova`. */
  write(space: AddressSpace | null, iova: number, src: Uint8Array, srcOff: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = this.step(space, iova + done, length - done, true);
      if (n === 0) break;
      copyBytes(src, srcOff + done, this.run.bytes, this.run.offset, n);
      done += n;
    }
    return done;
  }

  /** Writes `length` bytes of value `byte` at `iova`. */
  fill(space: AddressSpace | null, iova: number, byte: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = this.step(space, iova + done, length - done, true);
      if (n === 0) break;
      this.run.bytes.fill(byte, this.run.offset, this.run.offset + n);
      done += n;
    }
    return done;
  }

  /** Length of the translatable prefix of `[iova, iova + length)` with the given access. */
  probe(space: AddressSpace | null, iova: number, length: number, write: boolean): number {
    let done = 0;
    while (done < length) {
      const n = this.step(space, iova + done, length - done, write);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  private step(space: AddressSpace | null, iova: number, length: number, write: boolean): number {
    if (space === null || !(iova >= 0) || iova >= IOVA_LIMIT) return 0;
    const max = IOVA_LIMIT - iova;
    const n = space.translate(iova, length < max ? length : max, write, this.run);
    return n > 0 ? (n < length ? n : length) : 0;
  }
}
