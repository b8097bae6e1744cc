/**
 * Mirrors of `include/uapi/linux/vfio.h`: the values a VMM author already knows, under their Linux
 * names (`vfio-uapi.md` §§1–8). errno names and numbers live in `errors.ts`.
 */

// ---- API version and ioctl numbers (§1.2): _IO(';', 100 + n) = 0x3B00 | nr ----

/** VFIO_API_VERSION: what VFIO_GET_API_VERSION returns. */
export const VFIO_API_VERSION = 0;
/** The ioctl type byte, `';'`. */
export const VFIO_TYPE = 0x3b;
/** The first ioctl number. */
export const VFIO_BASE = 100;
/** `_IO(VFIO_TYPE, nr)`: no size or direction bits. */
export function vfioIo(nr: number): number {
  return (VFIO_TYPE << 8) | nr;
}
/** VFIO_GET_API_VERSION (0x3B64). */
export const VFIO_GET_API_VERSION = vfioIo(VFIO_BASE + 0);
/** VFIO_CHECK_EXTENSION (0x3B65). */
export const VFIO_CHECK_EXTENSION = vfioIo(VFIO_BASE + 1);
/** VFIO_SET_IOMMU (0x3B66). */
export const VFIO_SET_IOMMU = vfioIo(VFIO_BASE + 2);
/** VFIO_GROUP_GET_STATUS (0x3B67). */
export const VFIO_GROUP_GET_STATUS = vfioIo(VFIO_BASE + 3);
/** VFIO_GROUP_SET_CONTAINER (0x3B68). */
export const VFIO_GROUP_SET_CONTAINER = vfioIo(VFIO_BASE + 4);
/** VFIO_GROUP_UNSET_CONTAINER (0x3B69). */
export const VFIO_GROUP_UNSET_CONTAINER = vfioIo(VFIO_BASE + 5);
/** VFIO_GROUP_GET_DEVICE_FD (0x3B6A). */
export const VFIO_GROUP_GET_DEVICE_FD = vfioIo(VFIO_BASE + 6);
/** VFIO_DEVICE_GET_INFO (0x3B6B). */
export const VFIO_DEVICE_GET_INFO = vfioIo(VFIO_BASE + 7);
/** VFIO_DEVICE_GET_REGION_INFO (0x3B6C). */
export const VFIO_DEVICE_GET_REGION_INFO = vfioIo(VFIO_BASE + 8);
/** VFIO_DEVICE_GET_IRQ_INFO (0x3B6D). */
export const VFIO_DEVICE_GET_IRQ_INFO = vfioIo(VFIO_BASE + 9);
/** VFIO_DEVICE_SET_IRQS (0x3B6E). */
export const VFIO_DEVICE_SET_IRQS = vfioIo(VFIO_BASE + 10);
/** VFIO_DEVICE_RESET (0x3B6F). */
export const VFIO_DEVICE_RESET = vfioIo(VFIO_BASE + 11);
/** VFIO_DEVICE_GET_PCI_HOT_RESET_INFO (0x3B70; same number as VFIO_IOMMU_GET_INFO on a container). */
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = vfioIo(VFIO_BASE + 12);
/** VFIO_DEVICE_PCI_HOT_RESET (0x3B71; same number as VFIO_IOMMU_MAP_DMA on a container). */
export const VFIO_DEVICE_PCI_HOT_RESET = vfioIo(VFIO_BASE + 13);
/** VFIO_DEVICE_QUERY_GFX_PLANE (0x3B72). */
export const VFIO_DEVICE_QUERY_GFX_PLANE = vfioIo(VFIO_BASE + 14);
/** VFIO_DEVICE_GET_GFX_DMABUF (0x3B73). */
export const VFIO_DEVICE_GET_GFX_DMABUF = vfioIo(VFIO_BASE + 15);
/** VFIO_DEVICE_IOEVENTFD (0x3B74). */
export const VFIO_DEVICE_IOEVENTFD = vfioIo(VFIO_BASE + 16);
/** VFIO_DEVICE_FEATURE (0x3B75). */
export const VFIO_DEVICE_FEATURE = vfioIo(VFIO_BASE + 17);
/** VFIO_DEVICE_BIND_IOMMUFD (0x3B76). */
export const VFIO_DEVICE_BIND_IOMMUFD = vfioIo(VFIO_BASE + 18);
/** VFIO_DEVICE_ATTACH_IOMMUFD_PT (0x3B77). */
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT = vfioIo(VFIO_BASE + 19);
/** VFIO_DEVICE_DETACH_IOMMUFD_PT (0x3B78). */
export const VFIO_DEVICE_DETACH_IOMMUFD_PT = vfioIo(VFIO_BASE + 20);
/** VFIO_MIG_GET_PRECOPY_INFO (0x3B79), issued on a migration data stream. */
export const VFIO_MIG_GET_PRECOPY_INFO = vfioIo(VFIO_BASE + 21);
/** VFIO_IOMMU_GET_INFO (0x3B70, container). */
export const VFIO_IOMMU_GET_INFO = vfioIo(VFIO_BASE + 12);
/** VFIO_IOMMU_MAP_DMA (0x3B71, container). */
export const VFIO_IOMMU_MAP_DMA = vfioIo(VFIO_BASE + 13);
/** VFIO_IOMMU_UNMAP_DMA (0x3B72, container). */
export const VFIO_IOMMU_UNMAP_DMA = vfioIo(VFIO_BASE + 14);

