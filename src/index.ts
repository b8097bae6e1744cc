/** vidxd: an Intel DSA (idxd)-like accelerator emulated as a mediated device. One namespace per layer. */
export * as pci from './pci/index.js';
export * as memory from './memory/index.js';
export * as dsa from './dsa/index.js';
export * as host from './host/index.js';
export * as vfio from './vfio/index.js';
export * as mdev from './mdev/index.js';
export * as vidxd from './vidxd/index.js';
export * as guest from './guest/index.js';
export * as vfioUser from './vfio-user/index.js';
export * as xthread from './vidxd/xthread/index.js';
