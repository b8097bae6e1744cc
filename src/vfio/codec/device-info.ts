/** `struct vfio_device_info` (24 bytes, minsz 16; `vfio-uapi.md` §2). */
import { VfioError } from '../errors.js';
import type { DeviceInfo } from '../info.js';
import { needBytes, viewOf } from './bytes.js';

/** Bytes the caller must provide at least (argsz, flags, num_regions, num_irqs). */
export const VFIO_DEVICE_INFO_MINSZ = 16;
/** Full size, with cap_offset and pad. */
export const VFIO_DEVICE_INFO_SIZE = 24;

/** The decoded structure. */
export interface DeviceInfoStruct extends DeviceInfo {
  /** Buffer size the caller gave (request) or the answer needs (reply). */
  readonly argsz: number;
  /** Offset of the first device capability (0 = none; 0 when the bytes stop before it). */
  readonly capOffset: number;
}

/**
 * Encodes the answer for a caller that gave `argsz`: `min(argsz, 24)` bytes, argsz echoed, cap_offset 0.
 * EINVAL when argsz < 16.
 */
export function encodeDeviceInfo(info: DeviceInfo, argsz: number): Uint8Array {
  if (argsz < VFIO_DEVICE_INFO_MINSZ) throw new VfioError('EINVAL', `GET_INFO: argsz ${argsz} < ${VFIO_DEVICE_INFO_MINSZ}`);
  const out = new Uint8Array(Math.min(argsz, VFIO_DEVICE_INFO_SIZE));
  const v = viewOf(out);
  v.setUint32(0, argsz, true);
  v.setUint32(4, info.flags, true);
  v.setUint32(8, info.numRegions, true);
  v.setUint32(12, info.numIrqs, true);
  return out;
}

/** Decodes at least 16 bytes (EFAULT when shorter). */
export function decodeDeviceInfo(bytes: Uint8Array): DeviceInfoStruct {
  needBytes(bytes, VFIO_DEVICE_INFO_MINSZ, 'vfio_device_info');
  const v = viewOf(bytes);
  return {
    argsz: v.getUint32(0, true),
    flags: v.getUint32(4, true),
    numRegions: v.getUint32(8, true),
    numIrqs: v.getUint32(12, true),
    capOffset: bytes.length >= 20 ? v.getUint32(16, true) : 0,
  };
}
