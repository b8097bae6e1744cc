/*
 * The DSA register, descriptor and completion-record layout the guest program uses: offsets and fields
 * only, no policy (docs/registers.md is the register reference; dsa-operations.md §1–§3 the descriptor
 * and record, vidxd-device.md §4 the vdev's BAR0).
 */
#ifndef VIDXD_GUEST_DSA_H
#define VIDXD_GUEST_DSA_H

#include <stdint.h>

/* PCI config space. */
#define PCI_VENDOR 0x00
#define PCI_DEVICE 0x02
#define PCI_CMD 0x04
#define PCI_CMD_MEM 0x0002u
#define PCI_CMD_BME 0x0004u
#define PCI_CMD_INTX_DISABLE 0x0400u
#define PCI_STATUS 0x06
#define PCI_STATUS_CAPS 0x0010u
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_EXP 0x10
#define PCI_EXT_ID_ATS 0x000f
#define PCI_EXT_ID_PRI 0x0013
#define PCI_EXT_ID_PASID 0x001b
#define PCI_ATS_CTRL 0x06      /* ATS control (16 bits): enable = bit 15 */
#define PCI_ATS_ENABLE 0x8000u
#define PCI_PRI_CTRL 0x04      /* PRI control (16 bits): enable = bit 0 */
#define PCI_PRI_ENABLE 0x0001u
#define PCI_PASID_CTRL 0x06    /* PASID control (16 bits): enable = bit 0, privileged mode = bit 2 */
#define PCI_PASID_ENABLE 0x0001u
#define PCI_EXP_DEVCAP 0x04
#define PCI_EXP_DEVCAP_FLR (1u << 28)

/* BAR0 general block (docs/registers.md "General"). */
#define DSA_VERSION 0x000
#define DSA_GENCAP 0x010
#define DSA_WQCAP 0x020
#define DSA_GRPCAP 0x030
#define DSA_ENGCAP 0x038
#define DSA_OPCAP 0x040
#define DSA_OFFSETS 0x060
#define DSA_GENCFG 0x080
#define DSA_GENCTRL 0x088
#define DSA_GENSTS 0x090
#define DSA_INTCAUSE 0x098
#define DSA_CMD 0x0a0
#define DSA_CMDSTS 0x0a8
#define DSA_CMDCAP 0x0b0
#define DSA_SWERR 0x0c0
#define DSA_TABLE_UNIT 0x100 /* OFFSETS fields count in units of 0x100 */

#define GENCAP_CMD_CAP (1u << 4)               /* low dword */
#define GENCAP_MAX_XFER_SHIFT(lo) (((lo) >> 16) & 0x1f)
#define GENCAP_MAX_BATCH_SHIFT(lo) (((lo) >> 21) & 0xf)
#define GENCAP_CONFIG_EN (1u << 31)
#define WQCAP_TOTAL_SIZE(lo) ((lo) & 0xffff)
#define WQCAP_NUM_WQS(lo) (((lo) >> 16) & 0xff)
#define WQCAP_SHARED(hi) (((hi) >> 16) & 1)    /* bit 48 */
#define WQCAP_DEDICATED(hi) (((hi) >> 17) & 1) /* bit 49 */
#define OFFSETS_GRPCFG(lo) ((lo) & 0xffff)
#define OFFSETS_WQCFG(lo) (((lo) >> 16) & 0xffff)
#define OFFSETS_MSIX_PERM(hi) ((hi) & 0xffff)
#define GENCFG_USER_INT_EN (1u << 12)
#define GENCTRL_SOFTERR_INT_EN (1u << 0)
#define GENCTRL_HALT_INT_EN (1u << 1)
#define GENSTS_STATE(v) ((v) & 3)
#define GENSTS_DISABLED 0
#define INTCAUSE_SOFTERR (1u << 0)
#define INTCAUSE_CMD_DONE (1u << 1)
#define CMD_WORD(code, operand, intreq) ((((uint32_t)(code) & 0x1f) << 20) | ((uint32_t)(operand) & 0xfffff) | ((intreq) ? 0x80000000u : 0))
#define CMDSTS_ERR(v) ((v) & 0xff)
#define CMDSTS_RESULT(v) (((v) >> 8) & 0xffff)
#define CMDSTS_ACTIVE 0x80000000u

