/**
 * Step 2 of bring-up: what BAR0 says (vidxd-device.md §4, §6). VERSION, GENCAP, WQCAP, GRPCAP,
 * ENGCAP, OPCAP and OFFSETS from their fixed offsets; CMDCAP when GENCAP advertises it; the WQCFG and
 * MSIX_PERM tables only where OFFSETS puts them. Offsets and field positions come from the dsa
 * layer's register layouts (dsa/spec/register-fields.ts, the driver's header file).
 */
import { TABLE_UNIT, WQCFG_SIZE } from '../dsa/spec/layout.js';
import { CMDCAP_REG, ENGCAP_REG, GENCAP_REG, GRPCAP_REG, OFFSETS_REG, OPCAP_REG, VERSION_REG, WQCAP_REG, WQCFG_REG } from '../dsa/spec/register-fields.js';
import { getField } from './fields.js';
import type { DeviceIo } from './io.js';

/** The device's capabilities as the driver uses them. */
export interface DsaCaps {
  /** VERSION (0x100 = DSA 1.0). */
  readonly version: number;
  /** GENCAP, low and high dwords. */
  readonly gencap: readonly [number, number];
  /** Block on fault supported. */
  readonly blockOnFault: boolean;
  /** Overlapping memmove supported. */
  readonly overlapCopy: boolean;
  /** CMDCAP present, interrupt handles requested with REQUEST_INT_HANDLE. */
  readonly commandCapabilities: boolean;
  /** Max transfer size of the device, bytes. */
  readonly maxTransferSize: number;
  /** Max batch size of the device, descriptors. */
  readonly maxBatchSize: number;
  /** GENCFG/GRPCFG/WQCFG configurable (a PF); a vdev arrives configured. */
  readonly configurable: boolean;
  /** WQCAP.total_wq_size: entries shared by all WQs. */
  readonly totalWqSize: number;
  /** WQCAP.num_wqs. */
  readonly wqs: number;
  /** WQCAP: shared WQs supported. */
  readonly sharedMode: boolean;
  /** WQCAP: dedicated WQs supported. */
  readonly dedicatedMode: boolean;
  /** GRPCAP.num_groups. */
  readonly groups: number;
  /** ENGCAP.num_engines. */
  readonly engines: number;
  /** OPCAP, 8 dwords (bit n = opcode n). */
  readonly opcap: Uint32Array;
  /** CMDCAP (0 when absent). */
  readonly cmdcap: number;
  /** Byte offsets from OFFSETS. */
  readonly offsets: { readonly grpcfg: number; readonly wqcfg: number; readonly msixPerm: number; readonly ims: number };
}

/** WQCFG of one WQ as the driver reads it. */
export interface WqInfo {
  /** BAR0 offset of the entry. */
  readonly offset: number;
  /** Entries. */
  readonly size: number;
  /** Limited-portal threshold (shared). */
  readonly threshold: number;
  /** Dedicated (else shared). */
  readonly dedicated: boolean;
  /** Block on fault allowed. */
  readonly blockOnFault: boolean;
  /** Priority. */
  readonly priority: number;
  /** Max transfer size of this WQ, bytes. */
  readonly maxTransferSize: number;
  /** Max batch size of this WQ, descriptors. */
  readonly maxBatchSize: number;
  /** 0 disabled, 1 enabled. */
  readonly state: number;
}

/** Reads the capability registers. */
export function probeCaps(io: DeviceIo): DsaCaps {
  const gencap = io.readDwords(GENCAP_REG.offset, new Uint32Array(2));
  const wqcap = io.readDwords(WQCAP_REG.offset, new Uint32Array(2));
  const offsets = io.readDwords(OFFSETS_REG.offset, new Uint32Array(4));
  const g = GENCAP_REG.bits;
  const w = WQCAP_REG.bits;
  const o = OFFSETS_REG.bits;
  const commandCapabilities = getField(gencap, g.cmdCap) === 1;
  return {
    version: io.r32(VERSION_REG.offset),
    gencap: [gencap[0] as number, gencap[1] as number],
    blockOnFault: getField(gencap, g.blockOnFault) === 1,
    overlapCopy: getField(gencap, g.overlapCopy) === 1,
    commandCapabilities,
    maxTransferSize: 2 ** getField(gencap, g.maxXferShift),
    maxBatchSize: 2 ** getField(gencap, g.maxBatchShift),
    configurable: getField(gencap, g.configEn) === 1,
    totalWqSize: getField(wqcap, w.totalWqSize),
    wqs: getField(wqcap, w.numWqs),
    sharedMode: getField(wqcap, w.sharedMode) === 1,
    dedicatedMode: getField(wqcap, w.dedicatedMode) === 1,
    groups: getField(io.readDwords(GRPCAP_REG.offset, new Uint32Array(2)), GRPCAP_REG.bits.numGroups),
    engines: getField(io.readDwords(ENGCAP_REG.offset, new Uint32Array(2)), ENGCAP_REG.bits.numEngines),
    opcap: io.readDwords(OPCAP_REG.offset, new Uint32Array(8)),
    cmdcap: commandCapabilities ? io.r32(CMDCAP_REG.offset) : 0,
    offsets: {
      grpcfg: getField(offsets, o.grpcfg) * TABLE_UNIT,
      wqcfg: getField(offsets, o.wqcfg) * TABLE_UNIT,
      msixPerm: getField(offsets, o.msixPerm) * TABLE_UNIT,
      ims: getField(offsets, o.ims) * TABLE_UNIT,
    },
  };
}

/** Reads WQCFG of WQ `wq` from the table OFFSETS located. */
export function readWq(io: DeviceIo, caps: DsaCaps, wq: number): WqInfo {
  const offset = caps.offsets.wqcfg + wq * WQCFG_SIZE;
  const dw = io.readDwords(offset, new Uint32Array(8));
  const f = WQCFG_REG.bits;
  return {
    offset,
    size: getField(dw, f.wqSize),
    threshold: getField(dw, f.wqThresh),
    dedicated: getField(dw, f.mode) === 1,
    blockOnFault: getField(dw, f.bof) === 1,
    priority: getField(dw, f.priority),
    maxTransferSize: 2 ** getField(dw, f.maxXferShift),
    maxBatchSize: 2 ** getField(dw, f.maxBatchShift),
    state: getField(dw, f.wqState),
  };
}
