/**
 * The vdev's BAR0 register table (vidxd-device.md §4, §6): every register of the virtual device, from
 * the same header as the DSA model's table (`dsa/spec/register-fields.ts`: names, offsets, sizes, field
 * layouts) with the vdev's policy only — reset values, access rules and locks — and compiled by the
 * same `RegisterFile`.
 * Capability registers are derived from the parent's capabilities and the backing WQ and its group
 * (`VdevFacts`); the two types differ only in WQCFG.pasid_en (see {@link VDEV_WQCFG_SHARED}).
 */
import {
  type Bar0Layout, bitMask, type BlockDef, blockFrom, CMD, CMDCAP_REG, CMDSTS, ENGCAP_REG, type FieldBits, type FieldDef,
  GENCAP_BITS, GENCAP_REG, GENCFG_REG, GENCTRL, GENERAL_TABLE, GENSTS, GRPCAP_REG, GRPCFG_TABLE, GRPENGCFG_REG, GRPFLAGS_BITS,
  GRPFLAGS_REG, GRPWQCFG_REG, INTCAUSE, MSIX_ENTRY, MSIX_PBA, MSIX_PBA_TABLE, MSIX_PERM_REG, MSIX_PERM_TABLE, MSIX_TABLE,
  OFFSETS_REG, OPCAP_REG, policies, type RegisterDef, registerFrom, ro, rw, status, SWERR, TABLE_UNIT, unpackField, VERSION_REG,
  WQCAP_REG, WQCFG_REG, WQCFG_TABLE,
} from '../dsa/index.js';
import { VDEV_COMMAND_MASK } from './commands.js';
import type { VdevFacts, VdevMode } from './facts.js';
import { VDEV_LAYOUT } from './layout.js';

/**
 * What the vdev's table is compiled for: its facts and its BAR0 layout (the table is generic in its
 * context, so no DSA profile stands in for the vdev).
 */
export interface VdevRegisterContext {
  /** Where the tables sit in the vdev's BAR0. */
  readonly layout: Bar0Layout;
  /** The parent's and the backing WQ's values. */
  readonly facts: VdevFacts;
}

/** The policy helpers of the vdev's table (values computed from its facts and layout). */
const at = policies<VdevRegisterContext>();
const f = (c: VdevRegisterContext): VdevFacts => c.facts;
const bit = (on: boolean): number => (on ? 1 : 0);
const gencap = (b: FieldBits) => (c: VdevRegisterContext): number => unpackField(f(c).gencap, b);
const grpflag = (b: FieldBits) => (c: VdevRegisterContext): number => unpackField(f(c).groupFlags, b);
const wqLock = { lock: 'wq-disabled' } as const;
const devLock = { lock: 'device-disabled' } as const;

/** The register context of a vdev: its facts and its layout. */
export function vdevRegisterContext(facts: VdevFacts): VdevRegisterContext {
  return Object.freeze({ layout: VDEV_LAYOUT, facts });
}

// ---------------------------------------------------------------- general registers (0x000–0x0FF)

/** VERSION (0x00): the parent's. */
export const VDEV_VERSION = registerFrom(VERSION_REG, {
  version: at.ro((c) => f(c).version),
}, { doc: 'Device version (the parent\'s)' });

/**
 * GENCAP (0x10): the parent's, with the Command Capabilities register (cmd_cap 1), no configuration
 * (config_en 0), no IMS table, and block on fault only when the backing WQ allows it.
 */
export const VDEV_GENCAP = registerFrom(GENCAP_REG, {
  blockOnFault: at.ro((c) => gencap(GENCAP_BITS.blockOnFault)(c) & bit(f(c).wqBlockOnFault)),
  overlapCopy: ro(gencap(GENCAP_BITS.overlapCopy)),
  cacheControlMem: ro(gencap(GENCAP_BITS.cacheControlMem)),
  cacheControlCache: ro(gencap(GENCAP_BITS.cacheControlCache)),
  cmdCap: ro(1),
  destReadback: ro(gencap(GENCAP_BITS.destReadback)),
  drainReadback: ro(gencap(GENCAP_BITS.drainReadback)),
  maxXferShift: ro(gencap(GENCAP_BITS.maxXferShift)),
  maxBatchShift: ro(gencap(GENCAP_BITS.maxBatchShift)),
  maxImsMult: ro(0),
  configEn: ro(0),
  high: at.ro((c) => f(c).gencap[1]),
});

