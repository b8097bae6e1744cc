/**
 * The capability profile of a DSA device model: every number the model advertises or sizes itself
 * by (vidxd-device.md §2.1, dsa-operations.md §14). The default is a Sapphire Rapids DSA 1.0 with
 * the model's full-1.0 OPCAP; every item can be replaced.
 */
import { PcieDeviceType, type PcieDeviceTypeValue } from '../../pci/spec.js';
import { DEFAULT_OPCAP } from './caps.js';

/** What a DSA device model advertises and how it is sized. */
export interface DsaProfile {
  /** PCI vendor ID. */
  readonly vendorId: number;
  /** PCI device ID. */
  readonly deviceId: number;
  /** PCI class code (24 bits). */
  readonly classCode: number;
  /** PCI revision ID. */
  readonly revision: number;
  /** PCI subsystem vendor ID. */
  readonly subsystemVendorId: number;
  /** PCI subsystem ID. */
  readonly subsystemId: number;
  /** PCI Express device/port type (default: root-complex integrated endpoint). */
  readonly pcieType: PcieDeviceTypeValue;
  /** VERSION register (0x100 = DSA 1.0). */
  readonly version: number;
  /** Number of engines (ENGCAP), 1..64. */
  readonly engines: number;
  /** Number of groups (GRPCAP), 1..64. */
  readonly groups: number;
  /** Number of work queues (WQCAP), 1..255. */
  readonly wqs: number;
  /** Total WQ entries shared among the WQs (WQCAP.total_wq_size), 1..65535. */
  readonly totalWqSize: number;
  /** GENCAP bit 0: block on fault. */
  readonly blockOnFault: boolean;
  /** GENCAP bit 1: overlapping copy. */
  readonly overlapCopy: boolean;
  /** GENCAP bit 2: cache control, memory ("write to cache"). */
  readonly cacheControlMem: boolean;
  /** GENCAP bit 3: cache control, cache (Linux `cache_control_cache`). */
  readonly cacheControlCache: boolean;
  /** GENCAP bit 4: the CMDCAP register exists and the interrupt-handle commands (13, 14) are implemented. */
  readonly commandCapabilities: boolean;
  /** GENCAP bit 8: destination readback. */
  readonly destinationReadback: boolean;
  /** GENCAP bit 9: drain readback addresses. */
  readonly drainReadback: boolean;
  /** GENCAP bits 20:16: maximum transfer size shift (≤ 31). */
  readonly maxTransferShift: number;
  /** GENCAP bits 24:21: maximum batch size shift (≤ 15). */
  readonly maxBatchShift: number;
  /** GENCAP bits 30:25: interrupt-handle (IMS) table size in units of 256 entries (0 = no IMS). */
  readonly imsMultiplier: number;
  /** GENCAP bits 63:32 as raw bits (0x40 on Sapphire Rapids: the 1.0 "descriptors per engine" field). */
  readonly gencapHigh: number;
  /** OPCAP as 8 dwords (bit n of dword k = opcode 32k + n). */
  readonly opcap: readonly number[];
  /** WQCAP bit 48: shared WQs supported. */
  readonly sharedMode: boolean;
  /** WQCAP bit 49: dedicated WQs supported. */
  readonly dedicatedMode: boolean;
  /** WQCAP bit 50: per-WQ ATS disable supported. */
  readonly wqAtsSupport: boolean;
  /** WQCAP bit 51: WQ priority supported. */
  readonly wqPriority: boolean;
  /** WQCAP bit 52: WQ occupancy reported. */
  readonly wqOccupancy: boolean;
  /** GRPCAP bits 15:8: total read buffers. */
  readonly readBuffers: number;
  /** GRPCAP bit 16: read-buffer controls (per-group reserved/allowed). */
  readonly readBufferControl: boolean;
  /** GRPCAP bit 17: global read-buffer limit (GENCFG.rdbuf_limit). */
  readonly readBufferLimit: boolean;
  /** PCI PASID capability Max PASID Width (bits). */
  readonly pasidWidth: number;
  /** PCI PASID capability: privileged mode supported. */
  readonly pasidPrivileged: boolean;
  /** PCI ATS capability invalidate queue depth (1..32). */
  readonly atsQueueDepth: number;
  /** PCI PRI capability outstanding page request capacity. */
  readonly priCapacity: number;
}

