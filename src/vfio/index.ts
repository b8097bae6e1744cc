/**
 * `vidxd/vfio`: the generic VFIO-like device API. A device author implements {@link VfioDeviceOps}
 * (regions with access handlers, IRQ indices, reset, mmap, migration arcs); {@link VfioDevice} wraps
 * it as the Linux device fd does, and {@link VfioIoctl} plus the codecs give the byte-level form.
 * For a `vidxd/pci` function, {@link pciVfioOps} builds the operations from per-BAR handlers.
 * {@link VfioIoas} is the I/O address space of DMA mappings a VMM attaches devices to.
 */
export * from './constants.js';
export * from './errors.js';
export * from './trigger.js';
export * from './device-ops.js';
export * from './migration-ops.js';
export * from './info.js';
export * from './irqs.js';
export * from './migration.js';
export * from './migration-stream.js';
export * from './regions.js';
export * from './check-ops.js';
export * from './device.js';
export * from './dma-logging.js';
export * from './config-access.js';
export * from './handles.js';
export { answerBlockingCall, BlockingCaller, type BlockingCallPort, type BlockingCallReceive, type BlockingCallSeq } from './blocking-call.js';
export * from './ioctl.js';
export * from './codec/index.js';
export { PciVfioAdapter, pciVfioOps, type PciVfioOptions } from './pci-adapter.js';
export { PciBarRegion, type PciBarHandler } from './pci-bar-region.js';
export { PciConfigRegion, PciRomRegion, type PciRomHandler } from './pci-config-region.js';
export { pciIrqIndices } from './pci-irqs.js';
export {
  VfioIoas,
  type DmaMapping,
  type DmaMapRequest,
  type RemoteDmaMapRequest,
  type DmaTarget,
  type DmaUnmapRequest,
  type IoasSpace,
  type VaddrResolver,
  type VfioIoasOptions,
} from './ioas.js';
export {
  clearLastEmbedderError, type EmbedderCallSite, type EmbedderErrorHook, type EmbedderErrorRecord, lastEmbedderError, reportEmbedderError,
  setEmbedderErrorHook,
} from '../embedder.js';
