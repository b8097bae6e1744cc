/**
 * The DSA registers as a header file (DSA spec rev 3.0 §9, Linux `drivers/dma/idxd/registers.h`,
 * dsa-operations.md §11.2): each register's name, offset (in BAR0, or in its table entry), size and
 * meaning (`*_REG`), and where each of its fields sits and what it means (`*_BITS`) — nothing about
 * access, reset values or locks. Every DSA-like register file (the device model's in registers.ts, a
 * virtual device's own) states only its policy for these registers with `registerFrom(X_REG, policy)`,
 * so no offset or size is written twice.
 */
import { GRPCFG_SIZE, IMS_ENTRY_SIZE, MSIX_PERM_SIZE, WQCFG_SIZE } from './layout.js';
import { blockLayout, bits, registerLayout } from './register-def.js';

/** VERSION (Linux `IDXD_VER_OFFSET`; 0x100 is `DEVICE_VERSION_1`). */
export const VERSION_BITS = {
  version: bits(0, 32, 'Version (0x100 = DSA 1.0)'),
} as const;

/** VERSION: offset 0x00, 4 bytes. */
export const VERSION_REG = registerLayout('VERSION', 0x00, 4, 'Device version', VERSION_BITS);

/** GENCAP (Linux `union gen_cap_reg`; its 2.0 fields `evl_support` and `batch_continuation` are not in the model's 1.0 layout). */
export const GENCAP_BITS = {
  blockOnFault: bits(0, 1, 'Block on fault supported'),
  overlapCopy: bits(1, 1, 'Overlapping copy supported'),
  cacheControlMem: bits(2, 1, 'Cache control (memory) supported'),
  cacheControlCache: bits(3, 1, 'Cache control (cache) supported'),
  cmdCap: bits(4, 1, 'CMDCAP register and interrupt-handle commands present'),
  destReadback: bits(8, 1, 'Destination readback supported'),
  drainReadback: bits(9, 1, 'Drain readback addresses supported'),
  maxXferShift: bits(16, 5, 'Maximum transfer size, log2'),
  maxBatchShift: bits(21, 4, 'Maximum batch size, log2'),
  maxImsMult: bits(25, 6, 'Interrupt-handle (IMS) table size / 256'),
  configEn: bits(31, 1, 'GENCFG, GRPCFG and WQCFG are writable while disabled'),
  high: bits(32, 32, 'Bits 63:32 (raw; 1.0 "max descriptors per engine")'),
} as const;

/** GENCAP: offset 0x10, 8 bytes. */
export const GENCAP_REG = registerLayout('GENCAP', 0x10, 8, 'General capabilities', GENCAP_BITS);

/** WQCAP (Linux `union wq_cap_reg`). */
export const WQCAP_BITS = {
  totalWqSize: bits(0, 16, 'Total WQ entries shared by all WQs'),
  numWqs: bits(16, 8, 'Number of WQs'),
  wqcfgSize: bits(24, 4, 'WQCFG entry size: 32 << n bytes'),
  sharedMode: bits(48, 1, 'Shared WQs supported'),
  dedicatedMode: bits(49, 1, 'Dedicated WQs supported'),
  wqAtsSupport: bits(50, 1, 'Per-WQ ATS disable supported'),
  priority: bits(51, 1, 'WQ priority supported'),
  occupancy: bits(52, 1, 'WQ occupancy reported'),
  occupancyInt: bits(53, 1, 'WQ occupancy interrupt supported'),
  opConfig: bits(54, 1, 'Per-WQ operation configuration supported'),
  wqPrsSupport: bits(55, 1, 'Per-WQ PRS disable supported'),
} as const;

/** WQCAP: offset 0x20, 8 bytes. */
export const WQCAP_REG = registerLayout('WQCAP', 0x20, 8, 'Work-queue capabilities', WQCAP_BITS);

