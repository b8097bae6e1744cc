/*
 * vidxd-guest: a user-space idxd driver for a guest without a kernel idxd driver (under TCG the CPU has
 * no MOVDIR64B/ENQCMD, so Linux's idxd driver does not load). It brings the device up through its
 * registers, submits MEMMOVE, FILL, CRCGEN and COMPARE through the portal page with 8-byte stores,
 * checks every result against its own computation, checks the error paths (an address outside guest
 * memory, a misaligned completion record) and, through vfio-pci, MSI-X interrupts. Every outcome is one
 * line "@vidxd result NAME pass|fail key=value ..." on standard output (the serial console).
 *
 * usage: vidxd-guest --type dsa-1dwq-v1|dsa-1swq-v1|pf [--access sysfs|vfio] [--pattern HEX64] [--seed N]
 *                    [--iters N] [--seconds N] [--pasid N]
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsa.h"
#include "guest.h"

/* Layout of the DMA buffer (offsets into it). */
#define REC_AREA 0x000000   /* 64 completion records, 32 bytes each */
#define CANARY 0x001000     /* 64 bytes where the misaligned record would land */
#define BUF_A 0x010000      /* memmove source, compare src1 */
#define BUF_B 0x020000      /* memmove destination */
#define BUF_C 0x030000      /* fill destination (+ guard bytes after it) */
#define BUF_D 0x040000      /* CRC source */
#define BUF_E 0x050000      /* compare src2 */
#define SENTINEL 0x100000   /* filled by the guest, never a DMA target */
#define SENTINEL_SIZE 0x10000
#define DMA_SIZE 0x200000
/* An address far outside guest memory (and outside every IOVA the program maps): 256 GiB. */
#define BAD_ADDR 0x4000000000ull
#define RECORD_TIMEOUT_MS 10000
#define SUBMIT_TRIES 3

struct ctx {
  struct dev d;
  struct dma m;
  const char *type;
  int pf, shared, irq;
  unsigned wqcfg, grpcfg, msix_perm; /* BAR0 offsets of WQ 0's WQCFG, group 0's GRPCFG, MSIX_PERM */
  unsigned portal;                   /* BAR2 offset of the portal slot */
  uint32_t pasid;                    /* guest PASID (shared WQ) */
  uint32_t max_xfer;
  uint16_t handle;                   /* interrupt handle of vector 1 */
  uint64_t pattern;
  uint32_t rng;
  unsigned retries;                  /* silent resubmissions (a trapped ENQCMD's Retry is invisible) */
  int silent;                        /* a descriptor got no record at all */
  int failed;
};

static uint32_t rnd(struct ctx *c) {
  uint32_t x = c->rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return c->rng = x;
}

static void fill_random(struct ctx *c, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(rnd(c) >> 24);
}

static uint8_t *at(struct ctx *c, size_t off) { return c->m.va + off; }
static uint64_t bus(struct ctx *c, size_t off) { return c->m.bus + off; }
static struct dsa_record *rec(struct ctx *c, unsigned i) { return (struct dsa_record *)at(c, REC_AREA + 32u * i); }

static void check(struct ctx *c, const char *name, int pass, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void check(struct ctx *c, const char *name, int pass, const char *fmt, ...) {
  char buf[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  result(name, pass, "%s", buf);
  if (!pass) c->failed = 1;
}

/* CRC-32C, reflected polynomial 0x82F63B78, seed 0 = a fresh CRC (dsa-operations.md §12.1). */
static uint32_t crc32c(const uint8_t *p, size_t n, uint32_t seed) {
  static uint32_t table[256];
  if (!table[1]) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t r = i;
      for (int k = 0; k < 8; k++) r = (r >> 1) ^ (0x82f63b78u & (0u - (r & 1)));
      table[i] = r;
    }
  }
  uint32_t r = ~seed;
  for (size_t i = 0; i < n; i++) r = table[(r ^ p[i]) & 0xff] ^ (r >> 8);
  return ~r;
}

/* ------------------------------------------------------------------------------------------------ */
/* Commands and configuration */

