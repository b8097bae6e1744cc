/*
 * The guest program's view of the device: config space, BAR0 registers, the BAR2 portal page, DMA
 * memory whose bus address it knows, and (through vfio-pci) MSI-X eventfds. Two ways in:
 *
 *   sysfs  no kernel driver: config through /sys/bus/pci/devices/B/config, BAR0 and BAR2 mapped from
 *          resource0/resource2; DMA buffers in a locked huge page whose physical address comes from
 *          /proc/self/pagemap (the device's DMA addresses are guest-physical addresses).
 *   vfio   vfio-pci bound to the device behind the guest's (virtual) IOMMU: config and BAR0 through
 *          the VFIO device fd, BAR2 mapped from it, DMA buffers mapped at an IOVA the program chooses
 *          (VFIO_IOMMU_MAP_DMA), MSI-X vectors delivered to eventfds (VFIO_DEVICE_SET_IRQS).
 */
#ifndef VIDXD_GUEST_H
#define VIDXD_GUEST_H

#include <stddef.h>
#include <stdint.h>

enum access_kind { ACCESS_SYSFS, ACCESS_VFIO };

#define MAX_VECTORS 2

struct dev {
  char bdf[32];
  enum access_kind access;
  int cfg_fd;             /* sysfs config file, or the VFIO device fd */
  int sysfs_cfg_fd;       /* vfio: the sysfs config file too (for what vfio-pci hides) */
  long long cfg_off;      /* offset of config space in cfg_fd */
  volatile uint8_t *bar0; /* sysfs: BAR0 mapping */
  long long bar0_off;     /* vfio: offset of BAR0 in the device fd */
  size_t bar0_size;
  volatile uint8_t *bar2; /* BAR2 mapping (the portal pages) */
  size_t bar2_size;
  int container, group, device; /* vfio */
  int efd[MAX_VECTORS];          /* vfio: one eventfd per MSI-X vector, -1 when none */
};

struct dma {
  uint8_t *va;   /* the program's mapping */
  uint64_t bus;  /* the address the device uses for va[0] */
  size_t size;
};

/* Prints one machine-readable line: "@vidxd result NAME pass|fail key=value ...". */
void result(const char *name, int pass, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prints "@vidxd info NAME key=value ..." (context, never asserted on its own). */
void info(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Finds the first PCI function with vendor:device; 0 when found. */
int dev_find(uint16_t vendor, uint16_t device, char *bdf, size_t len);
/* Opens the device the chosen way; 0 on success, else a message was printed. */
int dev_open(struct dev *d, enum access_kind access);
uint32_t cfg_read(struct dev *d, unsigned off, unsigned size);
void cfg_write(struct dev *d, unsigned off, unsigned size, uint32_t value);
/* The function's config space as the guest's PCI core sees it (sysfs), also in vfio mode: vfio-pci
   hides the PASID capability from its user, so a shared WQ's PASID enable goes this way. */
uint32_t cfg_read_pci(struct dev *d, unsigned off, unsigned size);
void cfg_write_pci(struct dev *d, unsigned off, unsigned size, uint32_t value);
uint32_t rd32(struct dev *d, unsigned off);
void wr32(struct dev *d, unsigned off, uint32_t value);
uint64_t rd64(struct dev *d, unsigned off); /* two dword reads, low first */
/* Writes one 64-byte descriptor to the portal at BAR2 offset `off` as eight 8-byte stores. */
void portal_write(struct dev *d, unsigned off, const void *desc);
/* Takes `size` bytes of DMA memory (a 2 MiB huge page in sysfs mode); 0 on success. */
int dma_alloc(struct dev *d, struct dma *m, size_t size);
/* vfio: one eventfd per vector 0..n-1 through VFIO_DEVICE_SET_IRQS (MSI-X); 0 on success. */
int irq_enable(struct dev *d, unsigned n);
/* vfio: waits up to `ms` for vector `v`; returns the count read from its eventfd (0 = timeout). */
uint64_t irq_wait(struct dev *d, unsigned v, int ms);
/* The sum over CPUs of the /proc/interrupts line whose name contains `needle` (-1 when absent). */
long long proc_interrupts(const char *needle);
/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC). */
uint64_t now_ms(void);

#endif
