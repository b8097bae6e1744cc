/**
 * The configuration checks of Enable Device and Enable WQ (vidxd-device.md §2.2, §5.3): pure
 * functions of the register file and the PCI state returning a CMDSTS code (0 = valid), plus the
 * decoding of GRPCFG into group membership and of WQCFG into a latched WQ configuration.
 */
import { CmdStatus } from '../spec/cmdsts.js';
import type { RegisterContext } from '../spec/register-def.js';
import type { RegisterFile } from './register-file.js';
import { GENCAP, GENCFG, GRPCAP, GRPENGCFG, GRPFLAGS, GRPWQCFG, WQCAP, WQCFG } from './registers.js';
import type { WqConfig } from '../queue/work-queue.js';

/** The PCI configuration the checks depend on. */
export interface PciState {
  /** Command register bus master enable. */
  readonly busMaster: boolean;
  /** PASID capability enable. */
  readonly pasidEnabled: boolean;
  /** PASID capability privileged mode enable. */
  readonly pasidPrivileged: boolean;
  /** PRI capability enable. */
  readonly priEnabled: boolean;
  /** PASID capability Max PASID Width. */
  readonly pasidWidth: number;
}

/** Group membership decoded from GRPCFG. */
export interface GroupMap {
  /** Group of each WQ (-1: none). */
  readonly wqGroup: Int32Array;
  /** Group of each engine (-1: none). */
  readonly engineGroup: Int32Array;
  /** First CMDSTS error found while decoding (0x15, 0x16), or 0. */
  readonly error: number;
}

const member = (bits: number, i: number): boolean => ((bits >>> (i & 31)) & 1) === 1;

/** Decodes the WQ and engine bitmaps of every group. */
export function decodeGroups(regs: RegisterFile<RegisterContext>): GroupMap {
  const { wqs, engines, groups } = regs.context.profile;
  const wqGroup = new Int32Array(wqs).fill(-1);
  const engineGroup = new Int32Array(engines).fill(-1);
  let error = 0;
  for (let g = 0; g < groups; g++) {
    for (let w = 0; w < wqs; w++) {
      if (!member(regs.wide(GRPWQCFG, GRPWQCFG.fields.wqs, g, w >>> 5), w)) continue;
      if (wqGroup[w] !== -1 && error === 0) error = CmdStatus.GROUP_WQS;
      wqGroup[w] = g;
    }
    for (let e = 0; e < engines; e++) {
      if (!member(regs.wide(GRPENGCFG, GRPENGCFG.fields.engines, g, e >>> 5), e)) continue;
      if (engineGroup[e] !== -1 && error === 0) error = CmdStatus.GROUP_ENGINES;
      engineGroup[e] = g;
    }
  }
  return { wqGroup, engineGroup, error };
}

function pasidFits(pasid: number, width: number): boolean {
  return width >= 20 || pasid < 2 ** width;
}

