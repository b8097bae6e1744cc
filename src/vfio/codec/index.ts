/** Byte codecs for the VFIO structures, byte-compatible with the kernel layout (`vfio-uapi.md`). */
export * from './bytes.js';
export * from './device-info.js';
export * from './region-info.js';
export * from './irq-info.js';
export * from './irq-set.js';
export * from './feature.js';
export * from './dma.js';
