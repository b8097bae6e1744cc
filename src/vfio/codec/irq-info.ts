/** `struct vfio_irq_info` (16 bytes, minsz 16; `vfio-uapi.md` §5.1). */
import { VfioError } from '../errors.js';
import type { IrqInfo } from '../info.js';
import { needBytes, viewOf } from './bytes.js';

/** Size and minsz of the structure. */
export const VFIO_IRQ_INFO_SIZE = 16;

/** The decoded structure. */
export interface IrqInfoStruct extends IrqInfo {
  /** argsz as found. */
  readonly argsz: number;
}

/** Encodes the answer for a caller that gave `argsz` (echoed); EINVAL when argsz < 16. */
export function encodeIrqInfo(info: IrqInfo, argsz: number): Uint8Array {
  if (argsz < VFIO_IRQ_INFO_SIZE) throw new VfioError('EINVAL', `GET_IRQ_INFO: argsz ${argsz} < ${VFIO_IRQ_INFO_SIZE}`);
  const out = new Uint8Array(VFIO_IRQ_INFO_SIZE);
  const v = viewOf(out);
  v.setUint32(0, argsz, true);
  v.setUint32(4, info.flags, true);
  v.setUint32(8, info.index, true);
  v.setUint32(12, info.count, true);
  return out;
}

/** Decodes 16 bytes (EFAULT when shorter). */
export function decodeIrqInfo(bytes: Uint8Array): IrqInfoStruct {
  needBytes(bytes, VFIO_IRQ_INFO_SIZE, 'vfio_irq_info');
  const v = viewOf(bytes);
  return { argsz: v.getUint32(0, true), flags: v.getUint32(4, true), index: v.getUint32(8, true), count: v.getUint32(12, true) };
}
