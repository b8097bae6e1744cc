import { describe, expect, it } from 'vitest';
import { DmaRun, GuestMemory } from '../../src/memory/index.js';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_VADDR,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_MAX_MAPPINGS,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VfioError,
  VfioIoas,
  type DmaMapRequest,
} from '../../src/vfio/index.js';

const R = VFIO_DMA_MAP_FLAG_READ;
const W = VFIO_DMA_MAP_FLAG_WRITE;
const RW = R | W;

function fixture(maxMappings?: number): { mem: GuestMemory; ioas: VfioIoas } {
  const mem = new GuestMemory(0x10000);
  const ioas = new VfioIoas(maxMappings === undefined ? {} : { maxMappings });
  ioas.map({ iova: 0x100000, size: 0x2000, memory: mem, offset: 0x4000, flags: RW });
  return { mem, ioas };
}

/** The whole observable state: user mappings and the backing extents. */
function state(ioas: VfioIoas): unknown {
  return { mappings: ioas.listMappings(), extents: ioas.space.extents() };
}

describe('VfioIoas.map', () => {
  it('maps a range so that translation lands in the memory at the offset', () => {
    const { mem, ioas } = fixture();
    const run = new DmaRun();
    expect(ioas.space.translate(0x101010, 16, true, run)).toBe(16);
    expect(run.bytes).toBe(mem.bytes);
    expect(run.offset).toBe(0x5010);
    expect(ioas.listMappings()).toEqual([{ iova: 0x100000, size: 0x2000, memory: mem, offset: 0x4000, flags: RW }]);
    expect(ioas.count).toBe(1);
  });

  it('gives the device exactly the access the flags name', () => {
    const mem = new GuestMemory(0x4000);
    const ioas = new VfioIoas();
    ioas.map({ iova: 0x0, size: 0x1000, memory: mem, offset: 0, flags: R });
    ioas.map({ iova: 0x1000, size: 0x1000, memory: mem, offset: 0x1000, flags: W });
    const run = new DmaRun();
    expect([ioas.space.translate(0x10, 4, false, run), ioas.space.translate(0x10, 4, true, run)]).toEqual([4, 0]);
    expect([ioas.space.translate(0x1010, 4, false, run), ioas.space.translate(0x1010, 4, true, run)]).toEqual([0, 4]);
  });

  it('keeps mappings the backing space merges as separate user mappings', () => {
    const mem = new GuestMemory(0x4000);
    const ioas = new VfioIoas();
    ioas.map({ iova: 0x0, size: 0x1000, memory: mem, offset: 0, flags: RW });
    ioas.map({ iova: 0x1000, size: 0x1000, memory: mem, offset: 0x1000, flags: RW });
    expect(ioas.space.extentCount).toBe(1);
    expect(ioas.listMappings().map((m) => [m.iova, m.size])).toEqual([[0, 0x1000], [0x1000, 0x1000]]);
  });

  it('accepts a mapping that touches an existing one without overlapping it', () => {
    const { mem, ioas } = fixture();
    ioas.map({ iova: 0xff000, size: 0x1000, memory: mem, offset: 0, flags: R });
    ioas.map({ iova: 0x102000, size: 0x1000, memory: mem, offset: 0, flags: R });
    expect(ioas.listMappings().map((m) => m.iova)).toEqual([0xff000, 0x100000, 0x102000]);
  });

  it('accepts a range ending exactly at the end of the memory and at 2^53', () => {
    const { mem, ioas } = fixture();
    ioas.map({ iova: 2 ** 53 - 0x2000, size: 0x2000, memory: mem, offset: 0xe000, flags: RW });
    expect(ioas.space.isMapped(2 ** 53 - 1, 1)).toBe(true);
  });

  describe('rejections in the order of vfio-uapi.md §9.1, nothing changed', () => {
    const base = (mem: GuestMemory): DmaMapRequest => ({ iova: 0x200000, size: 0x1000, memory: mem, offset: 0, flags: RW });
    const cases: [string, Partial<DmaMapRequest>, string][] = [
      ['an unknown flag bit', { flags: RW | (1 << 3) }, 'EINVAL'],
      ['the unsupported VADDR flag', { flags: RW | VFIO_DMA_MAP_FLAG_VADDR }, 'EINVAL'],
      ['flags that are not a u32', { flags: -1 }, 'EINVAL'],
      ['flags beyond 32 bits whose low bits look valid', { flags: 2 ** 32 + RW }, 'EINVAL'],
      ['neither READ nor WRITE', { flags: 0 }, 'EINVAL'],
      ['size 0', { size: 0 }, 'EINVAL'],
      ['an unaligned iova', { iova: 0x200800 }, 'EINVAL'],
      ['an unaligned size', { size: 0x1800 }, 'EINVAL'],
      ['an unaligned offset', { offset: 0x800 }, 'EINVAL'],
      ['a negative iova', { iova: -0x1000 }, 'EINVAL'],
      ['a fractional size', { size: 4096.5 }, 'EINVAL'],
      ['a range ending beyond 2^53', { iova: 2 ** 53 - 0x1000, size: 0x2000 }, 'EINVAL'],
      ['a memory range beyond the memory', { offset: 0xf000, size: 0x2000 }, 'EINVAL'],
      ['an offset beyond the memory', { offset: 0x10000 }, 'EINVAL'],
      ['the same range as a mapping', { iova: 0x100000, size: 0x2000 }, 'EEXIST'],
      ['a range overlapping the start of a mapping', { iova: 0xff000, size: 0x2000 }, 'EEXIST'],
      ['a range overlapping the end of a mapping', { iova: 0x101000, size: 0x2000 }, 'EEXIST'],
      ['a range inside a mapping', { iova: 0x101000, size: 0x1000 }, 'EEXIST'],
      ['a range containing a mapping', { iova: 0xff000, size: 0x4000 }, 'EEXIST'],
      ['an unaligned range that also overlaps (alignment first)', { iova: 0x100800 }, 'EINVAL'],
      ['a range beyond the memory that also overlaps (memory first)', { iova: 0x100000, offset: 0xf000, size: 0x2000 }, 'EINVAL'],
    ];
    for (const [name, change, errno] of cases) {
      it(`${name} → ${errno}`, () => {
        const { mem, ioas } = fixture();
        const before = state(ioas);
        expect(() => ioas.map({ ...base(mem), ...change })).toThrow(expect.objectContaining({ code: errno }));
        expect(state(ioas)).toEqual(before);
      });
    }

    it('memory that is not a GuestMemory → EINVAL', () => {
      const { ioas } = fixture();
      const fake = { size: 0x10000, bytes: new Uint8Array(0x10000) } as unknown as GuestMemory;
      expect(() => ioas.map({ iova: 0, size: 0x1000, memory: fake, offset: 0, flags: RW })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(ioas.count).toBe(1);
    });

    it('checks overlap before the mapping count (EEXIST on a full IOAS), then ENOSPC', () => {
      const { mem, ioas } = fixture(1);
      expect(() => ioas.map({ ...base(mem), iova: 0x100000 })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      expect(() => ioas.map(base(mem))).toThrow(expect.objectContaining({ code: 'ENOSPC', errno: 28 }));
      expect(ioas.count).toBe(1);
    });
  });

  it(`holds ${VFIO_DMA_MAX_MAPPINGS} mappings by default and answers ENOSPC for one more`, () => {
    const page = new GuestMemory(0x1000);
    const ioas = new VfioIoas();
    for (let k = 0; k < VFIO_DMA_MAX_MAPPINGS; k++) ioas.map({ iova: k * 0x2000, size: 0x1000, memory: page, offset: 0, flags: R });
    expect(ioas.count).toBe(65535);
    expect(() => ioas.map({ iova: 65535 * 0x2000, size: 0x1000, memory: page, offset: 0, flags: R })).toThrow(
      expect.objectContaining({ code: 'ENOSPC' }),
    );
    expect(ioas.unmap({ iova: 0, size: 0, flags: VFIO_DMA_UNMAP_FLAG_ALL })).toBe(65535 * 0x1000);
    ioas.map({ iova: 0, size: 0x1000, memory: page, offset: 0, flags: R });
    expect(ioas.count).toBe(1);
  });

  it('refuses a malformed maxMappings at construction with a plain Error', () => {
    let caught: unknown;
    try {
      new VfioIoas({ maxMappings: -1 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(VfioError);
  });
});
