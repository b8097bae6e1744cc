import { describe, expect, it } from 'vitest';
import { DmaRun, GuestMemory } from '../../src/memory/index.js';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VfioIoas,
  type DmaUnmapRequest,
} from '../../src/vfio/index.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const ALL = VFIO_DMA_UNMAP_FLAG_ALL;

/**
 * A: [0x10000, +0x2000) and B: [0x12000, +0x1000), contiguous in IOVA and memory (one backing extent);
 * C: [0x20000, +0x4000).
 */
function fixture(): VfioIoas {
  const mem = new GuestMemory(0x10000);
  const ioas = new VfioIoas();
  ioas.map({ iova: 0x10000, size: 0x2000, memory: mem, offset: 0x0, flags: RW });
  ioas.map({ iova: 0x12000, size: 0x1000, memory: mem, offset: 0x2000, flags: RW });
  ioas.map({ iova: 0x20000, size: 0x4000, memory: mem, offset: 0x8000, flags: RW });
  return ioas;
}

const iovas = (ioas: VfioIoas): number[] => ioas.listMappings().map((m) => m.iova);
const reads = (ioas: VfioIoas, iova: number): boolean => ioas.space.translate(iova, 1, false, new DmaRun()) === 1;

describe('VfioIoas.unmap', () => {
  it('unmaps one mapping, returns its size, and the range faults from then on', () => {
    const ioas = fixture();
    expect(ioas.unmap({ iova: 0x20000, size: 0x4000, flags: 0 })).toBe(0x4000);
    expect(iovas(ioas)).toEqual([0x10000, 0x12000]);
    expect(reads(ioas, 0x23fff)).toBe(false);
    expect(reads(ioas, 0x12fff)).toBe(true);
  });

  it('unmaps one user mapping out of a merged backing extent, leaving its neighbour mapped', () => {
    const ioas = fixture();
    expect(ioas.unmap({ iova: 0x10000, size: 0x2000, flags: 0 })).toBe(0x2000);
    expect([reads(ioas, 0x11fff), reads(ioas, 0x12000)]).toEqual([false, true]);
  });

  it('unmaps every mapping inside a range with holes and returns the sum of their sizes', () => {
    const ioas = fixture();
    expect(ioas.unmap({ iova: 0x8000, size: 0x20000, flags: 0 })).toBe(0x7000);
    expect(ioas.count).toBe(0);
    expect(ioas.space.extentCount).toBe(0);
  });

  it('returns 0 and changes nothing when nothing is mapped in the range', () => {
    const ioas = fixture();
    expect(ioas.unmap({ iova: 0x13000, size: 0xd000, flags: 0 })).toBe(0);
    expect(ioas.unmap({ iova: 0x40000, size: 0x1000, flags: 0 })).toBe(0);
    expect(iovas(ioas)).toEqual([0x10000, 0x12000, 0x20000]);
  });

  it('unmaps everything with ALL, and ALL on an empty IOAS returns 0', () => {
    const ioas = fixture();
    expect(ioas.unmap({ iova: 0, size: 0, flags: ALL })).toBe(0x7000);
    expect([ioas.count, ioas.space.mappedBytes]).toEqual([0, 0]);
    expect(ioas.unmap({ iova: 0, size: 0, flags: ALL })).toBe(0);
  });

  describe('rejections (vfio-uapi.md §9.2): EINVAL, nothing changed', () => {
    const cases: [string, DmaUnmapRequest][] = [
      ['an unknown flag bit', { iova: 0x20000, size: 0x4000, flags: 1 << 3 }],
      ['flags that are not a u32', { iova: 0x20000, size: 0x4000, flags: 2 ** 32 }],
      ['GET_DIRTY_BITMAP (unsupported)', { iova: 0x20000, size: 0x4000, flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP }],
      ['VADDR (unsupported)', { iova: 0x20000, size: 0x4000, flags: VFIO_DMA_UNMAP_FLAG_VADDR }],
      ['an unaligned iova', { iova: 0x20800, size: 0x4000, flags: 0 }],
      ['an unaligned iova with ALL', { iova: 0x800, size: 0, flags: ALL }],
      ['ALL with a non-zero iova', { iova: 0x10000, size: 0, flags: ALL }],
      ['ALL with a non-zero size', { iova: 0, size: 0x1000, flags: ALL }],
      ['size 0 without ALL', { iova: 0x20000, size: 0, flags: 0 }],
      ['an unaligned size', { iova: 0x20000, size: 0x3800, flags: 0 }],
      ['a negative iova', { iova: -0x1000, size: 0x1000, flags: 0 }],
      ['a range starting inside a mapping', { iova: 0x11000, size: 0x2000, flags: 0 }],
      ['a range ending inside a mapping', { iova: 0x10000, size: 0x1000, flags: 0 }],
      ['a range inside one mapping', { iova: 0x21000, size: 0x1000, flags: 0 }],
      ['a range over several mappings ending inside the last', { iova: 0x0, size: 0x22000, flags: 0 }],
    ];
    for (const [name, req] of cases) {
      it(name, () => {
        const ioas = fixture();
        const before = { mappings: ioas.listMappings(), extents: ioas.space.extents() };
        expect(() => ioas.unmap(req)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: 22 }));
        expect({ mappings: ioas.listMappings(), extents: ioas.space.extents() }).toEqual(before);
      });
    }
  });
});
