/**
 * The configuration the host driver applies, as plain data in the spirit of `accel-config
 * load-config`: groups with engines, WQs with mode, size, threshold, priority, block-on-fault and a
 * "mediated" marker for the WQs the mdev layer may hand out. Shape errors (ids out of range, a WQ
 * in an unknown group, non-integers) are refused here with EINVAL; everything the device checks
 * itself (sizes against the total, an engine in two groups, …) is left to the device so the error
 * carries its CMDSTS code.
 */
import { HostError } from './errors.js';
import type { DsaDeviceInfo } from './probe.js';

/** Dedicated (one owner, MOVDIR64B) or shared (several PASIDs, ENQCMD). */
export type WqMode = 'dedicated' | 'shared';

/** One group. */
export interface GroupConfig {
  /** Group index. */
  readonly id: number;
  /** Engines of the group. */
  readonly engines: readonly number[];
  /** Traffic class A (default 1, as Linux on DSA 1.x/2.x). */
  readonly tcA?: number;
  /** Traffic class B (default 1). */
  readonly tcB?: number;
  /** Read buffers reserved (default 0). */
  readonly readBuffersReserved?: number;
  /** Read buffers allowed (default: all of the device's). */
  readonly readBuffersAllowed?: number;
  /** Apply the global read-buffer limit (default false). */
  readonly useReadBufferLimit?: boolean;
}

/** One WQ. */
export interface WqSpec {
  /** WQ index. */
  readonly id: number;
  /** Group the WQ belongs to. */
  readonly group: number;
  /** Mode. */
  readonly mode: WqMode;
  /** Entries. */
  readonly size: number;
  /** Shared WQ: limited-portal threshold (default: the size). */
  readonly threshold?: number;
  /** Priority 1..15 (default 10). */
  readonly priority?: number;
  /** Block on fault (default false). */
  readonly blockOnFault?: boolean;
  /** Max transfer size, log2 (default: GENCAP's). */
  readonly maxTransferShift?: number;
  /** Max batch size, log2 (default: GENCAP's). */
  readonly maxBatchShift?: number;
  /** Dedicated WQ: PASID every descriptor uses (default: none, the requester-ID space). */
  readonly pasid?: number;
  /** Dedicated WQ with a PASID: privileged descriptors (default false). */
  readonly priv?: boolean;
  /** The mdev layer may hand this WQ out (default false). */
  readonly mediated?: boolean;
  /** A name (default `wq<device>.<id>`-like `wq<id>`). */
  readonly name?: string;
  /** Enable the WQ when the configuration is loaded (default true). */
  readonly enabled?: boolean;
}

/** A whole device configuration. */
export interface DeviceConfig {
  /** Groups (groups not listed get no WQ and no engine). */
  readonly groups: readonly GroupConfig[];
  /** WQs (WQs not listed stay unconfigured: size 0). */
  readonly wqs: readonly WqSpec[];
  /** GENCFG.rdbuf_limit (default 0). */
  readonly readBufferLimit?: number;
  /**
   * GENCFG.user_int_en: user-mode (Priv 0) descriptors of PASID WQs may request completion
   * interrupts (dsa-operations.md §2.1, RCI). Default: true when a WQ is `mediated` — a vdev's
   * descriptors run with a PASID and, unless its guest chose privileged mode, Priv 0, so without
   * it every completion interrupt they request ends in status 0x11 (Linux sets the bit for the same
   * reason when its own kernel work runs with a PASID and user privilege) — false otherwise.
   */
  readonly userInterrupts?: boolean;
}

function int(what: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new HostError('EINVAL', `${what} must be an integer in ${lo}..${hi}, not ${String(v)}`);
  }
  return v;
}

/** Checks the shape of `cfg` against what the probe found; throws `HostError` EINVAL on the first problem. */
export function validateConfig(cfg: DeviceConfig, info: DsaDeviceInfo): void {
  const groups = new Set<number>();
  for (const g of cfg.groups) {
    const id = int('group id', g.id, 0, info.groups - 1);
    if (groups.has(id)) throw new HostError('EINVAL', `group ${id} is listed twice`);
    groups.add(id);
    for (const e of g.engines) int(`group ${id}: engine`, e, 0, info.engines - 1);
    if (g.tcA !== undefined) int(`group ${id}: tcA`, g.tcA, 0, 7);
    if (g.tcB !== undefined) int(`group ${id}: tcB`, g.tcB, 0, 7);
    if (g.readBuffersReserved !== undefined) int(`group ${id}: readBuffersReserved`, g.readBuffersReserved, 0, 255);
    if (g.readBuffersAllowed !== undefined) int(`group ${id}: readBuffersAllowed`, g.readBuffersAllowed, 0, 255);
  }
  const wqs = new Set<number>();
  for (const w of cfg.wqs) {
    const id = int('WQ id', w.id, 0, info.wqs - 1);
    if (wqs.has(id)) throw new HostError('EINVAL', `WQ ${id} is listed twice`);
    wqs.add(id);
    if (!groups.has(w.group)) throw new HostError('EINVAL', `WQ ${id}: group ${String(w.group)} is not configured`);
    if (w.mode !== 'dedicated' && w.mode !== 'shared') throw new HostError('EINVAL', `WQ ${id}: mode must be "dedicated" or "shared"`);
    int(`WQ ${id}: size`, w.size, 0, 0xffff);
    if (w.threshold !== undefined) int(`WQ ${id}: threshold`, w.threshold, 0, 0xffff);
    if (w.priority !== undefined) int(`WQ ${id}: priority`, w.priority, 0, 15);
    if (w.maxTransferShift !== undefined) int(`WQ ${id}: maxTransferShift`, w.maxTransferShift, 0, 31);
    if (w.maxBatchShift !== undefined) int(`WQ ${id}: maxBatchShift`, w.maxBatchShift, 0, 15);
    if (w.pasid !== undefined) {
      if (w.mode !== 'dedicated') throw new HostError('EINVAL', `WQ ${id}: only a dedicated WQ has a fixed PASID`);
      int(`WQ ${id}: pasid`, w.pasid, 0, 0xfffff);
    }
  }
  if (cfg.readBufferLimit !== undefined) int('readBufferLimit', cfg.readBufferLimit, 0, 255);
}

/** GENCFG.user_int_en for `cfg`: as given, else on exactly when a WQ is mediated (see {@link DeviceConfig.userInterrupts}). */
export function userInterruptsOf(cfg: DeviceConfig): boolean {
  return cfg.userInterrupts ?? cfg.wqs.some((w) => w.mediated === true);
}
