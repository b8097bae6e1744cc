/**
 * The vdev's BAR0 region handler (vidxd-device.md §4): every access is trapped and served by the
 * vdev's register file. The VFIO core admits 1-, 2-, 4- and 8-byte naturally aligned accesses only
 * (anything else is EINVAL there); an 8-byte access is two dword accesses, low dword first; a write
 * that covers a register of {@link VDEV_EXACT_WRITES} with another size is refused with EINVAL before
 * anything changes. The MSI-X table and PBA never reach this handler: the PCI adapter serves them from
 * the MSI-X capability. Nothing here allocates.
 */
import type { RegisterFile } from '../dsa/index.js';
import { type PciBarHandler, VfioError } from '../vfio/index.js';
import { VDEV_EXACT_WRITES } from './registers.js';

const SIZES = 1 | 2 | 4 | 8;

function load(buf: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = (v << 8) | (buf[at + i] as number);
  return v >>> 0;
}

function store(buf: Uint8Array, at: number, n: number, v: number): void {
  for (let i = 0; i < n; i++) buf[at + i] = (v >>> (8 * i)) & 0xff;
}

/** BAR0 of a vdev as a PCI BAR handler. */
export class VdevBar0<M> implements PciBarHandler<M> {
  /** 1, 2, 4 or 8 bytes, naturally aligned. */
  readonly readSizes = SIZES;
  /** 1, 2, 4 or 8 bytes, naturally aligned. */
  readonly writeSizes = SIZES;
  /** Migration: while true (the vdev is stopped), writes are checked and then ignored; reads answer. */
  frozen = false;
  private readonly regs: RegisterFile;
  /** Per dword: the only write size allowed (0: no restriction). */
  private readonly exact: Uint8Array;

  /** Serves `regs`. */
  constructor(regs: RegisterFile) {
    this.regs = regs;
    this.exact = new Uint8Array(regs.size >>> 2);
    for (const reg of VDEV_EXACT_WRITES) {
      const d = regs.dwordIndex(reg);
      this.exact.fill(reg.size, d, d + (reg.size >>> 2));
    }
  }

  /** A trapped read of 1, 2, 4 or 8 bytes. */
  read(offset: number, buf: Uint8Array): void {
    const n = buf.length;
    if (n === 8) {
      store(buf, 0, 4, this.regs.read(offset, 4));
      store(buf, 4, 4, this.regs.read(offset + 4, 4));
    } else {
      store(buf, 0, n, this.regs.read(offset, n));
    }
  }

  /** A trapped write of 1, 2, 4 or 8 bytes; EINVAL (nothing written) for a wrong-size write to an exact-size register. */
  write(offset: number, buf: Uint8Array): void {
    const n = buf.length;
    const d = offset >>> 2;
    const need = this.exact[d] as number;
    const next = n === 8 ? (this.exact[d + 1] as number) : 0;
    if ((need !== 0 && need !== n) || (next !== 0 && next !== n)) throw this.refused(offset, n);
    if (this.frozen) return;
    if (n === 8) {
      this.regs.write(offset, 4, load(buf, 0, 4));
      this.regs.write(offset + 4, 4, load(buf, 4, 4));
    } else {
      this.regs.write(offset, n, load(buf, 0, n));
    }
  }

  private refused(offset: number, n: number): VfioError {
    return new VfioError('EINVAL', `BAR0 write of ${n} bytes at 0x${offset.toString(16)}: the command register takes exactly one 4-byte write`);
  }
}