/** WQCAP (0x20): one WQ of the backing WQ's size, in the type's mode; no per-WQ ATS, priority or occupancy reporting. */
export const VDEV_WQCAP = registerFrom(WQCAP_REG, {
  totalWqSize: at.ro((c) => f(c).wqSize),
  numWqs: ro(1),
  wqcfgSize: ro(0),
  sharedMode: at.ro((c) => bit(f(c).mode === 'shared')),
  dedicatedMode: at.ro((c) => bit(f(c).mode === 'dedicated')),
  wqAtsSupport: ro(0),
  priority: ro(0),
  occupancy: ro(0),
  occupancyInt: ro(0),
});

/** GRPCAP (0x30): one group, no read buffers. */
export const VDEV_GRPCAP = registerFrom(GRPCAP_REG, {
  numGroups: ro(1),
  totalRdbufs: ro(0),
  rdbufCtrl: ro(0),
  rdbufLimit: ro(0),
});

/** ENGCAP (0x38): the engines of the backing WQ's group. */
export const VDEV_ENGCAP = registerFrom(ENGCAP_REG, {
  numEngines: at.ro((c) => f(c).engines),
});

/** OPCAP (0x40): the parent's. */
export const VDEV_OPCAP = registerFrom(OPCAP_REG, {
  ops: at.ro((c, dw) => f(c).opcap[dw] ?? 0),
}, { doc: 'Operation capabilities (the parent\'s)' });

/** OFFSETS (0x60): GRPCFG 0x400, WQCFG 0x500, MSIX_PERM 0x300, no IMS, no perfmon (units of 0x100). */
export const VDEV_OFFSETS = registerFrom(OFFSETS_REG, {
  grpcfg: at.ro((c) => c.layout.grpcfg / TABLE_UNIT),
  wqcfg: at.ro((c) => c.layout.wqcfg / TABLE_UNIT),
  msixPerm: at.ro((c) => c.layout.msixPerm / TABLE_UNIT),
  ims: ro(0),
  perfmon: ro(0),
});

/**
 * GENCFG (0x80): nothing in it reaches the backing device, so the vdev accepts no setting the
 * backing would silently ignore. user_int_en reads the parent's GENCFG.user_int_en and ignores
 * writes: the RCI rule (dsa-operations.md §2.1) is decided by the parent's bit for every descriptor of
 * the backing WQ, so the guest sees the rule that actually applies to its descriptors (a guest that
 * sets the bit and reads back 0 knows its Priv-0 PASID descriptors cannot request interrupts).
 * rdbuf_limit is writable while Disabled as on the model, and the vdev's GRPCAP has no global
 * read-buffer limit, so ENABLE_DEVICE refuses a non-zero one with 0x11 exactly as the model does.
 */
export const VDEV_GENCFG = registerFrom(GENCFG_REG, {
  rdbufLimit: rw(devLock),
  userIntEn: at.ro((c) => bit(f(c).userInterrupts)),
}, { doc: 'General configuration (user_int_en: the parent\'s, read-only)' });

// GENCTRL through CMDSTS are the DSA model's registers unchanged (same fields, access rules, locks
// and reset behaviour); only the vdev's reading of them differs, which its commands implement.

/** GENCTRL (0x88): software-error and halt interrupt enables. */
export const VDEV_GENCTRL = GENCTRL;

/** GENSTS (0x90): state and reset type. */
export const VDEV_GENSTS = GENSTS;

/** INTCAUSE (0x98): causes of vector 0, each RW1C (occupancy and perfmon never occur). */
export const VDEV_INTCAUSE = INTCAUSE;

/** CMD (0xA0): a 4-byte write starts a command (the dispatch of §5.1); kept by RESET_DEVICE. */
export const VDEV_CMD = CMD;