/* Issues a command and waits for CMDSTS.active to clear; returns CMDSTS (0xffffffff on timeout). */
static uint32_t command(struct ctx *c, unsigned code, uint32_t operand, int intreq) {
  wr32(&c->d, DSA_CMD, CMD_WORD(code, operand, intreq));
  uint64_t t0 = now_ms();
  for (;;) {
    uint32_t st = rd32(&c->d, DSA_CMDSTS);
    if (!(st & CMDSTS_ACTIVE)) return st;
    if (now_ms() - t0 > RECORD_TIMEOUT_MS) return 0xffffffffu;
    usleep(200);
  }
}

static unsigned find_cap(struct dev *d, unsigned id) {
  if (!(cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAPS)) return 0;
  unsigned p = cfg_read(d, PCI_CAP_PTR, 1) & 0xfc;
  for (int n = 0; p >= 0x40 && n < 48; n++) {
    if ((cfg_read(d, p, 1)) == id) return p;
    p = cfg_read(d, p + 1, 1) & 0xfc;
  }
  return 0;
}

/* Walks the extended chain as the guest's PCI core sees it (vfio-pci hides PASID from its user). */
static unsigned find_ext_cap(struct dev *d, unsigned id) {
  unsigned p = 0x100;
  for (int n = 0; p >= 0x100 && n < 64; n++) {
    uint32_t h = cfg_read_pci(d, p, 4);
    if (h == 0 || h == 0xffffffffu) return 0;
    if ((h & 0xffff) == id) return p;
    p = (h >> 20) & 0xffc;
  }
  return 0;
}