// ---- Device info (§2) ----

/** Device supports VFIO_DEVICE_RESET. */
export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
/** vfio-pci device. */
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;
/** vfio-platform device. */
export const VFIO_DEVICE_FLAGS_PLATFORM = 1 << 2;
/** vfio-amba device. */
export const VFIO_DEVICE_FLAGS_AMBA = 1 << 3;
/** vfio-ccw device. */
export const VFIO_DEVICE_FLAGS_CCW = 1 << 4;
/** vfio-ap device. */
export const VFIO_DEVICE_FLAGS_AP = 1 << 5;
/** vfio-fsl-mc device. */
export const VFIO_DEVICE_FLAGS_FSL_MC = 1 << 6;
/** Device info has a capability chain. */
export const VFIO_DEVICE_FLAGS_CAPS = 1 << 7;
/** vfio-cdx device. */
export const VFIO_DEVICE_FLAGS_CDX = 1 << 8;
/** Device-info capability: s390 zPCI base. */
export const VFIO_DEVICE_INFO_CAP_ZPCI_BASE = 1;
/** Device-info capability: s390 zPCI group. */
export const VFIO_DEVICE_INFO_CAP_ZPCI_GROUP = 2;
/** Device-info capability: s390 zPCI utility string. */
export const VFIO_DEVICE_INFO_CAP_ZPCI_UTIL = 3;
/** Device-info capability: s390 zPCI function path. */
export const VFIO_DEVICE_INFO_CAP_ZPCI_PFIP = 4;
/** Device-info capability: PCIe AtomicOp completion. */
export const VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP = 5;
/** The mdev `device_api` string of a vfio-pci device. */
export const VFIO_DEVICE_API_PCI_STRING = 'vfio-pci';

// ---- Regions (§3, §4) ----

/** vfio-pci region index of BAR0. */
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
/** vfio-pci region index of BAR1. */
export const VFIO_PCI_BAR1_REGION_INDEX = 1;
/** vfio-pci region index of BAR2. */
export const VFIO_PCI_BAR2_REGION_INDEX = 2;
/** vfio-pci region index of BAR3. */
export const VFIO_PCI_BAR3_REGION_INDEX = 3;
/** vfio-pci region index of BAR4. */
export const VFIO_PCI_BAR4_REGION_INDEX = 4;
/** vfio-pci region index of BAR5. */
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
/** vfio-pci region index of the expansion ROM. */
export const VFIO_PCI_ROM_REGION_INDEX = 6;
/** vfio-pci region index of PCI config space. */
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
/** vfio-pci region index of the legacy VGA ranges. */
export const VFIO_PCI_VGA_REGION_INDEX = 8;
/** Number of fixed vfio-pci regions; indices from here on are device-specific and carry a TYPE cap. */
export const VFIO_PCI_NUM_REGIONS = 9;
/** Region supports read. */
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
/** Region supports write. */
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
/** Region supports mmap. */
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
/** Region info has a capability chain. */
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;
/** Region-info capability: sparse mmap areas. */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
/** Region-info capability: region type and subtype. */
export const VFIO_REGION_INFO_CAP_TYPE = 2;
/** Region-info capability: the MSI-X table may be mapped. */
export const VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
/** Region-info capability: NVLink2 SSA target (deprecated). */
export const VFIO_REGION_INFO_CAP_NVLINK2_SSATGT = 4;
/** Region-info capability: NVLink2 link speed (deprecated). */
export const VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD = 5;
/** Region type: PCI vendor type (OR the vendor id). */
export const VFIO_REGION_TYPE_PCI_VENDOR_TYPE = 0x8000_0000;
/** Mask of the vendor id in a PCI vendor region type. */
export const VFIO_REGION_TYPE_PCI_VENDOR_MASK = 0xffff;
/** Region type: graphics. */
export const VFIO_REGION_TYPE_GFX = 1;
/** Region type: s390 CCW. */
export const VFIO_REGION_TYPE_CCW = 2;
/** Region type: v1 migration region (deprecated). */
export const VFIO_REGION_TYPE_MIGRATION_DEPRECATED = 3;
/** The shift of the vfio-pci region offset encoding: region `i` starts at i × 2^40 on the device handle (`regionOffset(i)`). */
export const VFIO_PCI_OFFSET_SHIFT = 40;

// ---- IRQs (§5) ----