/** GRPCAP (Linux `union group_cap_reg`; its 2.0 `progress_limit` is not in the model's 1.0 layout). */
export const GRPCAP_BITS = {
  numGroups: bits(0, 8, 'Number of groups'),
  totalRdbufs: bits(8, 8, 'Total read buffers'),
  rdbufCtrl: bits(16, 1, 'Per-group read-buffer controls supported'),
  rdbufLimit: bits(17, 1, 'Global read-buffer limit supported'),
} as const;

/** GRPCAP: offset 0x30, 8 bytes. */
export const GRPCAP_REG = registerLayout('GRPCAP', 0x30, 8, 'Group capabilities', GRPCAP_BITS);

/** ENGCAP (Linux `union engine_cap_reg`). */
export const ENGCAP_BITS = {
  numEngines: bits(0, 8, 'Number of engines'),
} as const;

/** ENGCAP: offset 0x38, 8 bytes. */
export const ENGCAP_REG = registerLayout('ENGCAP', 0x38, 8, 'Engine capabilities', ENGCAP_BITS);

/** OPCAP (256 bits; Linux `struct opcap`). */
export const OPCAP_BITS = {
  ops: bits(0, 256, 'Bit n = opcode n supported'),
} as const;

/** OPCAP: offset 0x40, 32 bytes. */
export const OPCAP_REG = registerLayout('OPCAP', 0x40, 32, 'Operation capabilities', OPCAP_BITS);

/** OFFSETS (128 bits, units of 0x100 bytes; Linux `union offsets_reg`). */
export const OFFSETS_BITS = {
  grpcfg: bits(0, 16, 'GRPCFG table'),
  wqcfg: bits(16, 16, 'WQCFG table'),
  msixPerm: bits(32, 16, 'MSIX_PERM table'),
  ims: bits(48, 16, 'Interrupt-handle (IMS) table (0: none)'),
  perfmon: bits(64, 16, 'Performance monitor (0: none)'),
} as const;

/** OFFSETS: offset 0x60, 16 bytes. */
export const OFFSETS_REG = registerLayout('OFFSETS', 0x60, 16, 'Table offsets (× 0x100)', OFFSETS_BITS);

/** GENCFG (Linux `union gencfg_reg`; its 2.0 `evl_en` is not in the model's 1.0 layout). */
export const GENCFG_BITS = {
  rdbufLimit: bits(0, 8, 'Global read-buffer limit'),
  userIntEn: bits(12, 1, 'Completion interrupts allowed for user-mode (Priv 0) descriptors on PASID WQs'),
} as const;

/** GENCFG: offset 0x80, 4 bytes. */
export const GENCFG_REG = registerLayout('GENCFG', 0x80, 4, 'General configuration', GENCFG_BITS);

/** GENCTRL (Linux `union genctrl_reg`; its 2.0 `evl_int_en` is not in the model's 1.0 layout). */
export const GENCTRL_BITS = {
  softerrIntEn: bits(0, 1, 'Interrupt (vector 0) on a software error'),
  haltIntEn: bits(1, 1, 'Interrupt (vector 0) on entering Halt'),
} as const;

/** GENCTRL: offset 0x88, 4 bytes. */
export const GENCTRL_REG = registerLayout('GENCTRL', 0x88, 4, 'General control', GENCTRL_BITS);

/** GENSTS (Linux `union gensts_reg`). */
export const GENSTS_BITS = {
  state: bits(0, 2, '0 Disabled, 1 Enabled, 2 Drain (disabling), 3 Halt (Linux `enum idxd_device_status_state`)'),
  resetType: bits(2, 2, 'Reset needed to leave Halt: 0 software, 1 FLR, 2 warm, 3 cold (Linux `enum idxd_device_reset_type`)'),
} as const;

/** GENSTS: offset 0x90, 4 bytes. */
export const GENSTS_REG = registerLayout('GENSTS', 0x90, 4, 'General status', GENSTS_BITS);

