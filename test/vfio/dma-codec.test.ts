import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/index.js';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VfioIoas,
  decodeDmaMap,
  decodeDmaUnmap,
  encodeDmaMap,
  encodeDmaUnmap,
  type DmaTarget,
} from '../../src/vfio/index.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/** vfio_iommu_type1_dma_map: argsz 32, flags 3, vaddr 0x7f12_3456_7000, iova 0x1_0020_0000, size 0x3000. */
const MAP_BYTES = [
  0x20, 0x00, 0x00, 0x00, /* argsz */ 0x03, 0x00, 0x00, 0x00, /* flags */
  0x00, 0x70, 0x56, 0x34, 0x12, 0x7f, 0x00, 0x00, /* vaddr */
  0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, /* iova */
  0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* size */
];
const MAP_FIELDS = { argsz: 32, flags: 3, vaddr: 0x7f12_3456_7000, iova: 0x1_0020_0000, size: 0x3000 };

/** vfio_iommu_type1_dma_unmap: argsz 24, flags ALL (2), iova 0x2_0000_1000, size 0x10_0000. */
const UNMAP_BYTES = [
  0x18, 0x00, 0x00, 0x00, /* argsz */ 0x02, 0x00, 0x00, 0x00, /* flags */
  0x00, 0x10, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, /* iova */
  0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, /* size */
];
const UNMAP_FIELDS = { argsz: 24, flags: 2, iova: 0x2_0000_1000, size: 0x10_0000 };

const BASE = 0x7f00_0000_0000;

/** A process whose only memory lies at BASE; records every resolution. */
function vmmProcess(): { mem: GuestMemory; calls: number[]; resolve: (vaddr: number, size: number) => DmaTarget | null } {
  const mem = new GuestMemory(0x10000);
  const calls: number[] = [];
  return {
    mem,
    calls,
    resolve: (vaddr, size) => {
      calls.push(vaddr);
      return vaddr >= BASE && vaddr + size <= BASE + mem.size ? { memory: mem, offset: vaddr - BASE } : null;
    },
  };
}

