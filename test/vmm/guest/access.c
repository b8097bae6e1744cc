/* Device access for the guest program: sysfs (no kernel driver) or vfio-pci (see guest.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#define HUGE_PAGE (2u << 20)
/* The IOVA at which vfio mode maps its DMA buffer (any address the guest IOMMU accepts). */
#define VFIO_DMA_IOVA 0x40000000ull

static void line(const char *kind, const char *name, const char *verdict, const char *fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  if (verdict)
    printf("@vidxd %s %s %s%s%s\n", kind, name, verdict, buf[0] ? " " : "", buf);
  else
    printf("@vidxd %s %s%s%s\n", kind, name, buf[0] ? " " : "", buf);
  fflush(stdout);
}

void result(const char *name, int pass, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  line("result", name, pass ? "pass" : "fail", fmt, ap);
  va_end(ap);
}

void info(const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  line("info", name, NULL, fmt, ap);
  va_end(ap);
}

uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long read_hex_file(const char *path) {
  char buf[32] = {0};
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? strtol(buf, NULL, 16) : -1;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  int err = n < 0 ? errno : 0;
  close(fd);
  errno = err;
  return n < 0 ? -1 : 0;
}

int dev_find(uint16_t vendor, uint16_t device, char *bdf, size_t len) {
  DIR *dir = opendir("/sys/bus/pci/devices");
  if (!dir) return -1;
  struct dirent *e;
  int found = -1;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/vendor", e->d_name);
    long v = read_hex_file(path);
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/device", e->d_name);
    long d = read_hex_file(path);
    if (v == vendor && d == device) {
      snprintf(bdf, len, "%s", e->d_name);
      found = 0;
      break;
    }
  }
  closedir(dir);
  return found;
}

/* ------------------------------------------------------------------------------------------------ */
/* sysfs */

static volatile uint8_t *map_resource(const char *bdf, int bar, size_t *size) {
  char path[256];
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource%d", bdf, bar);
  int fd = open(path, O_RDWR | O_SYNC);
  if (fd < 0) {
    info("open", "error=\"%s: %s\"", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  fstat(fd, &st);
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    info("open", "error=\"mmap %s: %s\"", path, strerror(errno));
    return NULL;
  }
  *size = (size_t)st.st_size;
  return p;
}

static int open_sysfs(struct dev *d) {
  char path[256];
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", d->bdf);
  d->cfg_fd = open(path, O_RDWR);
  if (d->cfg_fd < 0) {
    info("open", "error=\"%s: %s\"", path, strerror(errno));
    return -1;
  }
  d->cfg_off = 0;
  d->bar0 = map_resource(d->bdf, 0, &d->bar0_size);
  d->bar2 = map_resource(d->bdf, 2, &d->bar2_size);
  return d->bar0 && d->bar2 ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------------ */
/* vfio-pci (type1 IOMMU: the guest has a virtual IOMMU) */

static int region_info(struct dev *d, unsigned index, struct vfio_region_info *ri) {
  memset(ri, 0, sizeof *ri);
  ri->argsz = sizeof *ri;
  ri->index = index;
  return ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, ri);
}

static int open_vfio(struct dev *d) {
  char path[512], link[512];
  /* Bind vfio-pci (the modules were loaded by /init). */
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver_override", d->bdf);
  if (write_file(path, "vfio-pci") < 0) {
    info("open", "error=\"%s: %s\"", path, strerror(errno));
    return -1;
  }
  if (write_file("/sys/bus/pci/drivers_probe", d->bdf) < 0) {
    info("open", "error=\"drivers_probe: %s\"", strerror(errno));
    return -1;
  }
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver", d->bdf);
  ssize_t n = readlink(path, link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  if (n <= 0 || !strstr(link, "vfio-pci")) {
    info("open", "error=\"vfio-pci did not bind (driver: %s)\"", n > 0 ? link : "none");
    return -1;
  }
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", d->bdf);
  n = readlink(path, link, sizeof link - 1);
  if (n <= 0) {
    info("open", "error=\"no IOMMU group (is the guest IOMMU on?)\"");
    return -1;
  }
  link[n] = 0;
  const char *group = strrchr(link, '/') + 1;

  d->container = open("/dev/vfio/vfio", O_RDWR);
  snprintf(path, sizeof path, "/dev/vfio/%s", group);
  d->group = open(path, O_RDWR);
  if (d->container < 0 || d->group < 0) {
    info("open", "error=\"open /dev/vfio: %s\"", strerror(errno));
    return -1;
  }
  struct vfio_group_status gs = {.argsz = sizeof gs};
  if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &gs) < 0 || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
    info("open", "error=\"group %s not viable\"", group);
    return -1;
  }
  if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) < 0 ||
      ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
    info("open", "error=\"container: %s\"", strerror(errno));
    return -1;
  }
  d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
  if (d->device < 0) {
    info("open", "error=\"VFIO_GROUP_GET_DEVICE_FD: %s\"", strerror(errno));
    return -1;
  }
  struct vfio_region_info cfg, bar0, bar2;
  if (region_info(d, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) < 0 || region_info(d, VFIO_PCI_BAR0_REGION_INDEX, &bar0) < 0 ||
      region_info(d, VFIO_PCI_BAR2_REGION_INDEX, &bar2) < 0) {
    info("open", "error=\"region info: %s\"", strerror(errno));
    return -1;
  }
  d->cfg_fd = d->device;
  d->cfg_off = (long long)cfg.offset;
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", d->bdf);
  d->sysfs_cfg_fd = open(path, O_RDWR);
  d->bar0_off = (long long)bar0.offset;
  d->bar0_size = bar0.size;
  info("vfio", "group=%s bar0_size=0x%llx bar0_flags=0x%x bar2_size=0x%llx bar2_flags=0x%x", group,
       (unsigned long long)bar0.size, bar0.flags, (unsigned long long)bar2.size, bar2.flags);
  if (!(bar2.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
    info("open", "error=\"vfio-pci offers no mmap of BAR2\"");
    return -1;
  }
  void *p = mmap(NULL, bar2.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device, (off_t)bar2.offset);
  if (p == MAP_FAILED) {
    info("open", "error=\"mmap BAR2: %s\"", strerror(errno));
    return -1;
  }
  d->bar2 = p;
  d->bar2_size = bar2.size;
  return 0;
}

