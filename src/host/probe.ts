/**
 * Probing (Linux `idxd_read_caps` and `idxd_read_table_offsets`): every capability and every
 * table offset is read from BAR0; nothing is assumed but the offsets of the general registers.
 */
import {
  BASE_COMMAND_MASK, CMDCAP, ENGCAP, GENCAP, GRPCAP, OFFSETS, OPCAP, type RegisterDef, TABLE_UNIT, unpackField,
  VERSION, WQCAP,
} from '../dsa/index.js';
import type { MsixInfo } from './pci.js';

/** The BAR0 accesses the host driver makes. */
export interface RegisterAccess {
  /** Reads a dword. */
  read32(offset: number): number;
  /** Writes a dword. */
  write32(offset: number, value: number): void;
}

/** Reads the dwords of a general register. */
export function readRegister(mmio: RegisterAccess, reg: RegisterDef, base = 0): Uint32Array {
  const out = new Uint32Array(reg.size >>> 2);
  for (let k = 0; k < out.length; k++) out[k] = mmio.read32(base + reg.offset + 4 * k);
  return out;
}

/** What the probe learned about the device. */
export interface DsaDeviceInfo {
  /** VERSION. */
  readonly version: number;
  /** GENCAP low and high dwords. */
  readonly gencap: readonly [number, number];
  /** GENCAP.block_on_fault. */
  readonly blockOnFault: boolean;
  /** GENCAP.max_xfer_shift. */
  readonly maxTransferShift: number;
  /** GENCAP.max_batch_shift. */
  readonly maxBatchShift: number;
  /** Interrupt-handle (IMS) table entries. */
  readonly imsEntries: number;
  /** GENCAP.cmd_cap: CMDCAP exists, handles come from Request Interrupt Handle. */
  readonly commandCapabilities: boolean;
  /** GENCAP.config_en. */
  readonly configurable: boolean;
  /** Implemented commands (CMDCAP, or commands 1–12 without it). */
  readonly commands: number;
  /** WQCAP.total_wq_size. */
  readonly totalWqSize: number;
  /** WQCAP.num_wqs. */
  readonly wqs: number;
  /** Bytes per WQCFG entry. */
  readonly wqcfgSize: number;
  /** WQCAP.shared_mode. */
  readonly sharedMode: boolean;
  /** WQCAP.dedicated_mode. */
  readonly dedicatedMode: boolean;
  /** GRPCAP.num_groups. */
  readonly groups: number;
  /** GRPCAP.total_rdbufs. */
  readonly readBuffers: number;
  /** GRPCAP.rdbuf_ctrl: per-group read-buffer controls. */
  readonly readBufferControl: boolean;
  /** ENGCAP.num_engines. */
  readonly engines: number;
  /** OPCAP as 8 dwords. */
  readonly opcap: readonly number[];
  /** Table offsets in BAR0 (bytes; 0 = absent). */
  readonly offsets: { readonly grpcfg: number; readonly wqcfg: number; readonly msixPerm: number; readonly ims: number; readonly perfmon: number };
  /** MSI-X as the capability describes it. */
  readonly msix: MsixInfo;
}

/** Reads the capabilities and table offsets from BAR0. */
export function probeRegisters(mmio: RegisterAccess, msix: MsixInfo): DsaDeviceInfo {
  const gencap = readRegister(mmio, GENCAP);
  const wqcap = readRegister(mmio, WQCAP);
  const grpcap = readRegister(mmio, GRPCAP);
  const offsets = readRegister(mmio, OFFSETS);
  const g = GENCAP.fields;
  const w = WQCAP.fields;
  const o = OFFSETS.fields;
  const cmdCap = unpackField(gencap, g.cmdCap) === 1;
  return Object.freeze({
    version: unpackField(readRegister(mmio, VERSION), VERSION.fields.version),
    gencap: [gencap[0] as number, gencap[1] as number] as const,
    blockOnFault: unpackField(gencap, g.blockOnFault) === 1,
    maxTransferShift: unpackField(gencap, g.maxXferShift),
    maxBatchShift: unpackField(gencap, g.maxBatchShift),
    imsEntries: unpackField(gencap, g.maxImsMult) * 256,
    commandCapabilities: cmdCap,
    configurable: unpackField(gencap, g.configEn) === 1,
    commands: cmdCap ? unpackField(readRegister(mmio, CMDCAP), CMDCAP.fields.commands) : BASE_COMMAND_MASK,
    totalWqSize: unpackField(wqcap, w.totalWqSize),
    wqs: unpackField(wqcap, w.numWqs),
    wqcfgSize: 32 << unpackField(wqcap, w.wqcfgSize),
    sharedMode: unpackField(wqcap, w.sharedMode) === 1,
    dedicatedMode: unpackField(wqcap, w.dedicatedMode) === 1,
    groups: unpackField(grpcap, GRPCAP.fields.numGroups),
    readBuffers: unpackField(grpcap, GRPCAP.fields.totalRdbufs),
    readBufferControl: unpackField(grpcap, GRPCAP.fields.rdbufCtrl) === 1,
    engines: unpackField(readRegister(mmio, ENGCAP), ENGCAP.fields.numEngines),
    opcap: Array.from(readRegister(mmio, OPCAP)),
    offsets: Object.freeze({
      grpcfg: unpackField(offsets, o.grpcfg) * TABLE_UNIT,
      wqcfg: unpackField(offsets, o.wqcfg) * TABLE_UNIT,
      msixPerm: unpackField(offsets, o.msixPerm) * TABLE_UNIT,
      ims: unpackField(offsets, o.ims) * TABLE_UNIT,
      perfmon: unpackField(offsets, o.perfmon) * TABLE_UNIT,
    }),
    msix,
  });
}