describe('DMA map/unmap codecs', () => {
  it('encodes vfio_iommu_type1_dma_map byte for byte', () => {
    expect([...encodeDmaMap(MAP_FIELDS)]).toEqual(MAP_BYTES);
  });

  it('decodes vfio_iommu_type1_dma_map and round-trips it', () => {
    const decoded = decodeDmaMap(Uint8Array.from(MAP_BYTES));
    expect(decoded).toEqual(MAP_FIELDS);
    expect([...encodeDmaMap(decoded)]).toEqual(MAP_BYTES);
  });

  it('encodes and decodes vfio_iommu_type1_dma_unmap byte for byte', () => {
    expect([...encodeDmaUnmap(UNMAP_FIELDS)]).toEqual(UNMAP_BYTES);
    expect(decodeDmaUnmap(Uint8Array.from(UNMAP_BYTES))).toEqual(UNMAP_FIELDS);
  });

  it('defaults argsz to the structure size', () => {
    expect(decodeDmaMap(encodeDmaMap({ flags: 1, vaddr: 0, iova: 0, size: 0 })).argsz).toBe(32);
    expect(decodeDmaUnmap(encodeDmaUnmap({ flags: 0, iova: 0, size: 0 })).argsz).toBe(24);
  });

  it('answers EFAULT for a buffer shorter than the structure', () => {
    expect(() => decodeDmaMap(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(() => decodeDmaUnmap(new Uint8Array(23))).toThrow(expect.objectContaining({ code: 'EFAULT' }));
  });

  it('answers EINVAL for a u64 field at or above 2^53', () => {
    const map = Uint8Array.from(MAP_BYTES);
    map[23] = 0x01; // iova bit 56
    expect(() => decodeDmaMap(map)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const unmap = Uint8Array.from(UNMAP_BYTES);
    unmap[22] = 0x20; // size bit 53
    expect(() => decodeDmaUnmap(unmap)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('VfioIoas byte forms', () => {
  it('mapBytes resolves vaddr to a memory object and maps it', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    const arg = encodeDmaMap({ flags: RW, vaddr: BASE + 0x3000, iova: 0x40000, size: 0x2000 });
    expect(ioas.mapBytes(arg, p.resolve)).toBe(0);
    expect(ioas.listMappings()).toEqual([{ iova: 0x40000, size: 0x2000, memory: p.mem, offset: 0x3000, flags: RW }]);
    expect(p.calls).toEqual([BASE + 0x3000]);
  });

  it('mapBytes: argsz below 32 → EINVAL before vaddr is resolved', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    const arg = encodeDmaMap({ argsz: 31, flags: RW, vaddr: BASE, iova: 0, size: 0x1000 });
    expect(() => ioas.mapBytes(arg, p.resolve)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect([ioas.count, p.calls.length]).toEqual([0, 0]);
  });

  it('mapBytes: argument errors (flags, alignment of vaddr) → EINVAL before vaddr is resolved', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    expect(() => ioas.mapBytes(encodeDmaMap({ flags: 8, vaddr: 0x1000, iova: 0, size: 0x1000 }), p.resolve)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: BASE + 0x800, iova: 0, size: 0x1000 }), p.resolve)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect([ioas.count, p.calls.length]).toEqual([0, 0]);
  });

  it('mapBytes: a vaddr that resolves to nothing → EFAULT, nothing mapped', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    expect(() => ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: 0x1000, iova: 0, size: 0x1000 }), p.resolve)).toThrow(
      expect.objectContaining({ code: 'EFAULT', errno: 14 }),
    );
    expect(ioas.count).toBe(0);
  });

  it('mapBytes: an overlapping request → EEXIST', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: BASE, iova: 0, size: 0x2000 }), p.resolve);
    expect(() => ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: BASE, iova: 0x1000, size: 0x1000 }), p.resolve)).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
  });

  it('unmapBytes writes the bytes unmapped into size and keeps the other fields', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: BASE, iova: 0x10000, size: 0x3000 }), p.resolve);
    const arg = encodeDmaUnmap({ flags: 0, iova: 0x0, size: 0x100000 });
    expect(ioas.unmapBytes(arg)).toBe(0);
    expect(decodeDmaUnmap(arg)).toEqual({ argsz: 24, flags: 0, iova: 0, size: 0x3000 });
  });

  it('unmapBytes with ALL writes the total, and 0 when nothing was mapped', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: BASE, iova: 0x10000, size: 0x1000 }), p.resolve);
    ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: BASE, iova: 0x30000, size: 0x2000 }), p.resolve);
    const arg = encodeDmaUnmap({ flags: VFIO_DMA_UNMAP_FLAG_ALL, iova: 0, size: 0 });
    ioas.unmapBytes(arg);
    expect(decodeDmaUnmap(arg).size).toBe(0x3000);
    ioas.unmapBytes(arg.fill(0, 16));
    expect(decodeDmaUnmap(arg).size).toBe(0);
  });

  it('unmapBytes: a failed unmap leaves the buffer and the mappings untouched', () => {
    const p = vmmProcess();
    const ioas = new VfioIoas();
    ioas.mapBytes(encodeDmaMap({ flags: RW, vaddr: BASE, iova: 0x10000, size: 0x2000 }), p.resolve);
    const split = encodeDmaUnmap({ flags: 0, iova: 0x10000, size: 0x1000 });
    const short = encodeDmaUnmap({ argsz: 23, flags: 0, iova: 0x10000, size: 0x2000 });
    for (const arg of [split, short]) {
      const copy = arg.slice();
      expect(() => ioas.unmapBytes(arg)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(arg).toEqual(copy);
    }
    expect(ioas.count).toBe(1);
  });
});
