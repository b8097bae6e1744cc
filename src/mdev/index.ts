/**
 * `vidxd/mdev`: the generic mediated-device core. A parent registers types (`MdevParentSpec`) whose
 * instances are VFIO device operations (`vfio.VfioDeviceOps`); `MdevBus` creates devices by UUID,
 * opens them as VFIO device handles (one opener at a time), removes them and lists everything as
 * sysfs shows it.
 */
export * from './spec.js';
export * from './objects.js';
export * from './bus.js';
export * from './uuid.js';
export * from './sysfs.js';