/** The default profile: Sapphire Rapids DSA 1.0 (vidxd-device.md §2.1), OPCAP of the full 1.0 set. */
export const DEFAULT_DSA_PROFILE: DsaProfile = Object.freeze({
  vendorId: 0x8086,
  deviceId: 0x0b25,
  classCode: 0x088000,
  revision: 0,
  subsystemVendorId: 0x8086,
  subsystemId: 0,
  pcieType: PcieDeviceType.ROOT_COMPLEX_INTEGRATED_ENDPOINT,
  version: 0x100,
  engines: 4,
  groups: 4,
  wqs: 8,
  totalWqSize: 128,
  blockOnFault: true,
  overlapCopy: true,
  cacheControlMem: true,
  cacheControlCache: false,
  commandCapabilities: false,
  destinationReadback: true,
  drainReadback: false,
  maxTransferShift: 31,
  maxBatchShift: 10,
  imsMultiplier: 8,
  gencapHigh: 0x40,
  opcap: DEFAULT_OPCAP,
  sharedMode: true,
  dedicatedMode: true,
  wqAtsSupport: false,
  wqPriority: true,
  wqOccupancy: true,
  readBuffers: 96,
  readBufferControl: true,
  readBufferLimit: true,
  pasidWidth: 20,
  pasidPrivileged: true,
  atsQueueDepth: 1,
  priCapacity: 1,
});

/** Commands 1–12: what a device without the Command Capabilities register implements (§14.1). */
export const BASE_COMMAND_MASK = 0x1ffe;
/** Commands 1–14: what CMDCAP advertises when GENCAP.cmd_cap = 1. */
export const FULL_COMMAND_MASK = 0x7ffe;

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`DSA profile: ${name} ${v} is outside ${lo}..${hi}`);
}

/**
 * The default profile with some items replaced. Throws a plain `Error` naming the first item that
 * is out of range (a device-building mistake).
 */
export function dsaProfile(overrides: Partial<DsaProfile> = {}): DsaProfile {
  const p: DsaProfile = Object.freeze({ ...DEFAULT_DSA_PROFILE, ...overrides });
  checkInt('vendor ID', p.vendorId, 0, 0xfffe);
  checkInt('device ID', p.deviceId, 0, 0xffff);
  checkInt('class code', p.classCode, 0, 0xffffff);
  checkInt('version', p.version, 0, 0xffffffff);
  checkInt('engines', p.engines, 1, 64);
  checkInt('groups', p.groups, 1, 64);
  checkInt('wqs', p.wqs, 1, 255);
  checkInt('total WQ size', p.totalWqSize, 1, 0xffff);
  checkInt('max transfer shift', p.maxTransferShift, 0, 31);
  checkInt('max batch shift', p.maxBatchShift, 0, 15);
  checkInt('IMS multiplier', p.imsMultiplier, 0, 63);
  checkInt('GENCAP high dword', p.gencapHigh, 0, 0xffffffff);
  checkInt('read buffers', p.readBuffers, 0, 255);
  checkInt('PASID width', p.pasidWidth, 0, 20);
  checkInt('ATS queue depth', p.atsQueueDepth, 1, 32);
  if (p.opcap.length !== 8 || p.opcap.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
    throw new Error('DSA profile: OPCAP must be 8 unsigned dwords');
  }
  if (!p.sharedMode && !p.dedicatedMode) throw new Error('DSA profile: a device needs shared or dedicated WQ support');
  if (p.wqs + 1 > 2048) throw new Error('DSA profile: too many MSI-X vectors');
  return p;
}

/** Number of MSI-X vectors: vector 0 for errors and commands, one per WQ. */
export function msixVectors(p: DsaProfile): number {
  return p.wqs + 1;
}

/** Number of entries of the interrupt-handle (IMS) table. */
export function imsEntries(p: DsaProfile): number {
  return p.imsMultiplier * 256;
}

/** Bit mask of the commands the device implements (bit n = command n). */
export function commandMask(p: DsaProfile): number {
  return p.commandCapabilities ? FULL_COMMAND_MASK : BASE_COMMAND_MASK;
}

/** GENCAP low dword of the profile (config_en is always 1: the model is configurable). */
export function gencapLow(p: DsaProfile): number {
  const b = (on: boolean, bit: number): number => (on ? 1 << bit : 0);
  return (
    (b(p.blockOnFault, 0) | b(p.overlapCopy, 1) | b(p.cacheControlMem, 2) | b(p.cacheControlCache, 3) |
      b(p.commandCapabilities, 4) | b(p.destinationReadback, 8) | b(p.drainReadback, 9) |
      (p.maxTransferShift << 16) | (p.maxBatchShift << 21) | (p.imsMultiplier << 25) | (1 << 31)) >>> 0
  );
}