/** The checks of Enable Device after the state check (0x10): returns the first failing code, or 0. */
export function checkEnableDevice(regs: RegisterFile<RegisterContext>, pci: PciState, map: GroupMap): number {
  const prof = regs.context.profile;
  if (!pci.busMaster) return CmdStatus.BUS_MASTER_DISABLED;
  const limit = regs.get(GENCFG, GENCFG.fields.rdbufLimit);
  if (limit !== 0 && (!regs.flag(GRPCAP, GRPCAP.fields.rdbufLimit) || limit > prof.readBuffers)) return CmdStatus.CONFIG_ERROR;
  const w = WQCFG.fields;
  let total = 0;
  for (let q = 0; q < prof.wqs; q++) {
    if (map.wqGroup[q] !== -1 && regs.flag(WQCFG, w.pasidEn, q) && !pasidFits(regs.get(WQCFG, w.pasid, q), pci.pasidWidth)) {
      return CmdStatus.INVALID_PASID;
    }
    total += regs.get(WQCFG, w.wqSize, q);
  }
  if (total > regs.get(WQCAP, WQCAP.fields.totalWqSize)) return CmdStatus.WQ_SIZE_RANGE;
  if (map.error !== 0) return map.error;
  for (let g = 0; g < prof.groups; g++) {
    if (map.wqGroup.includes(g) && !map.engineGroup.includes(g)) return CmdStatus.GROUP_NO_ENGINE;
  }
  const gf = GRPFLAGS.fields;
  let reserved = 0;
  for (let g = 0; g < prof.groups; g++) {
    const r = regs.get(GRPFLAGS, gf.rdbufsReserved, g);
    const allowed = regs.get(GRPFLAGS, gf.rdbufsAllowed, g);
    const used = r !== 0 || allowed !== 0 || regs.flag(GRPFLAGS, gf.useRdbufLimit, g);
    if (used && !regs.flag(GRPCAP, GRPCAP.fields.rdbufCtrl)) return CmdStatus.GROUP_READ_BUFFERS;
    if (allowed > prof.readBuffers) return CmdStatus.GROUP_READ_BUFFERS;
    reserved += r;
  }
  if (reserved > prof.readBuffers) return CmdStatus.GROUP_READ_BUFFERS;
  return 0;
}

/** The WQCFG of WQ `q` as a latched configuration. */
export function readWqConfig(regs: RegisterFile<RegisterContext>, q: number): WqConfig {
  const w = WQCFG.fields;
  return {
    dedicated: regs.flag(WQCFG, w.mode, q),
    size: regs.get(WQCFG, w.wqSize, q),
    threshold: regs.get(WQCFG, w.wqThresh, q),
    priority: regs.get(WQCFG, w.priority, q),
    blockOnFault: regs.flag(WQCFG, w.bof, q),
    pasidEnabled: regs.flag(WQCFG, w.pasidEn, q),
    pasid: regs.get(WQCFG, w.pasid, q),
    priv: regs.flag(WQCFG, w.priv, q),
    maxTransferShift: regs.get(WQCFG, w.maxXferShift, q),
    maxBatchShift: regs.get(WQCFG, w.maxBatchShift, q),
  };
}

/**
 * The configuration checks of Enable WQ for WQ `q` (after index, device-state and WQ-state
 * checks): `group` is its latched group, `othersSize` the total size of the other enabled WQs.
 */
export function checkEnableWq(regs: RegisterFile<RegisterContext>, pci: PciState, c: WqConfig, group: number, othersSize: number): number {
  const total = regs.get(WQCAP, WQCAP.fields.totalWqSize);
  if (c.size === 0 || group < 0 || othersSize + c.size > total || (!c.dedicated && c.threshold > c.size)) return CmdStatus.WQ_SIZE;
  if (c.priority === 0) return CmdStatus.WQ_PRIORITY;
  const cap = WQCAP.fields;
  if (!regs.flag(WQCAP, c.dedicated ? cap.dedicatedMode : cap.sharedMode)) return CmdStatus.WQ_MODE;
  if (c.blockOnFault && (!regs.flag(GENCAP, GENCAP.fields.blockOnFault) || !pci.priEnabled)) return CmdStatus.BLOCK_ON_FAULT;
  if (!c.dedicated && !c.pasidEnabled) return CmdStatus.PASID_ENABLE;
  if (c.pasidEnabled && (!pci.pasidEnabled || !pasidFits(c.pasid, pci.pasidWidth))) return CmdStatus.PASID_ENABLE;
  if (c.dedicated && c.pasidEnabled && c.priv && !pci.pasidPrivileged) return CmdStatus.PASID_ENABLE;
  if (c.maxBatchShift > regs.get(GENCAP, GENCAP.fields.maxBatchShift)) return CmdStatus.MAX_BATCH_SIZE;
  if (c.maxTransferShift > regs.get(GENCAP, GENCAP.fields.maxXferShift)) return CmdStatus.MAX_TRANSFER_SIZE;
  return 0;
}
