/**
 * The BAR0 register map of the DSA device model (the physical function), one declarative table per
 * block (vidxd-device.md §2, dsa-operations.md §11.2): each register applies the model's policy —
 * access, reset value from the profile, lock — to a register of the header (register-fields.ts),
 * which alone says where it is, how big it is and where its fields sit.
 * Everything else — the MMIO dispatch, reset values, access rules, RESET_DEVICE and
 * docs/registers.md — is compiled from these tables.
 */
import { TABLE_UNIT } from '../spec/layout.js';
import { commandMask, imsEntries, msixVectors } from '../spec/profile.js';
import { type BlockDef, blockFrom, policies, type RegisterContext, registerFrom, ro, rw, status, wo } from '../spec/register-def.js';
import {
  CMD_REG, CMDCAP_REG, GENERAL_TABLE, GRPCFG_TABLE, IMS_TABLE, MSIX_PBA_TABLE, MSIX_PERM_TABLE, MSIX_TABLE, WQCFG_TABLE, CMDSTS_REG, ENGCAP_REG, GENCAP_REG, GENCFG_REG, GENCTRL_REG, GENSTS_REG, GRPCAP_REG,
  GRPENGCFG_REG, GRPFLAGS_REG, GRPWQCFG_REG, IMS_ENTRY_REG, INTCAUSE_REG, MSIX_ENTRY_REG, MSIX_PBA_REG, MSIX_PERM_REG,
  OFFSETS_REG, OPCAP_REG, SWERR_REG, VERSION_REG, WQCAP_REG, WQCFG_REG,
} from '../spec/register-fields.js';

/** The policy helpers of the model's table (values computed from its profile and layout). */
const at = policies<RegisterContext>();
const p = (c: RegisterContext) => c.profile;
const bit = (on: boolean): number => (on ? 1 : 0);
const devLock = { lock: 'device-disabled' } as const;
const wqLock = { lock: 'wq-disabled' } as const;

/** VERSION (0x00). */
export const VERSION = registerFrom(VERSION_REG, {
  version: at.ro((c) => p(c).version),
});

/** GENCAP (0x10): general capabilities. */
export const GENCAP = registerFrom(GENCAP_REG, {
  blockOnFault: at.ro((c) => bit(p(c).blockOnFault)),
  overlapCopy: at.ro((c) => bit(p(c).overlapCopy)),
  cacheControlMem: at.ro((c) => bit(p(c).cacheControlMem)),
  cacheControlCache: at.ro((c) => bit(p(c).cacheControlCache)),
  cmdCap: at.ro((c) => bit(p(c).commandCapabilities)),
  destReadback: at.ro((c) => bit(p(c).destinationReadback)),
  drainReadback: at.ro((c) => bit(p(c).drainReadback)),
  maxXferShift: at.ro((c) => p(c).maxTransferShift),
  maxBatchShift: at.ro((c) => p(c).maxBatchShift),
  maxImsMult: at.ro((c) => p(c).imsMultiplier),
  configEn: ro(1),
  high: at.ro((c) => p(c).gencapHigh),
});

/** WQCAP (0x20): work-queue capabilities. */
export const WQCAP = registerFrom(WQCAP_REG, {
  totalWqSize: at.ro((c) => p(c).totalWqSize),
  numWqs: at.ro((c) => p(c).wqs),
  wqcfgSize: ro(0),
  sharedMode: at.ro((c) => bit(p(c).sharedMode)),
  dedicatedMode: at.ro((c) => bit(p(c).dedicatedMode)),
  wqAtsSupport: at.ro((c) => bit(p(c).wqAtsSupport)),
  priority: at.ro((c) => bit(p(c).wqPriority)),
  occupancy: at.ro((c) => bit(p(c).wqOccupancy)),
});

/** GRPCAP (0x30): group capabilities. */
export const GRPCAP = registerFrom(GRPCAP_REG, {
  numGroups: at.ro((c) => p(c).groups),
  totalRdbufs: at.ro((c) => p(c).readBuffers),
  rdbufCtrl: at.ro((c) => bit(p(c).readBufferControl)),
  rdbufLimit: at.ro((c) => bit(p(c).readBufferLimit)),
});

/** ENGCAP (0x38): engine capabilities. */
export const ENGCAP = registerFrom(ENGCAP_REG, {
  numEngines: at.ro((c) => p(c).engines),
});