/** CMDSTS (0xA8): command status; kept by RESET_DEVICE so its completion survives. */
export const VDEV_CMDSTS = CMDSTS;

/** CMDCAP (0xB0): exactly the commands of the vdev's command table. */
export const VDEV_CMDCAP = registerFrom(CMDCAP_REG, {
  commands: ro(VDEV_COMMAND_MASK),
});

/** SWERR (0xC0): software error (dsa-operations.md §11.2); valid and overflow RW1C; kept by RESET_DEVICE. The DSA model's register. */
export const VDEV_SWERR = SWERR;

/** The general block. */
export const VDEV_GENERAL_BLOCK = blockFrom<VdevRegisterContext>(GENERAL_TABLE, {
  count: () => 1,
  registers: [
    VDEV_VERSION, VDEV_GENCAP, VDEV_WQCAP, VDEV_GRPCAP, VDEV_ENGCAP, VDEV_OPCAP, VDEV_OFFSETS, VDEV_GENCFG, VDEV_GENCTRL,
    VDEV_GENSTS, VDEV_INTCAUSE, VDEV_CMD, VDEV_CMDSTS, VDEV_CMDCAP, VDEV_SWERR,
  ],
});

// ---------------------------------------------------------------- tables

/** MSIX_PERM entry: only pasid_en and pasid are writable (the ignore bit is not implemented). */
export const VDEV_MSIX_PERM = registerFrom(MSIX_PERM_REG, {
  pasidEn: rw(),
  pasid: rw(),
});

/** MSIX_PERM block (0x300): one entry per MSI-X vector. */
export const VDEV_MSIX_PERM_BLOCK = blockFrom<VdevRegisterContext>(MSIX_PERM_TABLE, {
  count: (c) => f(c).vectors,
  registers: [VDEV_MSIX_PERM],
});

/** GRPWQCFG of group 0: WQ 0. */
export const VDEV_GRPWQCFG = registerFrom(GRPWQCFG_REG, {
  wqs: at.ro((_c, dw) => (dw === 0 ? 1 : 0)),
});

/** GRPENGCFG of group 0: the low num_engines bits. */
export const VDEV_GRPENGCFG = registerFrom(GRPENGCFG_REG, {
  engines: at.ro((c, dw) => bitMask(Math.max(0, Math.min(32, f(c).engines - 32 * dw)))),
});

/** GRPFLAGS of group 0: mirrored from the backing WQ's group. */
export const VDEV_GRPFLAGS = registerFrom(GRPFLAGS_REG, {
  tcA: ro(grpflag(GRPFLAGS_BITS.tcA)),
  tcB: ro(grpflag(GRPFLAGS_BITS.tcB)),
  useRdbufLimit: ro(grpflag(GRPFLAGS_BITS.useRdbufLimit)),
  rdbufsReserved: ro(grpflag(GRPFLAGS_BITS.rdbufsReserved)),
  rdbufsAllowed: ro(grpflag(GRPFLAGS_BITS.rdbufsAllowed)),
}, { doc: 'Group flags (the backing WQ\'s group\'s)' });

/** GRPCFG block (0x400): group 0, read-only. */
export const VDEV_GRPCFG_BLOCK = blockFrom<VdevRegisterContext>(GRPCFG_TABLE, {
  doc: 'Group configuration (OFFSETS.grpcfg), read-only',
  count: () => 1,
  registers: [VDEV_GRPWQCFG, VDEV_GRPENGCFG, VDEV_GRPFLAGS],
});

/** WQCFG fields both types share (§6): the backing WQ's values read-only, the PASID fields writable while the WQ is disabled. */
const WQCFG_COMMON = {
  wqSize: at.ro((c) => f(c).wqSize),
  wqThresh: at.ro((c) => f(c).wqThreshold),
  mode: at.ro((c) => bit(f(c).mode === 'dedicated')),
  bof: at.ro((c) => bit(f(c).wqBlockOnFault)),
  priority: at.ro((c) => f(c).wqPriority),
  pasid: rw(wqLock),
  priv: rw(wqLock),
  maxXferShift: at.ro((c) => f(c).wqMaxTransferShift),
  maxBatchShift: at.ro((c) => f(c).wqMaxBatchShift),
  occupancy: status(),
  modeSupport: ro(1),
  wqState: status(),
} as const;

