/**
 * An I/O address space a VMM fills with DMA mappings: the analogue of an iommufd IOAS or a VFIO type1
 * container (`vfio-uapi.md` §9.1–9.2). Mappings are kept as the user made them (unmap may not split
 * one); their union backs one `IoAddressSpace` that attached devices translate through. A mapping is
 * either memory the process holds (a `GuestMemory`) or memory reached only by messages through a
 * `RemoteMemoryPort` (vfio-user DMA_MAP without a file descriptor, `vfio-uapi.md` §11.8).
 */
import { type DirtyLog, GuestMemory, IOVA_LIMIT, IoAddressSpace, Perm, RemoteRegion, type RemoteMemoryPort } from '../memory/index.js';
import { decodeDmaMap, decodeDmaUnmap, VFIO_DMA_MAP_SIZE, VFIO_DMA_UNMAP_SIZE } from './codec/dma.js';
import { setU64, viewOf } from './codec/bytes.js';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_VADDR,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_MAX_MAPPINGS,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_PAGE_SIZE,
} from './constants.js';
import { VfioError } from './errors.js';

/** One DMA mapping as the user made it. */
export interface DmaMapping {
  /** First IOVA (4 KiB aligned). */
  readonly iova: number;
  /** Length in bytes (a non-zero multiple of 4 KiB). */
  readonly size: number;
  /** The backing memory (what `vaddr` names in C); null for a mapping reached through `port`. */
  readonly memory: GuestMemory | null;
  /** Byte offset in `memory` that `iova` maps to (4 KiB aligned; 0 for a remote mapping). */
  readonly offset: number;
  /** VFIO_DMA_MAP_FLAG_READ | _WRITE, from the device's point of view. */
  readonly flags: number;
  /** The port of a mapping reached only by messages ({@link VfioIoas.mapRemote}); absent otherwise. */
  readonly port?: RemoteMemoryPort;
}

/** A DMA map request (VFIO_IOMMU_MAP_DMA / IOMMU_IOAS_MAP): the mapping to make. */
export interface DmaMapRequest {
  /** First IOVA (4 KiB aligned). */
  readonly iova: number;
  /** Length in bytes (a non-zero multiple of 4 KiB). */
  readonly size: number;
  /** The backing memory (what `vaddr` names in C). */
  readonly memory: GuestMemory;
  /** Byte offset in `memory` that `iova` maps to (4 KiB aligned). */
  readonly offset: number;
  /** VFIO_DMA_MAP_FLAG_READ | _WRITE, from the device's point of view. */
  readonly flags: number;
}

/** A map request for memory the device reaches only through a port (vfio-user DMA_MAP without an fd). */
export interface RemoteDmaMapRequest {
  /** First IOVA (4 KiB aligned). */
  readonly iova: number;
  /** Length in bytes (a non-zero multiple of 4 KiB). */
  readonly size: number;
  /** VFIO_DMA_MAP_FLAG_READ | _WRITE, from the device's point of view. */
  readonly flags: number;
  /** Fetches and writes back the memory (DMA_READ / DMA_WRITE); never answers synchronously. */
  readonly port: RemoteMemoryPort;
}

/** A DMA unmap request (VFIO_IOMMU_UNMAP_DMA). */
export interface DmaUnmapRequest {
  /** First IOVA (0 with ALL). */
  readonly iova: number;
  /** Length in bytes (0 with ALL). */
  readonly size: number;
  /** VFIO_DMA_UNMAP_FLAG_ALL or 0 (GET_DIRTY_BITMAP and VADDR are not supported: EINVAL). */
  readonly flags: number;
}

/** Where a process address of a byte-form map request lives: a memory object and a byte offset in it. */
export interface DmaTarget {
  /** The memory `vaddr` falls in. */
  readonly memory: GuestMemory;
  /** Offset of `vaddr` in `memory`. */
  readonly offset: number;
}

/**
 * Resolves the `vaddr` of a byte-form map request (a process address in C) for a range of `size` bytes;
 * null when nothing is there (the map then fails with EFAULT). Should not throw.
 */
export type VaddrResolver = (vaddr: number, size: number) => DmaTarget | null;

/** What an IOAS exposes of its address space: translation and inspection, no mutation. */
export type IoasSpace = Pick<IoAddressSpace, 'translate' | 'isMapped' | 'extents' | 'extentCount' | 'mappedBytes'>;

/** Options of a {@link VfioIoas}. */
export interface VfioIoasOptions {
  /** Most mappings held at once (default 65535, type1's `dma_entry_limit`); one more is ENOSPC. */
  readonly maxMappings?: number;
}

