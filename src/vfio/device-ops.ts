/**
 * The device side of the VFIO device API: what a device author implements. Nothing here validates
 * anything; the core (`device.ts`) checks every call before a handler runs, so a handler only ever
 * sees accesses inside its region, of a size and alignment the region declared.
 */
import type { AddressSpace } from '../memory/index.js';
import type { MigrationOps } from './migration-ops.js';

/** A sparse-mmap area of a region: `offset` and `size` in bytes, relative to the region. */
export interface SparseMmapArea {
  /** Offset of the area inside the region. */
  readonly offset: number;
  /** Size of the area in bytes. */
  readonly size: number;
}

/** A region's TYPE capability (mandatory for device-specific regions, index ≥ 9 on vfio-pci). */
export interface RegionType {
  /** VFIO_REGION_TYPE_* (e.g. VFIO_REGION_TYPE_PCI_VENDOR_TYPE | vendor id). */
  readonly type: number;
  /** Type-specific subtype. */
  readonly subtype: number;
}

/**
 * One region of the device. A region of size 0 is absent (flags must then be 0). The handlers get
 * region-relative offsets and a buffer whose length is the access size; they never see an access
 * outside the region or of a size the region does not allow.
 *
 * @typeParam M - what `mmap` hands out (opaque to VFIO).
 */
export interface RegionOps<M = unknown> {
  /** Size in bytes; 0 = not implemented. */
  readonly size: number;
  /** VFIO_REGION_INFO_FLAG_READ | _WRITE | _MMAP (CAPS is computed by the core). */
  readonly flags: number;
  /**
   * Access sizes allowed for reads, as the OR of the allowed byte counts (each a power of two, e.g.
   * `1 | 2 | 4 | 8`); sized accesses must be naturally aligned. Absent = any length at any offset.
   */
  readonly readSizes?: number | undefined;
  /** Same as `readSizes`, for writes. */
  readonly writeSizes?: number | undefined;
  /** Areas that may be mapped; absent with MMAP set = the whole region. */
  readonly sparseAreas?: readonly SparseMmapArea[] | undefined;
  /** Advertised as a TYPE capability. */
  readonly regionType?: RegionType;
  /** Advertise the MSIX_MAPPABLE capability. */
  readonly msixMappable?: boolean;
  /** Fills `buf` (length = access size) from region offset `offset`. Required with READ. */
  read?(offset: number, buf: Uint8Array): void;
  /** Stores `buf` (length = access size) at region offset `offset`. Required with WRITE. */
  write?(offset: number, buf: Uint8Array): void;
  /** The object mapped at `offset` (whole pages inside one area). Required with MMAP. */
  mmap?(offset: number, length: number): M;
}

/** One IRQ index of the device. */
export interface IrqIndexOps {
  /** Number of vectors (0 = not implemented). */
  readonly count: number;
  /** VFIO_IRQ_INFO_EVENTFD | _MASKABLE | _AUTOMASKED | _NORESIZE. */
  readonly flags: number;
  /**
   * Indices marked exclusive are enabled one at a time (vfio-pci: INTx, MSI, MSI-X) and must be
   * enabled by EVENTFD+TRIGGER before loopback; the others (ERR, REQ) take triggers independently.
   */
  readonly exclusive?: boolean;
  /**
   * A notification index (vfio-pci ERR and REQ): SET_IRQS takes only ACTION_TRIGGER on it, one vector
   * at a time. `'request'` marks the index the host signals (vector 0) when it wants the device back.
   */
  readonly role?: 'error' | 'request';
}

/** What the core hands the device for raising interrupts. */
export interface InterruptSink {
  /**
   * Delivers vector `vector` of IRQ index `index` to its installed trigger. Returns true when a trigger
   * was there and unmasked (and so was signalled); false otherwise — for MSI-X the raised vector is
   * then dropped, not kept (vfio-uapi.md §5.4). Never throws; allocates nothing.
   */
  signal(index: number, vector: number): boolean;
}

/**
 * The device operations: a region table, an IRQ table and a few hooks. A device author supplies this
 * and nothing of VFIO; the mdev core and the VFIO core do the rest.
 *
 * @typeParam M - what region `mmap` handlers hand out.
 */
export interface VfioDeviceOps<M = unknown> {
  /** VFIO_DEVICE_FLAGS_* (e.g. RESET | PCI). RESET makes `reset()` valid. */
  readonly flags: number;
  /** Regions by index; the length is `num_regions`. Read once when a handle opens. */
  readonly regions: readonly RegionOps<M>[];
  /** IRQ indices; the length is `num_irqs`. Read once when a handle opens. */
  readonly irqs: readonly IrqIndexOps[];
  /** Migration support; absent = the migration features answer ENOTTY. */
  readonly migration?: MigrationOps | undefined;
  /**
   * The device offers DMA logging (features 6/7/8, `vfio-uapi.md` §9.3). The core implements it in the
   * IOAS the device is attached to, so a device offers it only when all its DMA goes through the space
   * `attachIoas` gives it. Absent or false = the three features answer ENOTTY.
   */
  readonly dmaLogging?: boolean | undefined;
  /** A handle was opened; `sink` delivers interrupts until the matching `close`. */
  open?(sink: InterruptSink): void;
  /** The handle was closed (triggers already removed): return to the post-create state. */
  close?(): void;
  /** VFIO_DEVICE_RESET: return to reset state (triggers stay installed). */
  reset?(): void;
  /**
   * SET_IRQS changed index `index` (triggers installed or removed, enabled or disabled, masked or
   * unmasked). A device with a pending vector may signal it again from here.
   */
  irqConfigChanged?(index: number): void;
  /**
   * The handle was attached to an IOAS (`space`: every DMA of the device goes through it from now on)
   * or detached (`null`: every DMA faults, as before the first attach). A device starts detached; an
   * attach while attached replaces the space; `close` detaches. Translate through `space` each time
   * the device executes and cache nothing across an unmap, so that an unmap that returned is never
   * reached. Absent = the device does no DMA (attach and detach answer ENOTTY).
   */
  attachIoas?(space: AddressSpace | null): void;
}