/** INTCAUSE (Linux `IDXD_INTC_*`; its bit 5, `IDXD_INTC_EVL`, belongs to the 2.0 event log the model does not implement). */
export const INTCAUSE_BITS = {
  softwareError: bits(0, 1, 'Software error logged in SWERR (Linux `IDXD_INTC_ERR`)'),
  commandCompletion: bits(1, 1, 'Command completed with CMD.int_req (Linux `IDXD_INTC_CMD`)'),
  wqOccupancy: bits(2, 1, 'WQ occupancy (Linux `IDXD_INTC_OCCUPY`)'),
  perfmonOverflow: bits(3, 1, 'Perfmon overflow (Linux `IDXD_INTC_PERFMON_OVFL`)'),
  halt: bits(4, 1, 'Device entered Halt (Linux `IDXD_INTC_HALT_STATE`)'),
  handlesRevoked: bits(31, 1, 'Interrupt handles revoked (Linux `IDXD_INTC_INT_HANDLE_REVOKED`)'),
} as const;

/** INTCAUSE: offset 0x98, 4 bytes. */
export const INTCAUSE_REG = registerLayout('INTCAUSE', 0x98, 4, 'Interrupt cause (vector 0)', INTCAUSE_BITS);

/** CMD (Linux `union idxd_command_reg`). */
export const CMD_BITS = {
  operand: bits(0, 20, 'Operand'),
  cmd: bits(20, 5, 'Command code'),
  intReq: bits(31, 1, 'Request a completion interrupt'),
} as const;

/** CMD: offset 0xA0, 4 bytes. */
export const CMD_REG = registerLayout('CMD', 0xa0, 4, 'Command (a 4-byte write starts the command)', CMD_BITS);

/** CMDSTS (Linux `union cmdsts_reg`). */
export const CMDSTS_BITS = {
  err: bits(0, 8, 'Error code of the last command (Linux `IDXD_CMDSTS_ERR_MASK`)'),
  result: bits(8, 16, 'Result of the last command (Linux `IDXD_CMDSTS_RES_SHIFT`)'),
  active: bits(31, 1, 'A command is executing (Linux `IDXD_CMDSTS_ACTIVE`)'),
} as const;

/** CMDSTS: offset 0xA8, 4 bytes. */
export const CMDSTS_REG = registerLayout('CMDSTS', 0xa8, 4, 'Command status', CMDSTS_BITS);

/** CMDCAP (Linux `IDXD_CMDCAP_OFFSET`). */
export const CMDCAP_BITS = {
  commands: bits(0, 32, 'Bit n = command n implemented'),
} as const;

/** CMDCAP: offset 0xB0, 4 bytes. */
export const CMDCAP_REG = registerLayout('CMDCAP', 0xb0, 4, 'Command capabilities', CMDCAP_BITS);

/** SWERR (256 bits; Linux `union sw_err_reg`). */
export const SWERR_BITS = {
  valid: bits(0, 1, 'An error is logged (Linux `IDXD_SWERR_VALID`)'),
  overflow: bits(1, 1, 'Another error arrived while valid (Linux `IDXD_SWERR_OVERFLOW`)'),
  descValid: bits(2, 1, 'Operation, priv, PASID and batch fields are meaningful'),
  wqIdxValid: bits(3, 1, 'WQ index is meaningful'),
  batch: bits(4, 1, 'The error concerns a batch element'),
  faultRw: bits(5, 1, 'Faulting access was a write'),
  priv: bits(6, 1, 'Priv of the descriptor'),
  errInfoValid: bits(7, 1, 'Error information valid (rev 3.0; reserved in Linux\'s layout)'),
  error: bits(8, 8, 'Error code'),
  wqIdx: bits(16, 8, 'WQ index'),
  operation: bits(32, 8, 'Opcode'),
  pasid: bits(40, 20, 'Effective PASID'),
  batchIdx: bits(64, 16, 'Batch element index'),
  errorInfo: bits(96, 32, 'Invalid flags (0x11), interrupt handle (0x19) (Linux `invalid_flags`)'),
  faultAddr: bits(128, 64, 'Faulting address'),
} as const;