const PAGE = VFIO_PAGE_SIZE;
const MAP_FLAGS = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const UNMAP_KNOWN = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR;
const hex = (n: number): string => `0x${n.toString(16)}`;
const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;
const einval = (message: string): VfioError => new VfioError('EINVAL', message);
const permOf = (flags: number): number =>
  ((flags & VFIO_DMA_MAP_FLAG_READ) !== 0 ? Perm.READ : 0) | ((flags & VFIO_DMA_MAP_FLAG_WRITE) !== 0 ? Perm.WRITE : 0);

/**
 * An I/O address space of DMA mappings. Map and unmap follow the checks of `vfio-uapi.md` §9.1–9.2 in
 * order; a rejected call throws a {@link VfioError} and changes nothing. Any number of devices may be
 * attached to one IOAS (`VfioDevice.attachIoas`); they all translate through {@link VfioIoas.space}.
 */
export class VfioIoas {
  /** The address space attached devices translate through (read-only view; change it with map/unmap). */
  readonly space: IoasSpace;
  /** The most mappings this IOAS holds. */
  readonly maxMappings: number;
  private readonly io = new IoAddressSpace();
  /** User mappings, sorted by IOVA, disjoint. */
  private readonly maps: DmaMapping[] = [];
  /** The region of each remote mapping. */
  private readonly regions = new Map<DmaMapping, RemoteRegion>();

  /** An empty IOAS (every DMA faults). A malformed option throws a plain Error. */
  constructor(options: VfioIoasOptions = {}) {
    const max = options.maxMappings ?? VFIO_DMA_MAX_MAPPINGS;
    if (!isCount(max)) throw new Error(`maxMappings ${max} is not a non-negative integer`);
    this.maxMappings = max;
    this.space = this.io;
  }

  /**
   * Installs a DMA log in the IOAS's address space: every device write through it inside the log's
   * ranges marks the log, whatever path wrote (`vfio-uapi.md` §9.3; a device handle does this for
   * DMA_LOGGING_START). Several devices attached to one IOAS each see the others' writes too.
   */
  addDirtyLog(log: DirtyLog): void {
    this.io.addDirtyLog(log);
  }

  /** Removes a DMA log installed with {@link addDirtyLog}. */
  removeDirtyLog(log: DirtyLog): void {
    this.io.removeDirtyLog(log);
  }

  /** Number of mappings. */
  get count(): number {
    return this.maps.length;
  }

  /** The mappings as the user made them, in IOVA order (a snapshot; the records are frozen). */
  listMappings(): DmaMapping[] {
    return this.maps.slice();
  }

  /**
   * Maps `[iova, iova + size)` onto `memory` at `offset` (VFIO_IOMMU_MAP_DMA). Checks, first failure
   * wins: flags a u32 with only READ | WRITE (VADDR unsupported), iova/size/offset non-negative
   * integers → EINVAL; neither READ nor WRITE, size 0, iova/size/offset not 4 KiB aligned → EINVAL;
   * the range ends beyond 2^53 (wraps, or leaves the library's IOVA aperture) → EINVAL; memory not a
   * GuestMemory, or `offset + size` beyond it → EINVAL [library choice; Linux fails the pin with
   * EFAULT]; overlap with a mapping → EEXIST; `maxMappings` mappings present → ENOSPC.
   */
  map(req: DmaMapRequest): void {
    const { iova, size, memory, offset, flags } = req;
    this.checkMapArgs(flags, iova, size, offset, 'offset');
    const where = `DMA map [${hex(iova)}, +${hex(size)})`;
    if (!(memory instanceof GuestMemory)) throw einval(`${where}: memory is not a GuestMemory`);
    if (offset + size > memory.size) throw einval(`${where}: memory range [${hex(offset)}, +${hex(size)}) exceeds the ${hex(memory.size)}-byte memory`);
    const i = this.firstEndingAfter(iova);
    const next = this.maps[i];
    if (next !== undefined && next.iova < iova + size) {
      throw new VfioError('EEXIST', `${where}: overlaps the mapping [${hex(next.iova)}, +${hex(next.size)})`);
    }
    if (this.maps.length >= this.maxMappings) throw new VfioError('ENOSPC', `${where}: ${this.maxMappings} mappings already present`);
    this.io.map(iova, size, memory, offset, permOf(flags));
    this.maps.splice(i, 0, Object.freeze({ iova, size, memory, offset, flags }));
  }

