/**
 * The CONFIG and ROM regions of the generic PCI adapter (`vfio-uapi.md` §3.4): config space takes any
 * length, split with the vfio-pci rule into pieces that each go through the config space's write rule;
 * the ROM is read-only. Neither allocates per access.
 */
import type { ConfigSpace } from '../pci/index.js';
import { configPieceSize } from './config-access.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from './constants.js';
import type { RegionOps } from './device-ops.js';

/** Reads `size` (1..4) bytes of `buf` at `at` as a little-endian unsigned number. */
export function loadLe(buf: Uint8Array, at: number, size: number): number {
  let v = buf[at] as number;
  if (size > 1) v |= (buf[at + 1] as number) << 8;
  if (size > 2) v |= ((buf[at + 2] as number) << 16) | ((buf[at + 3] as number) << 24);
  return v >>> 0;
}

/** Stores the low `size` (1..4) bytes of `value` into `buf` at `at`, little-endian. */
export function storeLe(buf: Uint8Array, at: number, size: number, value: number): void {
  buf[at] = value;
  if (size > 1) buf[at + 1] = value >>> 8;
  if (size > 2) {
    buf[at + 2] = value >>> 16;
    buf[at + 3] = value >>> 24;
  }
}

/**
 * Region 7 of a PCI function: its config space, READ|WRITE, any length at any offset. Each access is
 * cut into naturally aligned 1/2/4-byte pieces that never cross a dword ({@link configPieceSize}); a
 * write piece goes through `ConfigSpace.write` (read-only bits kept, RW1C honoured, owners told).
 */
export class PciConfigRegion implements RegionOps<never> {
  /** The config-space size (256 or 4096). */
  readonly size: number;
  /** READ | WRITE. */
  readonly flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

  /** Serves `config`. */
  constructor(private readonly config: ConfigSpace) {
    this.size = config.size;
  }

  /** Guest read of `buf.length` bytes at `offset`, piece by piece. */
  read(offset: number, buf: Uint8Array): void {
    const len = buf.length;
    for (let done = 0; done < len; ) {
      const n = configPieceSize(offset + done, len - done);
      storeLe(buf, done, n, this.config.read(offset + done, n));
      done += n;
    }
  }

  /** Guest write of `buf` at `offset`, piece by piece, under the config-space write rule. */
  write(offset: number, buf: Uint8Array): void {
    const len = buf.length;
    for (let done = 0; done < len; ) {
      const n = configPieceSize(offset + done, len - done);
      this.config.write(offset + done, n, loadLe(buf, done, n));
      done += n;
    }
  }
}

/** Supplies the contents of the expansion ROM. */
export interface PciRomHandler {
  /** Fills `buf` with ROM bytes from `offset` (inside the ROM; any length). */
  read(offset: number, buf: Uint8Array): void;
}

/** Region 6 of a PCI function: its expansion ROM, read-only; zeros without a handler. */
export class PciRomRegion implements RegionOps<never> {
  /** READ when the function has a ROM, else 0. */
  readonly flags: number;

  /** A ROM region of `size` bytes (0 = none) served by `handler`. */
  constructor(
    readonly size: number,
    private readonly handler: PciRomHandler | undefined,
  ) {
    this.flags = size > 0 ? VFIO_REGION_INFO_FLAG_READ : 0;
  }

  /** ROM read. */
  read(offset: number, buf: Uint8Array): void {
    if (this.handler === undefined) buf.fill(0);
    else this.handler.read(offset, buf);
  }
}
