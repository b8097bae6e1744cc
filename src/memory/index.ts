/**
 * `vidxd/memory`: guest memory, the pluggable address-space interface and the IOMMU.
 * Imports nothing else of the library.
 */
export { GuestMemory } from './guest-memory.js';
export { type AddressSpace, DmaRun, IOVA_LIMIT, PAGE_MASK, PAGE_SIZE, Perm } from './address-space.js';
export { type Extent, IoAddressSpace } from './io-address-space.js';
export { Iommu, NO_PASID, PASID_COUNT } from './iommu.js';
export { Dma } from './dma.js';
export { DirtyLog, type DirtyRange } from './dirty-log.js';
export { copyBytes } from './copy.js';
export { type RemoteMemoryPort, type RemotePageHolder, RemoteRegion, REMOTE_TRANSFER_LIMIT } from './remote.js';
export { DmaSession } from './session.js';
export { DmaTransaction, FETCH_SPAN, TRANSACTION_BUDGET } from './transaction.js';
export { MappingPlace } from './mapping-place.js';