/** vfio-pci IRQ index of INTx. */
export const VFIO_PCI_INTX_IRQ_INDEX = 0;
/** vfio-pci IRQ index of MSI. */
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
/** vfio-pci IRQ index of MSI-X. */
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
/** vfio-pci IRQ index of the AER error notification. */
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
/** vfio-pci IRQ index of the device request (the host wants the device back). */
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
/** Number of vfio-pci IRQ indices. */
export const VFIO_PCI_NUM_IRQS = 5;
/** IRQ index supports eventfd signalling. */
export const VFIO_IRQ_INFO_EVENTFD = 1 << 0;
/** IRQ index supports MASK and UNMASK. */
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1;
/** IRQ index is masked after each signal until UNMASK (level-triggered). */
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
/** The enabled vector set cannot grow while enabled. */
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3;
/** SET_IRQS: no data. */
export const VFIO_IRQ_SET_DATA_NONE = 1 << 0;
/** SET_IRQS: `count` bool bytes. */
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
/** SET_IRQS: `count` s32 trigger handles. */
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
/** SET_IRQS: mask. */
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
/** SET_IRQS: unmask. */
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
/** SET_IRQS: trigger. */
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
/** SET_IRQS data-type bits (0x07). */
export const VFIO_IRQ_SET_DATA_TYPE_MASK = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD;
/** SET_IRQS action bits (0x38). */
export const VFIO_IRQ_SET_ACTION_TYPE_MASK =
  VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER;

// ---- Device features (§7) ----

/** Feature index bits of `vfio_device_feature.flags`. */
export const VFIO_DEVICE_FEATURE_MASK = 0xffff;
/** Get the feature into data. */
export const VFIO_DEVICE_FEATURE_GET = 1 << 16;
/** Set the feature from data. */
export const VFIO_DEVICE_FEATURE_SET = 1 << 17;
/** Probe the feature (and optionally GET/SET support). */
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18;
/** Feature 0: PCI VF token. */
export const VFIO_DEVICE_FEATURE_PCI_VF_TOKEN = 0;
/** Feature 1: migration support flags (GET). */
export const VFIO_DEVICE_FEATURE_MIGRATION = 1;
/** Feature 2: migration device state (GET, SET). */
export const VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE = 2;
/** Feature 3: low-power entry. */
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY = 3;
/** Feature 4: low-power entry with wakeup eventfd. */
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP = 4;
/** Feature 5: low-power exit. */
export const VFIO_DEVICE_FEATURE_LOW_POWER_EXIT = 5;
/** Feature 6: DMA logging start. */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6;
/** Feature 7: DMA logging stop. */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP = 7;
/** Feature 8: DMA logging report. */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8;
/** Feature 9: estimated STOP_COPY stream length (GET). */
export const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;
/** Feature 10: bus master control. */
export const VFIO_DEVICE_FEATURE_BUS_MASTER = 10;
/** Feature 11: dma-buf export. */
export const VFIO_DEVICE_FEATURE_DMA_BUF = 11;

// ---- Migration v2 (§8) ----

/** Migration flag: STOP, STOP_COPY and RESUMING are supported (mandatory). */
export const VFIO_MIGRATION_STOP_COPY = 1 << 0;
/** Migration flag: RUNNING_P2P is supported. */
export const VFIO_MIGRATION_P2P = 1 << 1;
/** Migration flag: PRE_COPY is supported. */
export const VFIO_MIGRATION_PRE_COPY = 1 << 2;
/** Migration state: failed; only VFIO_DEVICE_RESET leaves it. */
export const VFIO_DEVICE_STATE_ERROR = 0;
/** Migration state: stopped. */
export const VFIO_DEVICE_STATE_STOP = 1;
/** Migration state: running. */
export const VFIO_DEVICE_STATE_RUNNING = 2;
/** Migration state: stopped, saving stream readable. */
export const VFIO_DEVICE_STATE_STOP_COPY = 3;
/** Migration state: stopped, loading stream writable. */
export const VFIO_DEVICE_STATE_RESUMING = 4;
/** Migration state: running without initiating P2P DMA. */
export const VFIO_DEVICE_STATE_RUNNING_P2P = 5;
/** Migration state: running, saving stream open. */
export const VFIO_DEVICE_STATE_PRE_COPY = 6;
/** Migration state: PRE_COPY with P2P quiesced. */
export const VFIO_DEVICE_STATE_PRE_COPY_P2P = 7;
/** Number of migration states. */
export const VFIO_DEVICE_STATE_NR = 8;

/** The page size mappings are counted in. */
export const VFIO_PAGE_SIZE = 4096;

// ---- DMA mappings (§9): flags of vfio_iommu_type1_dma_map / _unmap ----

/** DMA map flag: the device may read the range. */
export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
/** DMA map flag: the device may write the range. */
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
/** DMA map flag: update the vaddr of an existing mapping (not supported by the library: EINVAL). */
export const VFIO_DMA_MAP_FLAG_VADDR = 1 << 2;
/** DMA unmap flag: also return the dirty bitmap (not supported by the library: EINVAL). */
export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
/** DMA unmap flag: unmap everything (iova and size must be 0). */
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
/** DMA unmap flag: invalidate the vaddr of mappings (not supported by the library: EINVAL). */
export const VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;
/** Default most DMA mappings an IOAS holds (type1's `dma_entry_limit`, U16_MAX); one more is ENOSPC. */
export const VFIO_DMA_MAX_MAPPINGS = 65535;
