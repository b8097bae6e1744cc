/** Little-endian field helpers shared by the codecs; u64 values are plain numbers below 2^53. */
import { VfioError } from '../errors.js';

/** A DataView over exactly `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a u64 that must fit in 53 bits (EINVAL otherwise). */
export function getU64(view: DataView, offset: number, what: string): number {
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  if (hi >= 0x20_0000) throw new VfioError('EINVAL', `${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} does not fit in 53 bits`);
  return hi * 0x1_0000_0000 + lo;
}

/** Writes a non-negative safe integer as a u64. */
export function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 0x1_0000_0000, true);
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Throws EFAULT when `bytes` is shorter than `need` (the analogue of a bad user pointer). */
export function needBytes(bytes: Uint8Array, need: number, what: string): void {
  if (bytes.length < need) throw new VfioError('EFAULT', `${what}: buffer of ${bytes.length} bytes, ${need} needed`);
}