/** SWERR: offset 0xC0, 32 bytes. */
export const SWERR_REG = registerLayout('SWERR', 0xc0, 32, 'Software error', SWERR_BITS);

/** MSIX_PERM entry (64 bits; Linux `union msix_perm` in the low dword). */
export const MSIX_PERM_BITS = {
  ignore: bits(2, 1, 'Completion interrupts to this vector are dropped'),
  pasidEn: bits(3, 1, 'PASID check enabled'),
  pasid: bits(12, 20, 'PASID allowed to use the vector'),
} as const;

/** MSIX_PERM: offset 0x00 in its table entry, 8 bytes. */
export const MSIX_PERM_REG = registerLayout('MSIX_PERM', 0x00, 8, 'MSI-X permission of one vector', MSIX_PERM_BITS);

/** GRPWQCFG (256 bits). */
export const GRPWQCFG_BITS = {
  wqs: bits(0, 256, 'Bit n = WQ n belongs to the group'),
} as const;

/** GRPWQCFG: offset 0x00 in its table entry, 32 bytes. */
export const GRPWQCFG_REG = registerLayout('GRPWQCFG', 0x00, 32, 'WQs of the group', GRPWQCFG_BITS);

/** GRPENGCFG (64 bits). */
export const GRPENGCFG_BITS = {
  engines: bits(0, 64, 'Bit n = engine n belongs to the group'),
} as const;

/** GRPENGCFG: offset 0x20 in its table entry, 8 bytes. */
export const GRPENGCFG_REG = registerLayout('GRPENGCFG', 0x20, 8, 'Engines of the group', GRPENGCFG_BITS);

/** GRPFLAGS (64 bits; Linux `union group_flags`). */
export const GRPFLAGS_BITS = {
  tcA: bits(0, 3, 'Traffic class A'),
  tcB: bits(3, 3, 'Traffic class B'),
  useRdbufLimit: bits(7, 1, 'Apply the global read-buffer limit'),
  rdbufsReserved: bits(8, 8, 'Read buffers reserved for the group'),
  rdbufsAllowed: bits(20, 8, 'Read buffers the group may use'),
} as const;

/** GRPFLAGS: offset 0x28 in its table entry, 8 bytes. */
export const GRPFLAGS_REG = registerLayout('GRPFLAGS', 0x28, 8, 'Group flags', GRPFLAGS_BITS);

/** WQCFG entry (256 bits; Linux `union wqcfg`, bytes 0–31). */
export const WQCFG_BITS = {
  wqSize: bits(0, 16, 'Entries of the WQ'),
  wqThresh: bits(32, 16, 'Shared WQ: limited-portal threshold'),
  mode: bits(64, 1, '1 dedicated, 0 shared'),
  bof: bits(65, 1, 'Block on fault allowed'),
  wqAtsDisable: bits(66, 1, 'ATS disabled for this WQ'),
  wqPrsDisable: bits(67, 1, 'PRS disabled for this WQ'),
  priority: bits(68, 4, 'Arbitration priority 1..15'),
  pasid: bits(72, 20, 'Dedicated WQ: PASID of every descriptor'),
  pasidEn: bits(92, 1, 'PASID enable'),
  priv: bits(93, 1, 'Dedicated WQ: privilege of every descriptor'),
  maxXferShift: bits(96, 5, 'Maximum transfer size, log2'),
  maxBatchShift: bits(101, 4, 'Maximum batch size, log2'),
  occupancy: bits(192, 16, 'Descriptors accepted and not yet dispatched'),
  modeSupport: bits(221, 1, 'The mode field is configurable'),
  wqState: bits(222, 2, '0 disabled, 1 enabled'),
} as const;

/** WQCFG: offset 0x00 in its table entry, 32 bytes. */
export const WQCFG_REG = registerLayout('WQCFG', 0x00, 32, 'Work-queue configuration', WQCFG_BITS);