int dev_open(struct dev *d, enum access_kind access) {
  d->access = access;
  d->cfg_fd = d->sysfs_cfg_fd = d->container = d->group = d->device = -1;
  for (int i = 0; i < MAX_VECTORS; i++) d->efd[i] = -1;
  return access == ACCESS_SYSFS ? open_sysfs(d) : open_vfio(d);
}

/* ------------------------------------------------------------------------------------------------ */

uint32_t cfg_read(struct dev *d, unsigned off, unsigned size) {
  uint32_t v = 0;
  if (pread(d->cfg_fd, &v, size, d->cfg_off + off) != (ssize_t)size) return 0xffffffffu;
  return v;
}

uint32_t cfg_read_pci(struct dev *d, unsigned off, unsigned size) {
  int fd = d->access == ACCESS_VFIO ? d->sysfs_cfg_fd : d->cfg_fd;
  uint32_t v = 0;
  if (pread(fd, &v, size, d->access == ACCESS_VFIO ? off : d->cfg_off + off) != (ssize_t)size) return 0xffffffffu;
  return v;
}

void cfg_write_pci(struct dev *d, unsigned off, unsigned size, uint32_t value) {
  int fd = d->access == ACCESS_VFIO ? d->sysfs_cfg_fd : d->cfg_fd;
  if (pwrite(fd, &value, size, d->access == ACCESS_VFIO ? off : d->cfg_off + off) != (ssize_t)size)
    info("cfg-write", "error=\"offset 0x%x: %s\"", off, strerror(errno));
}

void cfg_write(struct dev *d, unsigned off, unsigned size, uint32_t value) {
  if (pwrite(d->cfg_fd, &value, size, d->cfg_off + off) != (ssize_t)size)
    info("cfg-write", "error=\"offset 0x%x: %s\"", off, strerror(errno));
}

uint32_t rd32(struct dev *d, unsigned off) {
  if (d->access == ACCESS_SYSFS) return *(volatile uint32_t *)(d->bar0 + off);
  uint32_t v = 0xffffffffu;
  if (pread(d->device, &v, 4, d->bar0_off + off) != 4) info("bar0-read", "error=\"0x%x: %s\"", off, strerror(errno));
  return v;
}

void wr32(struct dev *d, unsigned off, uint32_t value) {
  if (d->access == ACCESS_SYSFS) {
    *(volatile uint32_t *)(d->bar0 + off) = value;
    return;
  }
  if (pwrite(d->device, &value, 4, d->bar0_off + off) != 4) info("bar0-write", "error=\"0x%x: %s\"", off, strerror(errno));
}

uint64_t rd64(struct dev *d, unsigned off) {
  uint64_t lo = rd32(d, off);
  return lo | (uint64_t)rd32(d, off + 4) << 32;
}

void portal_write(struct dev *d, unsigned off, const void *desc) {
  volatile uint64_t *slot = (volatile uint64_t *)(d->bar2 + off);
  uint64_t q[8];
  memcpy(q, desc, 64);
  __asm__ volatile("mfence" ::: "memory"); /* the record was zeroed before the descriptor leaves */
  for (int i = 0; i < 8; i++) slot[i] = q[i];
  __asm__ volatile("sfence" ::: "memory");
}