const WQCFG_DOC = 'Work-queue configuration (occupancy: this vdev\'s descriptors in the backing WQ, read live)';

/** WQCFG of a dedicated vdev: pasid_en is the guest's choice (reset 0), writable while the WQ is disabled. */
export const VDEV_WQCFG_DEDICATED = registerFrom(WQCFG_REG, {
  ...WQCFG_COMMON,
  pasidEn: rw(wqLock),
}, { refresh: true, doc: WQCFG_DOC });

/** WQCFG of a shared vdev: a shared WQ requires PASIDs, so pasid_en reads 1 and ignores writes. */
export const VDEV_WQCFG_SHARED = registerFrom(WQCFG_REG, {
  ...WQCFG_COMMON,
  pasidEn: ro(1),
}, { refresh: true, doc: WQCFG_DOC });

/** The WQCFG register of a vdev of `mode`. */
export function vdevWqcfg(mode: VdevMode): typeof VDEV_WQCFG_DEDICATED {
  return mode === 'dedicated' ? VDEV_WQCFG_DEDICATED : VDEV_WQCFG_SHARED;
}

function wqcfgBlock(reg: RegisterDef<Readonly<Record<string, FieldDef<VdevRegisterContext>>>, VdevRegisterContext>): BlockDef<VdevRegisterContext> {
  return blockFrom<VdevRegisterContext>(WQCFG_TABLE, {
    doc: 'Work-queue configuration (OFFSETS.wqcfg): pasid, pasid_en (dedicated) and priv writable while the WQ is disabled',
    count: () => 1,
    registers: [reg],
  });
}

/** One MSI-X table entry (kept by the PCI MSI-X capability; the MSI-X table survives RESET_DEVICE). The DSA model's register. */
export const VDEV_MSIX_ENTRY = MSIX_ENTRY;

/** MSI-X table block (0x600): the DSA model's block with the vdev's vector count. */
export const VDEV_MSIX_TABLE_BLOCK = blockFrom<VdevRegisterContext>(MSIX_TABLE, {
  doc: 'MSI-X table: vector 0 for the emulated causes, vectors 1.. for descriptor completions',
  count: (c) => f(c).vectors,
  registers: [VDEV_MSIX_ENTRY],
});

/** The MSI-X pending-bit array (kept by the PCI MSI-X capability). The DSA model's register. */
export const VDEV_MSIX_PBA = MSIX_PBA;

/** MSI-X PBA block (0x700): one qword (at most 17 vectors). */
export const VDEV_MSIX_PBA_BLOCK = blockFrom<VdevRegisterContext>(MSIX_PBA_TABLE, {
  count: () => 1,
  registers: [VDEV_MSIX_PBA],
});

/** Every BAR0 block of a vdev of each type, in address order. */
export const VDEV_BLOCKS: Readonly<Record<VdevMode, readonly BlockDef<VdevRegisterContext>[]>> = Object.freeze({
  dedicated: Object.freeze([
    VDEV_GENERAL_BLOCK, VDEV_MSIX_PERM_BLOCK, VDEV_GRPCFG_BLOCK, wqcfgBlock(VDEV_WQCFG_DEDICATED), VDEV_MSIX_TABLE_BLOCK, VDEV_MSIX_PBA_BLOCK,
  ]),
  shared: Object.freeze([
    VDEV_GENERAL_BLOCK, VDEV_MSIX_PERM_BLOCK, VDEV_GRPCFG_BLOCK, wqcfgBlock(VDEV_WQCFG_SHARED), VDEV_MSIX_TABLE_BLOCK, VDEV_MSIX_PBA_BLOCK,
  ]),
});

/**
 * Registers a write must cover exactly (§5.1 step 1): a CMD write of any size but 4 bytes at 0xA0
 * (a smaller piece of it, or a qword spanning it) is refused with EINVAL and changes nothing.
 */
export const VDEV_EXACT_WRITES: readonly RegisterDef[] = Object.freeze([VDEV_CMD]);
