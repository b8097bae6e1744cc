/**
 * `struct vfio_iommu_type1_dma_map` (32 bytes) and `struct vfio_iommu_type1_dma_unmap` (24 bytes up to
 * `size`; `vfio-uapi.md` §9.1–9.2). u64 fields are plain numbers: a value at or above 2^53 does not
 * decode (EINVAL), as for every codec of the library; IOVAs are below 2^53 throughout.
 */
import { getU64, needBytes, setU64, viewOf } from './bytes.js';

/** Size (and minsz) of `vfio_iommu_type1_dma_map`. */
export const VFIO_DMA_MAP_SIZE = 32;
/** Size (and minsz: through `size`) of `vfio_iommu_type1_dma_unmap`. */
export const VFIO_DMA_UNMAP_SIZE = 24;

/** The fields of `vfio_iommu_type1_dma_map`. */
export interface DmaMapStruct {
  /** argsz as found (encode: default 32). */
  readonly argsz: number;
  /** VFIO_DMA_MAP_FLAG_*. */
  readonly flags: number;
  /** The process address of the backing memory (resolved by the caller to a memory object). */
  readonly vaddr: number;
  /** First IOVA. */
  readonly iova: number;
  /** Length in bytes. */
  readonly size: number;
}

/** The fields of `vfio_iommu_type1_dma_unmap` (without the dirty-bitmap data). */
export interface DmaUnmapStruct {
  /** argsz as found (encode: default 24). */
  readonly argsz: number;
  /** VFIO_DMA_UNMAP_FLAG_*. */
  readonly flags: number;
  /** First IOVA (0 with ALL). */
  readonly iova: number;
  /** Length in bytes in the request; bytes unmapped in the reply. */
  readonly size: number;
}

/** Encodes the 32 bytes of a map request (argsz defaults to 32). */
export function encodeDmaMap(f: Omit<DmaMapStruct, 'argsz'> & { readonly argsz?: number }): Uint8Array {
  const out = new Uint8Array(VFIO_DMA_MAP_SIZE);
  const v = viewOf(out);
  v.setUint32(0, f.argsz ?? VFIO_DMA_MAP_SIZE, true);
  v.setUint32(4, f.flags, true);
  setU64(v, 8, f.vaddr);
  setU64(v, 16, f.iova);
  setU64(v, 24, f.size);
  return out;
}

/** Decodes a map request: EFAULT when shorter than 32 bytes, EINVAL for a u64 at or above 2^53. */
export function decodeDmaMap(bytes: Uint8Array): DmaMapStruct {
  needBytes(bytes, VFIO_DMA_MAP_SIZE, 'vfio_iommu_type1_dma_map');
  const v = viewOf(bytes);
  return {
    argsz: v.getUint32(0, true),
    flags: v.getUint32(4, true),
    vaddr: getU64(v, 8, 'DMA map vaddr'),
    iova: getU64(v, 16, 'DMA map iova'),
    size: getU64(v, 24, 'DMA map size'),
  };
}

/** Encodes the 24 bytes of an unmap request or reply (argsz defaults to 24). */
export function encodeDmaUnmap(f: Omit<DmaUnmapStruct, 'argsz'> & { readonly argsz?: number }): Uint8Array {
  const out = new Uint8Array(VFIO_DMA_UNMAP_SIZE);
  const v = viewOf(out);
  v.setUint32(0, f.argsz ?? VFIO_DMA_UNMAP_SIZE, true);
  v.setUint32(4, f.flags, true);
  setU64(v, 8, f.iova);
  setU64(v, 16, f.size);
  return out;
}

/** Decodes an unmap request: EFAULT when shorter than 24 bytes, EINVAL for a u64 at or above 2^53. */
export function decodeDmaUnmap(bytes: Uint8Array): DmaUnmapStruct {
  needBytes(bytes, VFIO_DMA_UNMAP_SIZE, 'vfio_iommu_type1_dma_unmap');
  const v = viewOf(bytes);
  return {
    argsz: v.getUint32(0, true),
    flags: v.getUint32(4, true),
    iova: getU64(v, 8, 'DMA unmap iova'),
    size: getU64(v, 16, 'DMA unmap size'),
  };
}