static int bring_up(struct ctx *c) {
  struct dev *d = &c->d;
  unsigned msix = find_cap(d, PCI_CAP_ID_MSIX), exp = find_cap(d, PCI_CAP_ID_EXP);
  unsigned ats = find_ext_cap(d, PCI_EXT_ID_ATS), pri = find_ext_cap(d, PCI_EXT_ID_PRI), pasid = find_ext_cap(d, PCI_EXT_ID_PASID);
  uint32_t devcap = exp ? cfg_read(d, exp + PCI_EXP_DEVCAP, 4) : 0;
  info("probe", "bdf=%s msix=0x%x pcie=0x%x flr=%u ats=0x%x pri=0x%x pasid=0x%x", d->bdf, msix, exp,
       (devcap & PCI_EXP_DEVCAP_FLR) ? 1 : 0, ats, pri, pasid);

  uint16_t cmd = (uint16_t)cfg_read(d, PCI_CMD, 2);
  cfg_write(d, PCI_CMD, 2, cmd | PCI_CMD_MEM | PCI_CMD_BME | PCI_CMD_INTX_DISABLE);
  uint16_t cmd2 = (uint16_t)cfg_read(d, PCI_CMD, 2);
  check(c, "bus-master", (cmd2 & (PCI_CMD_MEM | PCI_CMD_BME)) == (PCI_CMD_MEM | PCI_CMD_BME),
        "command_before=0x%04x command_after=0x%04x", cmd, cmd2);

  uint32_t version = rd32(d, DSA_VERSION);
  uint32_t gencap = rd32(d, DSA_GENCAP);
  uint32_t wqcap_lo = rd32(d, DSA_WQCAP), wqcap_hi = rd32(d, DSA_WQCAP + 4);
  uint32_t off_lo = rd32(d, DSA_OFFSETS), off_hi = rd32(d, DSA_OFFSETS + 4);
  uint32_t cmdcap = (gencap & GENCAP_CMD_CAP) ? rd32(d, DSA_CMDCAP) : 0;
  uint32_t engines = rd32(d, DSA_ENGCAP) & 0xff;
  c->pf = (gencap & GENCAP_CONFIG_EN) != 0;
  c->wqcfg = OFFSETS_WQCFG(off_lo) * DSA_TABLE_UNIT;
  c->grpcfg = OFFSETS_GRPCFG(off_lo) * DSA_TABLE_UNIT;
  c->msix_perm = OFFSETS_MSIX_PERM(off_hi) * DSA_TABLE_UNIT;
  info("registers", "version=0x%x gencap=0x%08x wqcap=0x%08x_%08x offsets=0x%08x_%08x cmdcap=0x%08x engines=%u", version,
       gencap, wqcap_hi, wqcap_lo, off_hi, off_lo, cmdcap, engines);
  int type_pf = strcmp(c->type, "pf") == 0;
  if (version == 0xffffffffu || c->pf != type_pf) {
    check(c, "bringup", 0, "reason=\"type %s but GENCAP.config_en=%d (version 0x%x)\"", c->type, c->pf, version);
    return -1;
  }

  uint32_t st = command(c, CMD_RESET_DEVICE, 0, 0);
  if (st != 0) {
    check(c, "bringup", 0, "step=reset_device cmdsts=0x%08x", st);
    return -1;
  }
  wr32(d, DSA_SWERR, SWERR_VALID | SWERR_OVERFLOW);
  wr32(d, DSA_INTCAUSE, 0xffffffffu);

  if (c->pf) {
    /* A PF is configured by its driver: WQ 0 dedicated in group 0 with every engine (GRPCFG/WQCFG are
       writable while the device and the WQ are disabled). */
    uint32_t size = WQCAP_TOTAL_SIZE(wqcap_lo) < 32 ? WQCAP_TOTAL_SIZE(wqcap_lo) : 32;
    wr32(d, c->wqcfg + WQCFG_DW_SIZE, size);
    wr32(d, c->wqcfg + WQCFG_DW_THRESH, 0);
    wr32(d, c->wqcfg + WQCFG_DW_MODE, WQCFG_MODE_DEDICATED | WQCFG_PRIORITY(1));
    wr32(d, c->wqcfg + WQCFG_DW_LIMITS, GENCAP_MAX_XFER_SHIFT(gencap) | GENCAP_MAX_BATCH_SHIFT(gencap) << 5);
    wr32(d, c->grpcfg + GRPCFG_WQS, 1);
    wr32(d, c->grpcfg + GRPCFG_ENGINES, engines >= 32 ? 0xffffffffu : (1u << engines) - 1);
    wr32(d, c->grpcfg + GRPCFG_ENGINES + 4, 0);
    wr32(d, c->grpcfg + GRPCFG_FLAGS, 0);
    c->shared = 0;
  } else {
    c->shared = !(rd32(d, c->wqcfg + WQCFG_DW_MODE) & WQCFG_MODE_DEDICATED);
    int type_shared = strcmp(c->type, "dsa-1swq-v1") == 0;
    if (c->shared != type_shared) {
      check(c, "bringup", 0, "reason=\"type %s but WQCFG.mode says %s\"", c->type, c->shared ? "shared" : "dedicated");
      return -1;
    }
    if (c->shared) {
      /* A shared WQ runs every descriptor in a PASID: PCI PASID on, with ATS and PRI (a vdev refuses
         ENABLE_DEVICE with PASID but no ATS, or PRI different from PASID: vidxd-device.md §5.2). */
      if (!pasid || !ats || !pri) {
        check(c, "bringup", 0, "reason=\"shared WQ without PASID/ATS/PRI capabilities\"");
        return -1;
      }
      cfg_write_pci(d, pasid + PCI_PASID_CTRL, 2, PCI_PASID_ENABLE);
      cfg_write_pci(d, ats + PCI_ATS_CTRL, 2, PCI_ATS_ENABLE);
      cfg_write_pci(d, pri + PCI_PRI_CTRL, 2, PCI_PRI_ENABLE);
      wr32(d, DSA_GENCFG, rd32(d, DSA_GENCFG) | GENCFG_USER_INT_EN);
    }
    uint32_t dw = rd32(d, c->wqcfg + WQCFG_DW_MODE) & ~(WQCFG_PASID_MASK | WQCFG_PASID_EN | WQCFG_PRIV);
    if (c->shared) dw |= WQCFG_PASID(c->pasid) | WQCFG_PASID_EN;
    wr32(d, c->wqcfg + WQCFG_DW_MODE, dw);
    if (c->msix_perm) wr32(d, c->msix_perm + 8, c->shared ? MSIX_PERM_PASID_EN | MSIX_PERM_PASID(c->pasid) : 0);
  }
  wr32(d, DSA_GENCTRL, GENCTRL_SOFTERR_INT_EN | GENCTRL_HALT_INT_EN);

  st = command(c, CMD_ENABLE_DEVICE, 0, 0);
  if (st != 0) {
    check(c, "bringup", 0, "step=enable_device cmdsts=0x%08x", st);
    return -1;
  }
  st = command(c, CMD_ENABLE_WQ, 0, 0);
  uint32_t wq_status = rd32(d, c->wqcfg + WQCFG_DW_STATUS);
  uint32_t gensts = rd32(d, DSA_GENSTS);
  uint32_t limits = rd32(d, c->wqcfg + WQCFG_DW_LIMITS);
  uint32_t wq_size = rd32(d, c->wqcfg + WQCFG_DW_SIZE) & 0xffff;
  c->max_xfer = 1u << WQCFG_MAX_XFER_SHIFT(limits);
  check(c, "bringup", st == 0 && WQCFG_STATE(wq_status) == 1 && GENSTS_STATE(gensts) == 1,
        "mode=%s wq_size=%u max_xfer=%u enable_wq_cmdsts=0x%08x gensts=0x%x wq_state=%u", c->pf ? "pf-dedicated" : c->shared ? "shared" : "dedicated",
        wq_size, c->max_xfer, st, gensts, WQCFG_STATE(wq_status));
  if (st != 0) return -1;

  /* The interrupt handle descriptors name: REQUEST_INT_HANDLE when CMDCAP has it, else the vector. */
  if (cmdcap & (1u << CMD_REQUEST_INT_HANDLE)) {
    st = command(c, CMD_REQUEST_INT_HANDLE, 1, 0);
    c->handle = (uint16_t)CMDSTS_RESULT(st);
    check(c, "int-handle", CMDSTS_ERR(st) == 0 && st != 0xffffffffu, "vector=1 cmdsts=0x%08x handle=%u", st, c->handle);
  } else {
    c->handle = 1;
    check(c, "int-handle", 1, "vector=1 handle=1 source=msix-index (no REQUEST_INT_HANDLE in CMDCAP)");
  }

  /* Portal: a PF's WQ 0 unlimited MSI-X portal; a vdev's page 0 (dedicated) or page 1 (shared, limited). */
  c->portal = c->pf ? 0 : c->shared ? 0x1000 : 0;
  return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Submission */

static void desc_init(struct ctx *c, struct dsa_desc *x, uint8_t opcode, unsigned recno, uint32_t flags) {
  memset(x, 0, sizeof *x);
  x->opcode = opcode;
  flags |= FLAG_CRAV | FLAG_RCR;
  x->flags[0] = (uint8_t)flags;
  x->flags[1] = (uint8_t)(flags >> 8);
  x->flags[2] = (uint8_t)(flags >> 16);
  x->pasid_priv = c->shared ? c->pasid : 0;
  x->completion = bus(c, REC_AREA + 32u * recno);
}

/*
 * Submits and polls the record; resubmits when nothing came back (a shared WQ's silent Retry). Once a
 * descriptor got no record at all, later ones get one short try: a device that completes nothing
 * should fail the run quickly, not after minutes of timeouts.
 */
static uint8_t run(struct ctx *c, struct dsa_desc *x, unsigned recno) {
  struct dsa_record *r = rec(c, recno);
  int tries = c->silent ? 1 : SUBMIT_TRIES;
  uint64_t timeout = c->silent ? RECORD_TIMEOUT_MS / 5 : RECORD_TIMEOUT_MS;
  for (int t = 0; t < tries; t++) {
    memset((void *)r, 0, sizeof *r);
    portal_write(&c->d, c->portal, x);
    uint64_t t0 = now_ms();
    while (now_ms() - t0 < timeout) {
      uint8_t s = r->status;
      if (s) {
        __asm__ volatile("lfence" ::: "memory");
        return s;
      }
      usleep(50);
    }
    c->retries++;
  }
  c->silent = 1;
  return 0;
}

static long first_mismatch(const uint8_t *a, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return (long)i;
  return -1;
}

/* ------------------------------------------------------------------------------------------------ */
/* The workload */

struct tally {
  const char *name;
  unsigned runs;
  uint64_t ms;
  int failed;
  char detail[256];
};

static void tally_fail(struct tally *t, unsigned iter, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tally_fail(struct tally *t, unsigned iter, const char *fmt, ...) {
  if (t->failed) return;
  t->failed = 1;
  int n = snprintf(t->detail, sizeof t->detail, "iteration=%u ", iter);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->detail + n, sizeof t->detail - (size_t)n, fmt, ap);
  va_end(ap);
}

static void op_memmove(struct ctx *c, struct tally *t, unsigned iter, uint32_t size) {
  fill_random(c, at(c, BUF_A), size);
  memset(at(c, BUF_B), 0, size + 64);
  struct dsa_desc x;
  desc_init(c, &x, OP_MEMMOVE, 0, 0);
  x.src = bus(c, BUF_A);
  x.dst = bus(c, BUF_B);
  x.size = size;
  uint64_t t0 = now_ms();
  uint8_t s = run(c, &x, 0);
  t->ms += now_ms() - t0;
  long bad = first_mismatch(at(c, BUF_A), at(c, BUF_B), size);
  int guard_ok = at(c, BUF_B)[size] == 0;
  if (s != ST_SUCCESS || bad >= 0 || !guard_ok)
    tally_fail(t, iter, "status=0x%02x size=%u first_mismatch=%ld guard=%s", s, size, bad, guard_ok ? "ok" : "overwritten");
}

static void op_fill(struct ctx *c, struct tally *t, unsigned iter, uint32_t size) {
  uint64_t pattern = c->pattern ^ ((uint64_t)iter * 0x0101010101010101ull);
  memset(at(c, BUF_C), 0, size + 64);
  struct dsa_desc x;
  desc_init(c, &x, OP_FILL, 1, 0);
  x.src = pattern;
  x.dst = bus(c, BUF_C);
  x.size = size;
  uint64_t t0 = now_ms();
  uint8_t s = run(c, &x, 1);
  t->ms += now_ms() - t0;
  const uint8_t *p = (const uint8_t *)&pattern;
  long bad = -1;
  for (uint32_t i = 0; i < size && bad < 0; i++)
    if (at(c, BUF_C)[i] != p[i % 8]) bad = i;
  int guard_ok = 1;
  for (int i = 0; i < 64; i++) guard_ok &= at(c, BUF_C)[size + i] == 0;
  if (s != ST_SUCCESS || bad >= 0 || !guard_ok)
    tally_fail(t, iter, "status=0x%02x size=%u pattern=0x%016llx first_mismatch=%ld got=0x%02x guard=%s", s, size,
               (unsigned long long)pattern, bad, bad >= 0 ? at(c, BUF_C)[bad] : 0, guard_ok ? "ok" : "overwritten");
}

static void op_crc(struct ctx *c, struct tally *t, unsigned iter, uint32_t size) {
  fill_random(c, at(c, BUF_D), size);
  uint32_t seed = iter == 0 ? 0 : rnd(c);
  struct dsa_desc x;
  desc_init(c, &x, OP_CRCGEN, 2, 0);
  x.src = bus(c, BUF_D);
  x.size = size;
  memcpy(x.op, &seed, 4); /* CRC seed @40 */
  uint64_t t0 = now_ms();
  uint8_t s = run(c, &x, 2);
  t->ms += now_ms() - t0;
  uint32_t want = crc32c(at(c, BUF_D), size, seed);
  uint32_t got = rec(c, 2)->crc;
  if (s != ST_SUCCESS || got != want)
    tally_fail(t, iter, "status=0x%02x size=%u seed=0x%08x crc=0x%08x expected=0x%08x", s, size, seed, got, want);
}

static void op_compare(struct ctx *c, struct tally *eq, struct tally *ne, unsigned iter, uint32_t size) {
  fill_random(c, at(c, BUF_A), size);
  memcpy(at(c, BUF_E), at(c, BUF_A), size);
  struct dsa_desc x;
  desc_init(c, &x, OP_COMPARE, 3, 0);
  x.src = bus(c, BUF_A);
  x.dst = bus(c, BUF_E);
  x.size = size;
  uint64_t t0 = now_ms();
  uint8_t s = run(c, &x, 3);
  eq->ms += now_ms() - t0;
  struct dsa_record *r = rec(c, 3);
  if (s != ST_SUCCESS || r->result != 0)
    tally_fail(eq, iter, "status=0x%02x result=%u size=%u", s, r->result, size);

  uint32_t diff = rnd(c) % size;
  at(c, BUF_E)[diff] ^= (uint8_t)(1u + rnd(c) % 255u);
  t0 = now_ms();
  s = run(c, &x, 3);
  ne->ms += now_ms() - t0;
  if (s != ST_SUCCESS || r->result != 1 || r->bytes_completed != diff)
    tally_fail(ne, iter, "status=0x%02x result=%u bytes_completed=%u expected_offset=%u", s, r->result, r->bytes_completed, diff);
}

static void report(struct ctx *c, struct tally *t, const char *extra) {
  if (t->failed) check(c, t->name, 0, "runs=%u %s", t->runs, t->detail);
  else check(c, t->name, 1, "runs=%u ms=%llu %s", t->runs, (unsigned long long)t->ms, extra);
}

/* Runs the four operations `iters` times, and on until `seconds` have passed (so two VMs overlap). */
static void workload(struct ctx *c, unsigned iters, unsigned seconds) {
  uint32_t move = c->max_xfer < 0x10000 ? c->max_xfer : 0x10000;
  uint32_t fill = c->max_xfer < 0x4000 ? c->max_xfer - 64 : 0x4000 + 13;
  uint32_t crc = 4096 + 7, cmp = 8192;
  struct tally tm = {.name = "memmove"}, tf = {.name = "fill"}, tc = {.name = "crcgen"};
  struct tally te = {.name = "compare-equal"}, tn = {.name = "compare-differ"};
  uint64_t until = now_ms() + 1000ull * seconds;
  for (unsigned i = 0; i < iters || now_ms() < until; i++) {
    op_memmove(c, &tm, i, move);
    tm.runs++;
    op_fill(c, &tf, i, fill);
    tf.runs++;
    op_crc(c, &tc, i, crc);
    tc.runs++;
    op_compare(c, &te, &tn, i, cmp);
    te.runs++;
    tn.runs++;
    if (tm.failed || tf.failed || tc.failed || te.failed || tn.failed) break; /* the first failure says it all */
  }
  char extra[64];
  snprintf(extra, sizeof extra, "bytes=%u", move);
  report(c, &tm, extra);
  snprintf(extra, sizeof extra, "bytes=%u pattern=0x%016llx", fill, (unsigned long long)c->pattern);
  report(c, &tf, extra);
  snprintf(extra, sizeof extra, "bytes=%u", crc);
  report(c, &tc, extra);
  snprintf(extra, sizeof extra, "bytes=%u", cmp);
  report(c, &te, extra);
  report(c, &tn, extra);
}

/* Returns SWERR qword 0 (low dword) once valid, or 0 after `ms`. */
static uint32_t wait_swerr(struct ctx *c, int ms) {
  uint64_t t0 = now_ms();
  do {
    uint32_t lo = rd32(&c->d, DSA_SWERR);
    if (lo & SWERR_VALID) return lo;
    usleep(500);
  } while (now_ms() - t0 < (uint64_t)ms);
  return 0;
}

static void error_paths(struct ctx *c) {
  struct dev *d = &c->d;
  struct dsa_desc x;
  struct dsa_record *r = rec(c, 4);

  /* A source outside guest memory: a read page fault (0x03), nothing copied, the address reported. */
  desc_init(c, &x, OP_MEMMOVE, 4, 0);
  x.src = BAD_ADDR;
  x.dst = bus(c, BUF_B);
  x.size = 4096;
  uint8_t s = run(c, &x, 4);
  check(c, "fault-source", s == ST_PAGE_FAULT && r->bytes_completed == 0 && (r->fault_addr >> 12) == (BAD_ADDR >> 12),
        "status=0x%02x bytes_completed=%u fault_addr=0x%llx address=0x%llx", s, r->bytes_completed,
        (unsigned long long)r->fault_addr, BAD_ADDR);

  /* A destination outside guest memory: a write page fault (0x83). */
  desc_init(c, &x, OP_MEMMOVE, 4, 0);
  x.src = bus(c, BUF_A);
  x.dst = BAD_ADDR + 0x10000;
  x.size = 4096;
  s = run(c, &x, 4);
  check(c, "fault-destination",
        s == (ST_PAGE_FAULT | ST_WRITE_FAULT_BIT) && r->bytes_completed == 0 && (r->fault_addr >> 12) == ((BAD_ADDR + 0x10000) >> 12),
        "status=0x%02x bytes_completed=%u fault_addr=0x%llx address=0x%llx", s, r->bytes_completed,
        (unsigned long long)r->fault_addr, BAD_ADDR + 0x10000);
  uint32_t sw = rd32(d, DSA_SWERR);
  check(c, "faults-not-in-swerr", !(sw & SWERR_VALID), "swerr=0x%08x", sw);

  /* A completion record address that is not 32-byte aligned: no record, no data, SWERR 0x1B. */
  memset(at(c, CANARY), 0xee, 64);
  memset(at(c, BUF_B), 0, 64);
  desc_init(c, &x, OP_MEMMOVE, 0, 0);
  x.completion = bus(c, CANARY + 8);
  x.src = bus(c, BUF_A);
  x.dst = bus(c, BUF_B);
  x.size = 64;
  uint64_t irq0 = 0;
  portal_write(d, c->portal, &x);
  uint32_t lo = wait_swerr(c, RECORD_TIMEOUT_MS);
  uint32_t hi = rd32(d, DSA_SWERR + 4);
  uint64_t addr = rd64(d, DSA_SWERR + SWERR_ADDRESS);
  int canary_ok = 1;
  for (int i = 0; i < 64; i++) canary_ok &= at(c, CANARY)[i] == 0xee;
  int data_ok = first_mismatch(at(c, BUF_B), (const uint8_t[64]){0}, 64) < 0;
  uint32_t cause = rd32(d, DSA_INTCAUSE);
  if (c->irq) irq0 = irq_wait(d, 0, 2000);
  wr32(d, DSA_SWERR, SWERR_VALID | SWERR_OVERFLOW); /* RW1C */
  uint32_t after = rd32(d, DSA_SWERR);
  check(c, "misaligned-record",
        (lo & SWERR_VALID) && SWERR_ERROR(lo) == ST_CRA_ALIGN && SWERR_OPERATION(hi) == OP_MEMMOVE && canary_ok && data_ok &&
            !(after & SWERR_VALID),
        "swerr=0x%08x error=0x%02x operation=0x%02x address=0x%llx record_untouched=%d data_untouched=%d cleared=%d",
        lo, SWERR_ERROR(lo), SWERR_OPERATION(hi), (unsigned long long)addr, canary_ok, data_ok, !(after & SWERR_VALID));
  if (c->irq) {
    check(c, "irq-software-error", (cause & INTCAUSE_SOFTERR) && irq0 > 0, "intcause=0x%08x vector0_count=%llu", cause,
          (unsigned long long)irq0);
  }
  wr32(d, DSA_INTCAUSE, 0xffffffffu);
}

/* vfio mode: completion and command interrupts through MSI-X, observed on eventfds and in /proc/interrupts. */
static void interrupts(struct ctx *c) {
  struct dev *d = &c->d;
  long long before1 = proc_interrupts("vfio-msix[1]"), before0 = proc_interrupts("vfio-msix[0]");
  irq_wait(d, 1, 0); /* drain */
  struct dsa_desc x;
  desc_init(c, &x, OP_MEMMOVE, 5, FLAG_RCI);
  x.int_handle = c->handle;
  x.src = bus(c, BUF_A);
  x.dst = bus(c, BUF_B);
  x.size = 4096;
  struct dsa_record *r = rec(c, 5);
  memset((void *)r, 0, sizeof *r);
  portal_write(d, c->portal, &x);
  uint64_t n = irq_wait(d, 1, RECORD_TIMEOUT_MS);
  uint8_t s = r->status; /* the record is written before the interrupt (dsa-operations.md §4.2) */
  long long after1 = proc_interrupts("vfio-msix[1]");
  check(c, "irq-completion", n > 0 && s == ST_SUCCESS && after1 > before1,
        "eventfd_count=%llu status_at_interrupt=0x%02x proc_interrupts_vfio_msix1=%lld->%lld", (unsigned long long)n, s,
        before1, after1);

  irq_wait(d, 0, 0);
  uint32_t st = command(c, CMD_DRAIN_ALL, 0, 1);
  uint64_t n0 = irq_wait(d, 0, RECORD_TIMEOUT_MS);
  uint32_t cause = rd32(d, DSA_INTCAUSE);
  long long after0 = proc_interrupts("vfio-msix[0]");
  check(c, "irq-command", st == 0 && n0 > 0 && (cause & INTCAUSE_CMD_DONE) && after0 > before0,
        "cmdsts=0x%08x eventfd_count=%llu intcause=0x%08x proc_interrupts_vfio_msix0=%lld->%lld", st, (unsigned long long)n0,
        cause, before0, after0);
  wr32(d, DSA_INTCAUSE, cause);
}

static void isolation(struct ctx *c) {
  /* The sentinel was filled with this VM's own bytes at the start and is never a DMA target. */
  uint32_t saved = c->rng;
  c->rng = 0x5eed0000u ^ (uint32_t)c->pattern;
  uint8_t expect[256];
  long bad = -1;
  for (size_t o = 0; o < SENTINEL_SIZE && bad < 0; o += sizeof expect) {
    fill_random(c, expect, sizeof expect);
    long m = first_mismatch(at(c, SENTINEL + o), expect, sizeof expect);
    if (m >= 0) bad = (long)o + m;
  }
  c->rng = saved;
  /* The last fill's destination still holds only this VM's pattern. */
  check(c, "isolation", bad < 0, "sentinel_bytes=%u first_foreign=%ld dma_base=0x%llx", SENTINEL_SIZE, bad,
        (unsigned long long)c->m.bus);
}

int main(int argc, char **argv) {
  struct ctx c = {.type = "dsa-1dwq-v1", .pattern = 0x0123456789abcdefull, .rng = 1, .pasid = 1};
  enum access_kind access = ACCESS_SYSFS;
  unsigned iters = 1, seconds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--type")) c.type = argv[i + 1];
    else if (!strcmp(argv[i], "--access")) access = strcmp(argv[i + 1], "vfio") ? ACCESS_SYSFS : ACCESS_VFIO;
    else if (!strcmp(argv[i], "--pattern")) c.pattern = strtoull(argv[i + 1], NULL, 16);
    else if (!strcmp(argv[i], "--seed")) c.rng = (uint32_t)strtoul(argv[i + 1], NULL, 0) | 1u;
    else if (!strcmp(argv[i], "--iters")) iters = (unsigned)strtoul(argv[i + 1], NULL, 0);
    else if (!strcmp(argv[i], "--seconds")) seconds = (unsigned)strtoul(argv[i + 1], NULL, 0);
    else if (!strcmp(argv[i], "--pasid")) c.pasid = (uint32_t)strtoul(argv[i + 1], NULL, 0);
    else {
      fprintf(stderr, "vidxd-guest: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (iters < 1) iters = 1;
  uint64_t t0 = now_ms();
  if (dev_find(0x8086, 0x0b25, c.d.bdf, sizeof c.d.bdf) < 0) {
    result("open", 0, "reason=\"no 8086:0b25 function\"");
    return 1;
  }
  if (dev_open(&c.d, access) < 0) {
    result("open", 0, "access=%s bdf=%s", access == ACCESS_VFIO ? "vfio" : "sysfs", c.d.bdf);
    return 1;
  }
  result("open", 1, "access=%s bdf=%s bar0_size=0x%zx bar2_size=0x%zx", access == ACCESS_VFIO ? "vfio" : "sysfs", c.d.bdf,
         c.d.bar0_size, c.d.bar2_size);
  if (dma_alloc(&c.d, &c.m, DMA_SIZE) < 0) {
    result("dma-memory", 0, "size=%u", DMA_SIZE);
    return 1;
  }
  result("dma-memory", 1, "size=%u bus=0x%llx source=%s", DMA_SIZE, (unsigned long long)c.m.bus,
         access == ACCESS_VFIO ? "vfio-map-dma" : "hugepage-pagemap");
  {
    uint32_t saved = c.rng;
    c.rng = 0x5eed0000u ^ (uint32_t)c.pattern;
    fill_random(&c, at(&c, SENTINEL), SENTINEL_SIZE);
    c.rng = saved;
  }
  if (access == ACCESS_VFIO) {
    c.irq = irq_enable(&c.d, 2) == 0;
    check(&c, "irq-setup", c.irq, "vectors=2");
  }
  if (bring_up(&c) == 0) {
    workload(&c, iters, seconds);
    error_paths(&c);
    if (c.irq) interrupts(&c);
    isolation(&c);
    uint32_t st = command(&c, CMD_RESET_DEVICE, 0, 0);
    uint32_t gensts = rd32(&c.d, DSA_GENSTS);
    check(&c, "reset", st == 0 && GENSTS_STATE(gensts) == GENSTS_DISABLED, "cmdsts=0x%08x gensts=0x%x", st, gensts);
  }
  info("summary", "failed=%d retries=%u ms=%llu", c.failed, c.retries, (unsigned long long)(now_ms() - t0));
  return c.failed ? 1 : 0;
}