/** Interrupt-handle (IMS) entry (128 bits): address, data, control. */
export const IMS_ENTRY_BITS = {
  addrLo: bits(0, 32, 'Message address, low dword'),
  addrHi: bits(32, 32, 'Message address, high dword'),
  data: bits(64, 32, 'Message data'),
  mask: bits(96, 1, 'Masked: interrupts pend'),
  pending: bits(97, 1, 'An interrupt is pending'),
  ignore: bits(98, 1, 'Interrupts are dropped'),
  pasidEn: bits(99, 1, 'PASID check enabled'),
  pasid: bits(108, 20, 'PASID allowed to use the entry'),
} as const;

/** IMS_ENTRY: offset 0x00 in its table entry, 16 bytes. */
export const IMS_ENTRY_REG = registerLayout('IMS_ENTRY', 0x00, 16, 'Interrupt-handle (IMS) entry', IMS_ENTRY_BITS);

/** MSI-X table entry (128 bits, PCI). */
export const MSIX_ENTRY_BITS = {
  addrLo: bits(2, 30, 'Message address [31:2]'),
  addrHi: bits(32, 32, 'Message upper address'),
  data: bits(64, 32, 'Message data'),
  mask: bits(96, 1, 'Vector masked'),
} as const;

/** MSIX_ENTRY: offset 0x00 in its table entry, 16 bytes. */
export const MSIX_ENTRY_REG = registerLayout('MSIX_ENTRY', 0x00, 16, 'MSI-X table entry', MSIX_ENTRY_BITS);

/** MSI-X pending-bit array qword. */
export const MSIX_PBA_BITS = {
  pending: bits(0, 64, 'Bit n = vector n pending'),
} as const;

/** MSIX_PBA: offset 0x00 in its table entry, 8 bytes. */
export const MSIX_PBA_REG = registerLayout('MSIX_PBA', 0x00, 8, 'MSI-X pending bits', MSIX_PBA_BITS);

// ---------------------------------------------------------------- blocks

/** The general registers: capabilities, control, status, command and SWERR at fixed offsets from 0. */
export const GENERAL_TABLE = blockLayout('General', null, 0x100, 'device', 'Capabilities, configuration, control, status, command and software-error registers');
/** MSIX_PERM table: one 8-byte entry per MSI-X vector, at OFFSETS.msix_perm. */
export const MSIX_PERM_TABLE = blockLayout('MSIX_PERM', 'msixPerm', MSIX_PERM_SIZE, 'vector', 'MSI-X permission table (OFFSETS.msix_perm)');
/** GRPCFG table: one 64-byte entry per group, at OFFSETS.grpcfg. */
export const GRPCFG_TABLE = blockLayout('GRPCFG', 'grpcfg', GRPCFG_SIZE, 'group', 'Group configuration table (OFFSETS.grpcfg)');
/** WQCFG table: one 32-byte entry per WQ, at OFFSETS.wqcfg. */
export const WQCFG_TABLE = blockLayout('WQCFG', 'wqcfg', WQCFG_SIZE, 'WQ', 'Work-queue configuration table (OFFSETS.wqcfg)');
/** Interrupt-handle (IMS) table: one 16-byte entry per handle, at OFFSETS.ims. */
export const IMS_TABLE = blockLayout('IMS', 'ims', IMS_ENTRY_SIZE, 'entry', 'Interrupt-handle (IMS-like) table (OFFSETS.ims)');
/** MSI-X table: one 16-byte entry per vector, where the MSI-X capability says. */
export const MSIX_TABLE = blockLayout('MSI-X table', 'msixTable', 16, 'vector', 'MSI-X table');
/** MSI-X pending-bit array: one qword per 64 vectors, where the MSI-X capability says. */
export const MSIX_PBA_TABLE = blockLayout('MSI-X PBA', 'msixPba', 8, 'qword', 'MSI-X pending-bit array');
