/**
 * `struct vfio_device_feature` (8-byte header + data) and the migration payloads: migration flags,
 * `vfio_device_feature_mig_state`, MIG_DATA_SIZE and `vfio_precopy_info` (`vfio-uapi.md` §7, §8.5).
 */
import { VfioError } from '../errors.js';
import type { PrecopyInfo } from '../migration-ops.js';
import { getU64, needBytes, setU64, viewOf } from './bytes.js';

/** Header size and minsz of `vfio_device_feature`. */
export const VFIO_DEVICE_FEATURE_MINSZ = 8;
/** Size of `vfio_device_feature_mig_state`. */
export const VFIO_MIG_STATE_SIZE = 8;
/** Size of `vfio_precopy_info`. */
export const VFIO_PRECOPY_INFO_SIZE = 24;

/** A decoded feature request. */
export interface DeviceFeatureStruct {
  /** argsz as found. */
  readonly argsz: number;
  /** Feature index and GET/SET/PROBE. */
  readonly flags: number;
  /** The bytes after the header, up to argsz (or the end of the buffer); a view. */
  readonly data: Uint8Array;
}

/** MIG_DEVICE_STATE payload. */
export interface MigStateStruct {
  /** VFIO_DEVICE_STATE_*. */
  readonly deviceState: number;
  /** Stream handle (−1 = none). */
  readonly dataFd: number;
}

/** Encodes header + data with argsz = 8 + data bytes. */
export function encodeDeviceFeature(flags: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(VFIO_DEVICE_FEATURE_MINSZ + data.length);
  const v = viewOf(out);
  v.setUint32(0, out.length, true);
  v.setUint32(4, flags, true);
  out.set(data, VFIO_DEVICE_FEATURE_MINSZ);
  return out;
}

/** Decodes the header (EFAULT when shorter than 8 bytes). */
export function decodeDeviceFeature(bytes: Uint8Array): DeviceFeatureStruct {
  needBytes(bytes, VFIO_DEVICE_FEATURE_MINSZ, 'vfio_device_feature');
  const v = viewOf(bytes);
  const argsz = v.getUint32(0, true);
  const end = Math.max(VFIO_DEVICE_FEATURE_MINSZ, Math.min(argsz, bytes.length));
  return { argsz, flags: v.getUint32(4, true), data: bytes.subarray(VFIO_DEVICE_FEATURE_MINSZ, end) };
}

/** Encodes `vfio_device_feature_mig_state`. */
export function encodeMigState(s: MigStateStruct): Uint8Array {
  const out = new Uint8Array(VFIO_MIG_STATE_SIZE);
  const v = viewOf(out);
  v.setUint32(0, s.deviceState, true);
  v.setInt32(4, s.dataFd, true);
  return out;
}

/** Decodes `vfio_device_feature_mig_state` (EFAULT when shorter than 8 bytes). */
export function decodeMigState(bytes: Uint8Array): MigStateStruct {
  needBytes(bytes, VFIO_MIG_STATE_SIZE, 'vfio_device_feature_mig_state');
  const v = viewOf(bytes);
  return { deviceState: v.getUint32(0, true), dataFd: v.getInt32(4, true) };
}

/** Encodes a u64 feature payload (MIGRATION flags, MIG_DATA_SIZE). */
export function encodeFeatureU64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  setU64(viewOf(out), 0, value);
  return out;
}

/** Decodes a u64 feature payload. */
export function decodeFeatureU64(bytes: Uint8Array): number {
  needBytes(bytes, 8, 'u64 feature data');
  return getU64(viewOf(bytes), 0, 'feature value');
}

/** Encodes `vfio_precopy_info` with the caller's argsz (EINVAL when < 24). */
export function encodePrecopyInfo(info: PrecopyInfo, argsz: number): Uint8Array {
  if (argsz < VFIO_PRECOPY_INFO_SIZE) throw new VfioError('EINVAL', `PRECOPY_INFO: argsz ${argsz} < ${VFIO_PRECOPY_INFO_SIZE}`);
  const out = new Uint8Array(VFIO_PRECOPY_INFO_SIZE);
  const v = viewOf(out);
  v.setUint32(0, argsz, true);
  setU64(v, 8, info.initialBytes);
  setU64(v, 16, info.dirtyBytes);
  return out;
}

/** Decodes `vfio_precopy_info` (EFAULT when shorter than 24 bytes). */
export function decodePrecopyInfo(bytes: Uint8Array): PrecopyInfo & { readonly argsz: number; readonly flags: number } {
  needBytes(bytes, VFIO_PRECOPY_INFO_SIZE, 'vfio_precopy_info');
  const v = viewOf(bytes);
  return {
    argsz: v.getUint32(0, true),
    flags: v.getUint32(4, true),
    initialBytes: getU64(v, 8, 'initial_bytes'),
    dirtyBytes: getU64(v, 16, 'dirty_bytes'),
  };
}
