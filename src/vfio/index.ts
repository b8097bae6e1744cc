/**
 * `vidxd/vfio`: the generic VFIO-like device API. A device author implements {@link VfioDeviceOps}
 * (regions with access handlers, IRQ indices, reset, mmap, migration arcs); {@link VfioDevice} wraps
 * it as the Linux device fd does, and {@link VfioIoctl} plus the codecs give the byte-level form.
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
export * from './config-access.js';
export * from './handles.js';
export * from './ioctl.js';
export * from './codec/index.js';