/* ------------------------------------------------------------------------------------------------ */

static int pagemap_pfn(void *va, uint64_t *pfn) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) return -1;
  uint64_t e = 0;
  off_t at = (off_t)((uintptr_t)va / 4096u) * 8;
  ssize_t n = pread(fd, &e, 8, at);
  close(fd);
  if (n != 8 || !(e >> 63)) return -1;
  *pfn = e & ((1ull << 55) - 1);
  return *pfn ? 0 : -1;
}

int dma_alloc(struct dev *d, struct dma *m, size_t size) {
  /* One locked huge page in both modes: physically contiguous for the device without an IOMMU, and
     mapped by the guest IOMMU as one 2 MiB page (one DMA map for the VMM) in vfio mode. */
  if (size > HUGE_PAGE) return -1;
  void *p = mmap(NULL, HUGE_PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | MAP_LOCKED, -1, 0);
  if (p == MAP_FAILED) {
    info("dma", "error=\"huge page: %s (boot with hugepages=N)\"", strerror(errno));
    return -1;
  }
  memset(p, 0, HUGE_PAGE);
  m->va = p;
  m->size = HUGE_PAGE;
  if (d->access == ACCESS_SYSFS) {
    uint64_t first, pfn;
    if (pagemap_pfn(p, &first) < 0) {
      info("dma", "error=\"pagemap gives no frame (needs root)\"");
      return -1;
    }
    for (size_t o = 4096; o < HUGE_PAGE; o += 4096) {
      if (pagemap_pfn((uint8_t *)p + o, &pfn) < 0 || pfn != first + o / 4096) {
        info("dma", "error=\"huge page not physically contiguous at +0x%zx\"", o);
        return -1;
      }
    }
    m->bus = first * 4096u;
    return 0;
  }
  struct vfio_iommu_type1_dma_map map = {
      .argsz = sizeof map,
      .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
      .vaddr = (uintptr_t)p,
      .iova = VFIO_DMA_IOVA,
      .size = HUGE_PAGE,
  };
  if (ioctl(d->container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
    info("dma", "error=\"VFIO_IOMMU_MAP_DMA: %s\"", strerror(errno));
    return -1;
  }
  m->bus = VFIO_DMA_IOVA;
  return 0;
}

int irq_enable(struct dev *d, unsigned n) {
  if (d->access != ACCESS_VFIO || n > MAX_VECTORS) return -1;
  struct vfio_irq_info ii = {.argsz = sizeof ii, .index = VFIO_PCI_MSIX_IRQ_INDEX};
  if (ioctl(d->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || ii.count < n) {
    info("irq", "error=\"MSI-X has %u vectors\"", ii.count);
    return -1;
  }
  char buf[sizeof(struct vfio_irq_set) + MAX_VECTORS * sizeof(int)];
  struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
  set->argsz = sizeof(struct vfio_irq_set) + n * sizeof(int);
  set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  set->index = VFIO_PCI_MSIX_IRQ_INDEX;
  set->start = 0;
  set->count = n;
  for (unsigned i = 0; i < n; i++) {
    d->efd[i] = eventfd(0, EFD_NONBLOCK);
    memcpy(set->data + i * sizeof(int), &d->efd[i], sizeof(int));
  }
  if (ioctl(d->device, VFIO_DEVICE_SET_IRQS, set) < 0) {
    info("irq", "error=\"VFIO_DEVICE_SET_IRQS: %s\"", strerror(errno));
    return -1;
  }
  return 0;
}

uint64_t irq_wait(struct dev *d, unsigned v, int ms) {
  if (v >= MAX_VECTORS || d->efd[v] < 0) return 0;
  struct pollfd p = {.fd = d->efd[v], .events = POLLIN};
  if (poll(&p, 1, ms) <= 0) return 0;
  uint64_t count = 0;
  if (read(d->efd[v], &count, sizeof count) != sizeof count) return 0;
  return count;
}

long long proc_interrupts(const char *needle) {
  FILE *f = fopen("/proc/interrupts", "r");
  if (!f) return -1;
  char buf[1024];
  long long total = -1;
  int cpus = 0;
  if (fgets(buf, sizeof buf, f)) {
    for (char *t = strtok(buf, " \t\n"); t; t = strtok(NULL, " \t\n")) cpus++;
  }
  while (fgets(buf, sizeof buf, f)) {
    if (!strstr(buf, needle)) continue;
    char *p = strchr(buf, ':');
    if (!p) continue;
    p++;
    total = 0;
    for (int c = 0; c < cpus; c++) total += strtoll(p, &p, 10);
    break;
  }
  fclose(f);
  return total;
}