  /**
   * Maps `[iova, iova + size)` as memory the device reaches only through `port` (vfio-user DMA_MAP
   * without an fd): device DMA to it fetches pages with `port.read` and writes them back with
   * `port.write` (see `DmaTransaction`). The checks of {@link VfioIoas.map}, in the same order and with
   * the same errnos (the offset taken as 0), with one more after the argument checks: `port` not an
   * object with `read` and `write` functions → EINVAL. Remote and ordinary mappings coexist in one IOAS.
   */
  mapRemote(req: RemoteDmaMapRequest): void {
    const { iova, size, flags, port } = req;
    this.checkMapArgs(flags, iova, size, 0, 'offset');
    const where = `DMA map [${hex(iova)}, +${hex(size)})`;
    if (typeof port !== 'object' || port === null || typeof port.read !== 'function' || typeof port.write !== 'function') {
      throw einval(`${where}: port is not a RemoteMemoryPort`);
    }
    const i = this.firstEndingAfter(iova);
    const next = this.maps[i];
    if (next !== undefined && next.iova < iova + size) {
      throw new VfioError('EEXIST', `${where}: overlaps the mapping [${hex(next.iova)}, +${hex(next.size)})`);
    }
    if (this.maps.length >= this.maxMappings) throw new VfioError('ENOSPC', `${where}: ${this.maxMappings} mappings already present`);
    const region = new RemoteRegion(port, iova, size, permOf(flags));
    this.io.mapRemote(region);
    const m: DmaMapping = Object.freeze({ iova, size, memory: null, offset: 0, flags, port });
    this.maps.splice(i, 0, m);
    this.regions.set(m, region);
  }

  /**
   * Unmaps the mappings inside `[iova, iova + size)`, or all of them with ALL (VFIO_IOMMU_UNMAP_DMA);
   * returns the bytes unmapped (0 when nothing was mapped there). Checks, first failure wins: flags a
   * u32 of known bits, GET_DIRTY_BITMAP or VADDR (unsupported), numbers non-negative integers, iova not
   * 4 KiB aligned → EINVAL; with ALL, iova or size ≠ 0 → EINVAL; without, size 0 or not 4 KiB aligned
   * → EINVAL; a mapping crossing either end of the range (it would be split) → EINVAL.
   *
   * When this returns, no attached device can reach the range any more: devices translate through
   * {@link VfioIoas.space} each time they execute (no translation is cached across a descriptor), so
   * a descriptor that runs after the unmap faults instead of touching the memory. For a remote mapping
   * that is true of new translations; port calls already under way may still be answered — use
   * {@link VfioIoas.unmapAsync} to wait for them.
   */
  unmap(req: DmaUnmapRequest): number {
    return this.unmapRange(req, null);
  }

  /**
   * {@link VfioIoas.unmap} — the same checks (thrown at once) and the same effect at once (new
   * translations fault from this call on; a descriptor waiting for pages of the range forgets them and
   * faults there when it runs again) — resolving with the bytes unmapped only when no DMA to the range
   * is in flight any more: every fetch answered and every write-back acknowledged (`vfio-uapi.md`
   * §11.8: DMA_UNMAP is answered only then). Resolves at once for ordinary mappings.
   */
  unmapAsync(req: DmaUnmapRequest): Promise<number> {
    const regions: RemoteRegion[] = [];
    const removed = this.unmapRange(req, regions);
    if (regions.length === 0) return Promise.resolve(removed);
    return Promise.all(regions.map((r) => r.whenIdle())).then(() => removed);
  }

  /** The checks and the effect of unmap; the regions of the remote mappings removed go to `gone`. */
  private unmapRange(req: DmaUnmapRequest, gone: RemoteRegion[] | null): number {
    const { iova, size, flags } = req;
    const where = `DMA unmap [${hex(iova)}, +${hex(size)})`;
    if (flags >>> 0 !== flags || (flags & ~UNMAP_KNOWN) !== 0) throw einval(`${where}: unknown flag bits in ${hex(flags)}`);
    if ((flags & (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR)) !== 0) {
      throw einval(`${where}: GET_DIRTY_BITMAP and VADDR are not supported`);
    }
    if (!isCount(iova) || !isCount(size)) throw einval(`${where}: iova and size must be non-negative integers`);
    if (iova % PAGE !== 0) throw einval(`${where}: iova is not 4 KiB aligned`);
    if ((flags & VFIO_DMA_UNMAP_FLAG_ALL) !== 0) {
      if (iova !== 0 || size !== 0) throw einval(`${where}: ALL needs iova = size = 0`);
      return this.removeAll(gone);
    }
    if (size === 0 || size % PAGE !== 0) throw einval(`${where}: size is 0 or not 4 KiB aligned`);
    const end = iova + size;
    const i = this.firstEndingAfter(iova);
    let j = i;
    while (j < this.maps.length && (this.maps[j] as DmaMapping).iova < end) j++;
    if (j === i) return 0;
    const first = this.maps[i] as DmaMapping;
    const last = this.maps[j - 1] as DmaMapping;
    if (first.iova < iova || last.iova + last.size > end) {
      const m = first.iova < iova ? first : last;
      throw einval(`${where}: would split the mapping [${hex(m.iova)}, +${hex(m.size)})`);
    }
    let removed = 0;
    for (let k = i; k < j; k++) {
      const m = this.maps[k] as DmaMapping;
      removed += m.size;
      this.dropRegion(m, gone);
    }
    // The user mappings first: a descriptor the unmap lets run again (from inside io.unmap) sees both updated.
    this.maps.splice(i, j - i);
    this.io.unmap(first.iova, last.iova + last.size - first.iova);
    return removed;
  }

