/**
 * The generic adapter that exposes any `src/pci` function as a vfio-pci device: the config region is
 * its config space, each BAR region is served by a handler the device author supplies (the adapter
 * serves the MSI-X table and PBA itself, as plain storage), every vector the function raises goes to
 * the MSI-X trigger SET_IRQS installed for it (vfio-uapi.md §5.4), and reset resets the function. A
 * device author writes BAR handlers and nothing of VFIO.
 */
import type { AddressSpace } from '../memory/index.js';
import type { PciFunction } from '../pci/index.js';
import { checkDeviceOps } from './check-ops.js';
import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_PCI_NUM_REGIONS,
} from './constants.js';
import type { InterruptSink, IrqIndexOps, RegionOps, VfioDeviceOps } from './device-ops.js';
import { VfioError } from './errors.js';
import { REGION_SPAN } from './info.js';
import type { MigrationOps } from './migration-ops.js';
import { PciBarRegion, type PciBarHandler } from './pci-bar-region.js';
import { PciConfigRegion, PciRomRegion, type PciRomHandler } from './pci-config-region.js';
import { pciIrqIndices } from './pci-irqs.js';

/**
 * What a device author gives the adapter besides the function: BAR handlers, ROM contents, hooks and
 * migration. Everything is optional; a function with no handlers at all is a valid (inert) device.
 *
 * @typeParam M - what the BAR `mmap` handlers hand out.
 */
export interface PciVfioOptions<M = unknown> {
  /**
   * Handlers by BAR index (0..5), as an array or an object (`{ 0: regs, 2: portals }`). A BAR with no
   * handler reads as zeros and drops writes (its MSI-X table and PBA still work). A handler for an
   * index the function has no BAR at (or the upper half of a 64-bit BAR) is a build error.
   */
  readonly bars?: { readonly [index: number]: PciBarHandler<M> | undefined };
  /** Contents of the expansion ROM; absent = zeros. Only valid when the function has a ROM. */
  readonly rom?: PciRomHandler;
  /** Migration support, passed through to the VFIO core unchanged. */
  readonly migration?: MigrationOps;
  /** The device offers DMA logging (see `VfioDeviceOps.dmaLogging`); passed through unchanged. */
  readonly dmaLogging?: boolean;
  /** A handle opened; `sink` raises interrupts (e.g. ERR, REQ, INTx) until `onClose`. */
  onOpen?(sink: InterruptSink): void;
  /** The handle closed; the function has already been reset. Return BAR state to post-create. */
  onClose?(): void;
  /** VFIO_DEVICE_RESET; the function (config space, MSI-X) has already been reset. */
  onReset?(): void;
  /** SET_IRQS changed index `index`. */
  onIrqConfigChanged?(index: number): void;
  /**
   * The handle was attached to an IOAS or detached (`null`); see `VfioDeviceOps.attachIoas`. Absent =
   * the device does no DMA, and attaching it answers ENOTTY.
   */
  onAttachIoas?(space: AddressSpace | null): void;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * A {@link VfioDeviceOps} over a {@link PciFunction}. Regions 0–5 are the BARs (the upper index of a
 * 64-bit BAR and absent BARs have size 0), 6 the ROM (read-only), 7 the config space (any length, the
 * vfio-pci split), 8 VGA (absent). IRQ indices follow vfio-pci (see {@link pciIrqIndices}). Device
 * flags RESET | PCI. Build mistakes throw a plain Error.
 *
 * @typeParam M - what the BAR `mmap` handlers hand out.
 */
export class PciVfioAdapter<M = unknown> implements VfioDeviceOps<M> {
  /** RESET | PCI. */
  readonly flags = VFIO_DEVICE_FLAGS_RESET | VFIO_DEVICE_FLAGS_PCI;
  /** The nine vfio-pci regions. */
  readonly regions: readonly RegionOps<M>[];
  /** The five vfio-pci IRQ indices. */
  readonly irqs: readonly IrqIndexOps[];
  /** The author's migration support, if any. */
  readonly migration: MigrationOps | undefined;
  /** Whether the device offers DMA logging. */
  readonly dmaLogging: boolean;
  /** Present exactly when the author gave `onAttachIoas`: forwards attach and detach to it. */
  readonly attachIoas?: (space: AddressSpace | null) => void;
  private current: InterruptSink | null = null;
  /** Detaches the MSI-X sink of the open handle (null while closed, or without MSI-X). */
  private releaseMsix: (() => void) | null = null;

