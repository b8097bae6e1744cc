/**
 * `struct vfio_region_info` (32 bytes) with its capability chain and the argsz-too-small rule
 * (`vfio-uapi.md` §3.2, §4).
 */
import {
  VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_INFO_FLAG_CAPS,
} from '../constants.js';
import { VfioError } from '../errors.js';
import type { RegionCap, RegionInfo } from '../info.js';
import { getU64, needBytes, setU64, viewOf } from './bytes.js';

/** Size (and minsz) of the fixed structure. */
export const VFIO_REGION_INFO_SIZE = 32;
/** Size of `struct vfio_info_cap_header`. */
export const VFIO_INFO_CAP_HEADER_SIZE = 8;

/** The decoded structure. */
export interface RegionInfoStruct extends RegionInfo {
  /** argsz as found. */
  readonly argsz: number;
  /** cap_offset as found (0 = no chain returned). */
  readonly capOffset: number;
}

/** Which side's argsz convention to follow when the chain fits. */
export type ArgszMode = 'ioctl' | 'reply';

/** Bytes one capability takes (8-byte multiple). */
export function regionCapSize(cap: RegionCap): number {
  switch (cap.id) {
    case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
      return 16 + 16 * cap.areas.length;
    case VFIO_REGION_INFO_CAP_TYPE:
      return 16;
    default:
      return VFIO_INFO_CAP_HEADER_SIZE;
  }
}

/** Bytes the full answer needs: 32 + every capability. */
export function regionInfoSize(info: RegionInfo): number {
  return info.caps.reduce((n, c) => n + regionCapSize(c), VFIO_REGION_INFO_SIZE);
}

/**
 * Encodes the answer for a caller that gave `argsz` (§4.2). No caps: 32 bytes, cap_offset 0. Caps that
 * do not fit: 32 bytes with argsz raised to the size needed, CAPS set, cap_offset 0 (success). Caps
 * that fit: the structure with cap_offset 32 and the chain; argsz echoed (`'ioctl'`, kernel) or set to
 * the size needed (`'reply'`, vfio-user). EINVAL when argsz < 32.
 */
export function encodeRegionInfo(info: RegionInfo, argsz: number, mode: ArgszMode = 'ioctl'): Uint8Array {
  if (argsz < VFIO_REGION_INFO_SIZE) throw new VfioError('EINVAL', `GET_REGION_INFO: argsz ${argsz} < ${VFIO_REGION_INFO_SIZE}`);
  const needed = regionInfoSize(info);
  const withCaps = info.caps.length > 0;
  const fits = !withCaps || argsz >= needed;
  const out = new Uint8Array(withCaps && fits ? needed : VFIO_REGION_INFO_SIZE);
  const v = viewOf(out);
  const flags = withCaps ? info.flags | VFIO_REGION_INFO_FLAG_CAPS : info.flags & ~VFIO_REGION_INFO_FLAG_CAPS;
  v.setUint32(0, !fits || mode === 'reply' ? needed : argsz, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, info.index, true);
  v.setUint32(12, withCaps && fits ? VFIO_REGION_INFO_SIZE : 0, true);
  setU64(v, 16, info.size);
  setU64(v, 24, info.offset);
  if (withCaps && fits) {
    let at = VFIO_REGION_INFO_SIZE;
    info.caps.forEach((cap, i) => {
      const size = regionCapSize(cap);
      const next = i + 1 < info.caps.length ? at + size : 0;
      v.setUint16(at, cap.id, true);
      v.setUint16(at + 2, 1, true);
      v.setUint32(at + 4, next, true);
      if (cap.id === VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
        v.setUint32(at + 8, cap.areas.length, true);
        cap.areas.forEach((a, k) => {
          setU64(v, at + 16 + 16 * k, a.offset);
          setU64(v, at + 24 + 16 * k, a.size);
        });
      } else if (cap.id === VFIO_REGION_INFO_CAP_TYPE) {
        v.setUint32(at + 8, cap.type, true);
        v.setUint32(at + 12, cap.subtype, true);
      }
      at += size;
    });
  }
  return out;
}

function decodeCap(v: DataView, at: number, id: number, end: number): RegionCap | undefined {
  const need = (n: number): void => {
    if (at + n > end) throw new VfioError('EINVAL', `region info: capability ${id} at ${at} overruns the buffer`);
  };
  switch (id) {
    case VFIO_REGION_INFO_CAP_SPARSE_MMAP: {
      need(16);
      const n = v.getUint32(at + 8, true);
      need(16 + 16 * n);
      const areas = [];
      for (let k = 0; k < n; k++) {
        areas.push({ offset: getU64(v, at + 16 + 16 * k, 'area offset'), size: getU64(v, at + 24 + 16 * k, 'area size') });
      }
      return { id, areas };
    }
    case VFIO_REGION_INFO_CAP_TYPE:
      need(16);
      return { id, type: v.getUint32(at + 8, true), subtype: v.getUint32(at + 12, true) };
    case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
      return { id };
    default:
      return undefined; // unknown capabilities are skipped
  }
}

/**
 * Decodes a structure and, when cap_offset ≠ 0, its chain (unknown capability ids are skipped; a chain
 * that leaves the buffer or loops is EINVAL). EFAULT when shorter than 32 bytes.
 */
export function decodeRegionInfo(bytes: Uint8Array): RegionInfoStruct {
  needBytes(bytes, VFIO_REGION_INFO_SIZE, 'vfio_region_info');
  const v = viewOf(bytes);
  const capOffset = v.getUint32(12, true);
  const caps: RegionCap[] = [];
  const seen = new Set<number>();
  for (let at = capOffset; at !== 0; ) {
    if (at < VFIO_REGION_INFO_SIZE || at % 4 !== 0 || at + VFIO_INFO_CAP_HEADER_SIZE > bytes.length || seen.has(at)) {
      throw new VfioError('EINVAL', `region info: bad capability offset ${at}`);
    }
    seen.add(at);
    const cap = decodeCap(v, at, v.getUint16(at, true), bytes.length);
    if (cap !== undefined) caps.push(cap);
    at = v.getUint32(at + 4, true);
  }
  return {
    argsz: v.getUint32(0, true),
    flags: v.getUint32(4, true),
    index: v.getUint32(8, true),
    capOffset,
    size: getU64(v, 16, 'region size'),
    offset: getU64(v, 24, 'region offset'),
    caps,
  };
}