  /** Forgets the region of mapping `m` (if remote), handing it to `gone`. */
  private dropRegion(m: DmaMapping, gone: RemoteRegion[] | null): void {
    const r = this.regions.get(m);
    if (r === undefined) return;
    this.regions.delete(m);
    gone?.push(r);
  }

  /**
   * The byte form of map: `arg` holds a `vfio_iommu_type1_dma_map`; `resolve` turns its `vaddr` into
   * a memory object and offset. Short buffer → EFAULT; argsz < 32 → EINVAL; then the checks of
   * {@link VfioIoas.map} with `vaddr` in place of the offset; `resolve` runs after the argument checks
   * and before the range/overlap/count checks, and a null answer is EFAULT (a bad user pointer).
   * Returns 0 (the ioctl's return value).
   */
  mapBytes(arg: Uint8Array, resolve: VaddrResolver): number {
    const s = decodeDmaMap(arg);
    if (s.argsz < VFIO_DMA_MAP_SIZE) throw einval(`DMA map: argsz ${s.argsz} < ${VFIO_DMA_MAP_SIZE}`);
    this.checkMapArgs(s.flags, s.iova, s.size, s.vaddr, 'vaddr');
    const target = resolve(s.vaddr, s.size);
    if (target === null) throw new VfioError('EFAULT', `DMA map: vaddr ${hex(s.vaddr)} (+${hex(s.size)}) does not resolve to memory`);
    this.map({ iova: s.iova, size: s.size, memory: target.memory, offset: target.offset, flags: s.flags });
    return 0;
  }

  /**
   * The byte form of unmap: `arg` holds a `vfio_iommu_type1_dma_unmap`. Short buffer → EFAULT;
   * argsz < 24 → EINVAL; then {@link VfioIoas.unmap}. On success `size` (bytes 16–23) is overwritten
   * with the bytes unmapped; on failure `arg` is untouched. Returns 0 (the ioctl's return value).
   */
  unmapBytes(arg: Uint8Array): number {
    const s = decodeDmaUnmap(arg);
    if (s.argsz < VFIO_DMA_UNMAP_SIZE) throw einval(`DMA unmap: argsz ${s.argsz} < ${VFIO_DMA_UNMAP_SIZE}`);
    setU64(viewOf(arg), 16, this.unmap(s));
    return 0;
  }

  /** The memory-independent checks of a map, in order (`addr` is the offset or vaddr, aligned too). */
  private checkMapArgs(flags: number, iova: number, size: number, addr: number, addrName: string): void {
    const where = `DMA map [${hex(iova)}, +${hex(size)})`;
    if (flags >>> 0 !== flags || (flags & ~MAP_FLAGS) !== 0) {
      throw einval(`${where}: unknown flag bits in ${hex(flags)}${(flags & VFIO_DMA_MAP_FLAG_VADDR) !== 0 ? ' (VADDR is not supported)' : ''}`);
    }
    if (!isCount(iova) || !isCount(size) || !isCount(addr)) throw einval(`${where}: iova, size and ${addrName} must be non-negative integers`);
    if ((flags & MAP_FLAGS) === 0) throw einval(`${where}: neither READ nor WRITE`);
    if (size === 0) throw einval(`${where}: size 0`);
    if (iova % PAGE !== 0 || size % PAGE !== 0 || addr % PAGE !== 0) throw einval(`${where}: iova, size and ${addrName} must be 4 KiB aligned`);
    if (iova + size > IOVA_LIMIT) throw einval(`${where}: ends beyond the IOVA limit 2^53`);
  }

  /** Index of the first mapping that ends after `iova` (the only one that can contain or follow it). */
  private firstEndingAfter(iova: number): number {
    let lo = 0;
    let hi = this.maps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.maps[mid] as DmaMapping;
      if (m.iova + m.size <= iova) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private removeAll(gone: RemoteRegion[] | null): number {
    let removed = 0;
    for (const m of this.maps) {
      removed += m.size;
      this.dropRegion(m, gone);
    }
    this.maps.length = 0;
    this.io.clear();
    return removed;
  }
}