enum dsa_command {
  CMD_ENABLE_DEVICE = 1,
  CMD_DISABLE_DEVICE = 2,
  CMD_DRAIN_ALL = 3,
  CMD_ABORT_ALL = 4,
  CMD_RESET_DEVICE = 5,
  CMD_ENABLE_WQ = 6,
  CMD_DISABLE_WQ = 7,
  CMD_REQUEST_INT_HANDLE = 13,
  CMD_RELEASE_INT_HANDLE = 14,
};

/* SWERR, qword 0 (0xC0) and qword 2 (0xD0, the address). */
#define SWERR_VALID (1u << 0)
#define SWERR_OVERFLOW (1u << 1)
#define SWERR_ERROR(lo) (((lo) >> 8) & 0xff)
#define SWERR_OPERATION(hi) ((hi) & 0xff)
#define SWERR_ADDRESS 0x10

/* WQCFG (32 bytes per WQ at OFFSETS.wqcfg), by dword. */
#define WQCFG_SIZE 32
#define WQCFG_DW_SIZE 0x00     /* [15:0] wq_size */
#define WQCFG_DW_THRESH 0x04   /* [15:0] wq_thresh */
#define WQCFG_DW_MODE 0x08     /* 0 mode (1 dedicated), 1 bof, [7:4] priority, [27:8] pasid, 28 pasid_en, 29 priv */
#define WQCFG_DW_LIMITS 0x0c   /* [4:0] max_xfer_shift, [8:5] max_batch_shift */
#define WQCFG_DW_STATUS 0x18   /* [15:0] occupancy, [31:30] wq_state */
#define WQCFG_MODE_DEDICATED (1u << 0)
#define WQCFG_PRIORITY(p) (((uint32_t)(p) & 0xf) << 4)
#define WQCFG_PASID_MASK (0xfffffu << 8)
#define WQCFG_PASID(p) (((uint32_t)(p) & 0xfffff) << 8)
#define WQCFG_PASID_EN (1u << 28)
#define WQCFG_PRIV (1u << 29)
#define WQCFG_MAX_XFER_SHIFT(v) ((v) & 0x1f)
#define WQCFG_STATE(v) (((v) >> 30) & 3)

/* GRPCFG (64 bytes per group at OFFSETS.grpcfg). */
#define GRPCFG_SIZE 64
#define GRPCFG_WQS 0x00
#define GRPCFG_ENGINES 0x20
#define GRPCFG_FLAGS 0x28

/* MSIX_PERM (8 bytes per vector at OFFSETS.msix_perm). */
#define MSIX_PERM_PASID_EN (1u << 3)
#define MSIX_PERM_PASID(p) (((uint32_t)(p) & 0xfffff) << 12)

/* A descriptor (64 bytes) and a completion record (32 bytes), dsa-operations.md §1 and §3. */
struct dsa_desc {
  uint32_t pasid_priv; /* [19:0] PASID, [31] Priv */
  uint8_t flags[3];
  uint8_t opcode;
  uint64_t completion;
  uint64_t src;        /* src, src1, fill pattern */
  uint64_t dst;        /* dst, src2 */
  uint32_t size;
  uint16_t int_handle;
  uint16_t rsvd;
  uint8_t op[24];      /* bytes 40–63: CRC seed @40, expected result @40, ... */
} __attribute__((packed, aligned(64)));

struct dsa_record {
  volatile uint8_t status;
  volatile uint8_t result;
  volatile uint8_t fault_info;
  volatile uint8_t rsvd;
  volatile uint32_t bytes_completed;
  volatile uint64_t fault_addr;
  volatile uint32_t crc;  /* CRCGEN: CRC value @16 */
  volatile uint32_t more[3];
} __attribute__((packed, aligned(32)));

#define OP_NOOP 0x00
#define OP_MEMMOVE 0x03
#define OP_FILL 0x04
#define OP_COMPARE 0x05
#define OP_CRCGEN 0x10

#define FLAG_CRAV 0x04u
#define FLAG_RCR 0x08u
#define FLAG_RCI 0x10u

#define ST_SUCCESS 0x01
#define ST_PAGE_FAULT 0x03
#define ST_WRITE_FAULT_BIT 0x80
#define ST_CRA_ALIGN 0x1b

#endif