  /** Builds the device operations of `fn`; throws a plain Error on a malformed handler table. */
  constructor(
    readonly pci: PciFunction,
    private readonly options: PciVfioOptions<M> = {},
  ) {
    const handlers = options.bars ?? {};
    for (const key of Object.keys(handlers)) {
      const i = Number(key);
      if (handlers[i] === undefined) continue;
      if (!Number.isInteger(i) || i < 0 || i > 5 || pci.bars[i] === null || pci.bars[i] === undefined) {
        throw new Error(`BAR handler ${key}: the function has no BAR at index ${key}`);
      }
    }
    if (options.rom !== undefined && pci.romSize === 0) throw new Error('ROM handler given, but the function has no expansion ROM');
    const absent: RegionOps<M> = Object.freeze({ size: 0, flags: 0 });
    const regions: RegionOps<M>[] = [];
    for (let i = 0; i < 6; i++) {
      const bar = pci.bars[i];
      if (bar === null || bar === undefined) {
        regions.push(absent);
        continue;
      }
      if (bar.size > REGION_SPAN) throw new Error(`BAR${i}: ${hex(bar.size)} bytes do not fit a VFIO region (at most 2^40)`);
      regions.push(new PciBarRegion<M>(bar, handlers[i] ?? {}, pci.msix));
    }
    regions.push(new PciRomRegion(pci.romSize, options.rom));
    regions.push(new PciConfigRegion(pci.config));
    regions.push(absent);
    if (regions.length !== VFIO_PCI_NUM_REGIONS) throw new Error('internal: the vfio-pci region table must have 9 regions');
    this.regions = regions;
    this.irqs = pciIrqIndices(pci);
    this.migration = options.migration;
    this.dmaLogging = options.dmaLogging === true;
    const onAttach = options.onAttachIoas;
    if (onAttach !== undefined) this.attachIoas = (space) => onAttach.call(options, space);
    checkDeviceOps(this);
  }

  /** The sink of the open handle, or null while closed. */
  get sink(): InterruptSink | null {
    return this.current;
  }

  /**
   * Attaches the handle as the sink of the function's MSI-X capability — from now on every vector the
   * function raises is signalled to the trigger SET_IRQS installed for it, or dropped when there is
   * none; the capability's enable, function mask, entry masks and PBA gate nothing (vfio-uapi.md §5.4)
   * — then runs `onOpen`. A function has one handle at a time: a second open before `close` throws
   * EBUSY (as the mdev core does).
   */
  open(sink: InterruptSink): void {
    if (this.current !== null) throw new VfioError('EBUSY', 'the PCI function is already open through another handle');
    const msix = this.pci.msix;
    this.releaseMsix = msix === null ? null : msix.attachSink((vector) => sink.signal(VFIO_PCI_MSIX_IRQ_INDEX, vector));
    this.current = sink;
    this.options.onOpen?.(sink);
  }

  /**
   * Detaches the MSI-X sink (the capability's own hardware route, which the device model installed and
   * the sink never replaced, applies again), resets the function, then runs `onClose`.
   */
  close(): void {
    this.releaseMsix?.();
    this.releaseMsix = null;
    this.current = null;
    this.pci.reset();
    this.options.onClose?.();
  }

  /** Resets the function (config space, MSI-X table and PBA), then runs `onReset`. Triggers stay. */
  reset(): void {
    this.pci.reset();
    this.options.onReset?.();
  }

  /**
   * Runs `onIrqConfigChanged`. Nothing is re-delivered: a vector raised while it had no trigger was
   * dropped, not kept (vfio-uapi.md §5.4).
   */
  irqConfigChanged(index: number): void {
    this.options.onIrqConfigChanged?.(index);
  }
}

/**
 * The VFIO device operations of a PCI function: hand the result to `new VfioDevice(...)` or return it
 * from an mdev type's `create`.
 *
 * @example
 * const ops = pciVfioOps(fn, { bars: { 0: { read: regsRead, write: regsWrite, readSizes: 4 | 8, writeSizes: 4 | 8 } } });
 * const dev = new VfioDevice(ops);
 */
export function pciVfioOps<M = unknown>(fn: PciFunction, options: PciVfioOptions<M> = {}): PciVfioAdapter<M> {
  return new PciVfioAdapter(fn, options);
}