/** OPCAP (0x40): supported operations, one bit per opcode. */
export const OPCAP = registerFrom(OPCAP_REG, {
  ops: at.ro((c, dw) => p(c).opcap[dw] ?? 0),
});

/** OFFSETS (0x60): where the tables are, in units of 0x100 bytes. */
export const OFFSETS = registerFrom(OFFSETS_REG, {
  grpcfg: at.ro((c) => c.layout.grpcfg / TABLE_UNIT),
  wqcfg: at.ro((c) => c.layout.wqcfg / TABLE_UNIT),
  msixPerm: at.ro((c) => c.layout.msixPerm / TABLE_UNIT),
  ims: at.ro((c) => c.layout.ims / TABLE_UNIT),
  perfmon: ro(0),
});

/** GENCFG (0x80): general configuration. */
export const GENCFG = registerFrom(GENCFG_REG, {
  rdbufLimit: rw(devLock),
  userIntEn: rw(devLock),
});

/** GENCTRL (0x88): general control. */
export const GENCTRL = registerFrom(GENCTRL_REG, {
  softerrIntEn: rw(),
  haltIntEn: rw(),
});

/** GENSTS (0x90): general status. */
export const GENSTS = registerFrom(GENSTS_REG, {
  state: status(),
  resetType: status(),
});

/** INTCAUSE (0x98): interrupt causes of vector 0 (occupancy and perfmon never occur: not supported). */
export const INTCAUSE = registerFrom(INTCAUSE_REG, {
  softwareError: status('RW1C'),
  commandCompletion: status('RW1C'),
  wqOccupancy: status('RW1C'),
  perfmonOverflow: status('RW1C'),
  halt: status('RW1C'),
  handlesRevoked: status('RW1C'),
});

/** CMD (0xA0): command register; a 4-byte write calls the owner's `CMD` hook. */
export const CMD = registerFrom(CMD_REG, {
  operand: wo(),
  cmd: wo(),
  intReq: wo(),
}, { preservedByReset: true, hook: true });

/** CMDSTS (0xA8): command status. */
export const CMDSTS = registerFrom(CMDSTS_REG, {
  err: status(),
  result: status(),
  active: status(),
}, { preservedByReset: true });

/** CMDCAP (0xB0): implemented commands (present when GENCAP.cmd_cap = 1; else reads 0). */
export const CMDCAP = registerFrom(CMDCAP_REG, {
  commands: at.ro((c) => (p(c).commandCapabilities ? commandMask(p(c)) : 0)),
});

/** SWERR (0xC0): software error (dsa-operations.md §11.2). */
export const SWERR = registerFrom(SWERR_REG, {
  valid: status('RW1C'),
  overflow: status('RW1C'),
  descValid: status(),
  wqIdxValid: status(),
  batch: status(),
  faultRw: status(),
  priv: status(),
  errInfoValid: status(),
  error: status(),
  wqIdx: status(),
  operation: status(),
  pasid: status(),
  batchIdx: status(),
  errorInfo: status(),
  faultAddr: status(),
}, { preservedByReset: true });

/** The general block: capabilities, control, status, command and SWERR registers at fixed offsets. */
export const GENERAL_BLOCK = blockFrom<RegisterContext>(GENERAL_TABLE, {
  count: () => 1,
  registers: [VERSION, GENCAP, WQCAP, GRPCAP, ENGCAP, OPCAP, OFFSETS, GENCFG, GENCTRL, GENSTS, INTCAUSE, CMD, CMDSTS, CMDCAP, SWERR],
});

/** MSIX_PERM entry: which PASID may use a completion vector. */
export const MSIX_PERM = registerFrom(MSIX_PERM_REG, {
  ignore: rw(),
  pasidEn: rw(),
  pasid: rw(),
});

/** MSIX_PERM block: one entry per MSI-X vector. */
export const MSIX_PERM_BLOCK = blockFrom<RegisterContext>(MSIX_PERM_TABLE, {
  count: (c) => msixVectors(c.profile),
  registers: [MSIX_PERM],
});

/** GRPWQCFG: the WQs of a group (bits of WQs the device does not have read 0). */
export const GRPWQCFG = registerFrom(GRPWQCFG_REG, {
  wqs: at.rw({ ...devLock, implemented: (c) => c.profile.wqs }),
});

/** GRPENGCFG: the engines of a group (bits of engines the device does not have read 0). */
export const GRPENGCFG = registerFrom(GRPENGCFG_REG, {
  engines: at.rw({ ...devLock, implemented: (c) => c.profile.engines }),
});

/** GRPFLAGS: traffic classes and read-buffer controls of a group. */
export const GRPFLAGS = registerFrom(GRPFLAGS_REG, {
  tcA: rw(devLock),
  tcB: rw(devLock),
  useRdbufLimit: rw(devLock),
  rdbufsReserved: rw(devLock),
  rdbufsAllowed: rw(devLock),
});

/** GRPCFG block: one 64-byte entry per group. */
export const GRPCFG_BLOCK = blockFrom<RegisterContext>(GRPCFG_TABLE, {
  doc: 'Group configuration table (OFFSETS.grpcfg), writable while the device is Disabled',
  count: (c) => c.profile.groups,
  registers: [GRPWQCFG, GRPENGCFG, GRPFLAGS],
});

/**
 * WQCFG entry (32 bytes). Refreshed before a software read: the occupancy field is stored from the
 * WQ's count when software looks, not on every submission and dispatch.
 */
export const WQCFG = registerFrom(WQCFG_REG, {
  wqSize: rw(wqLock),
  wqThresh: rw(wqLock),
  mode: rw(wqLock),
  bof: rw(wqLock),
  wqAtsDisable: rw(wqLock),
  priority: rw(wqLock),
  pasid: rw(wqLock),
  pasidEn: rw(wqLock),
  priv: rw(wqLock),
  maxXferShift: rw(wqLock),
  maxBatchShift: rw(wqLock),
  occupancy: status(),
  modeSupport: ro(1),
  wqState: status(),
}, { refresh: true });

/** WQCFG block: one 32-byte entry per WQ. */
export const WQCFG_BLOCK = blockFrom<RegisterContext>(WQCFG_TABLE, {
  doc: 'Work-queue configuration table (OFFSETS.wqcfg), writable while the WQ is disabled',
  count: (c) => c.profile.wqs,
  registers: [WQCFG],
});

/** One interrupt-handle (IMS) entry; a write calls the owner's `IMS_ENTRY` hook (pending delivery on unmask). */
export const IMS_ENTRY = registerFrom(IMS_ENTRY_REG, {
  addrLo: rw(),
  addrHi: rw(),
  data: rw(),
  mask: rw({ reset: 1 }),
  pending: status(),
  ignore: rw(),
  pasidEn: rw(),
  pasid: rw(),
}, { hook: true });

/** IMS block: the interrupt-handle table (absent when GENCAP.max_ims_mult = 0). */
export const IMS_BLOCK = blockFrom<RegisterContext>(IMS_TABLE, {
  count: (c) => imsEntries(c.profile),
  registers: [IMS_ENTRY],
});

/** One MSI-X table entry (kept by the PCI MSI-X capability). */
export const MSIX_ENTRY = registerFrom(MSIX_ENTRY_REG, {
  addrLo: rw(),
  addrHi: rw(),
  data: rw(),
  mask: rw({ reset: 1 }),
}, { window: 'msix-table' });

/** MSI-X table block (BAR0, located by the MSI-X capability). */
export const MSIX_TABLE_BLOCK = blockFrom<RegisterContext>(MSIX_TABLE, {
  doc: 'MSI-X table: vector 0 errors and commands, vector n + 1 completions of WQ n by convention',
  count: (c) => msixVectors(c.profile),
  registers: [MSIX_ENTRY],
});

/** One qword of the MSI-X pending-bit array. */
export const MSIX_PBA = registerFrom(MSIX_PBA_REG, {
  pending: status(),
}, { window: 'msix-pba' });

/** MSI-X PBA block. */
export const MSIX_PBA_BLOCK = blockFrom<RegisterContext>(MSIX_PBA_TABLE, {
  count: (c) => Math.ceil(msixVectors(c.profile) / 64),
  registers: [MSIX_PBA],
});

/** Every BAR0 block, in address order. */
export const BAR0_BLOCKS: readonly BlockDef<RegisterContext>[] = [
  GENERAL_BLOCK, MSIX_PERM_BLOCK, GRPCFG_BLOCK, WQCFG_BLOCK, IMS_BLOCK, MSIX_TABLE_BLOCK, MSIX_PBA_BLOCK,
];
