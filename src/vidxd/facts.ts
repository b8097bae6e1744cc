/**
 * What a vdev presents that comes from outside it (vidxd-device.md §3.1, §4, §6): the parent's
 * identity and capabilities as its host driver probed them, and the backing WQ and its group as the
 * host driver configured them. Gathered once, when the vdev is created, as plain data the register
 * table and the PCI function are built from.
 */
import { Header } from '../pci/index.js';
import type { HostWq, IdxdHost } from '../host/index.js';

/** The two kinds of vdev: one dedicated WQ (`dsa-1dwq-v1`) or a share of one shared WQ (`dsa-1swq-v1`). */
export type VdevMode = 'dedicated' | 'shared';

/** The parent's and the backing WQ's values a vdev presents. */
export interface VdevFacts {
  /** Dedicated or shared backing WQ. */
  readonly mode: VdevMode;
  /** MSI-X vectors of the vdev (vector 0 emulated, the others completion vectors). */
  readonly vectors: number;
  /** Parent PCI device ID. */
  readonly deviceId: number;
  /** Parent PCI revision ID. */
  readonly revision: number;
  /** Parent VERSION. */
  readonly version: number;
  /** Parent GENCAP, low and high dwords. */
  readonly gencap: readonly [number, number];
  /** Parent OPCAP, 8 dwords. */
  readonly opcap: readonly number[];
  /** Backing WQ size. */
  readonly wqSize: number;
  /** Backing WQ threshold (0 for a dedicated WQ). */
  readonly wqThreshold: number;
  /** Backing WQ priority. */
  readonly wqPriority: number;
  /** Backing WQ block on fault. */
  readonly wqBlockOnFault: boolean;
  /** Backing WQ max transfer shift. */
  readonly wqMaxTransferShift: number;
  /** Backing WQ max batch shift. */
  readonly wqMaxBatchShift: number;
  /** Engines in the backing WQ's group. */
  readonly engines: number;
  /** GRPFLAGS of the backing WQ's group (two dwords). */
  readonly groupFlags: readonly [number, number];
  /** The parent's GENCFG.user_int_en: whether the backing WQ lets Priv-0 PASID descriptors request completion interrupts. */
  readonly userInterrupts: boolean;
}

/** Reads the facts of a vdev of `mode` with `vectors` vectors backed by `wq` of the device `host` drives. */
export function vdevFacts(host: IdxdHost, wq: HostWq, mode: VdevMode, vectors: number): VdevFacts {
  const info = host.info;
  const cfg = host.device.pci.config;
  const [flagsLo, flagsHi] = wq.groupFlags;
  return Object.freeze({
    mode,
    vectors,
    deviceId: cfg.read(Header.DEVICE_ID, 2),
    revision: cfg.read(Header.REVISION_ID, 1),
    version: info.version,
    gencap: Object.freeze([info.gencap[0], info.gencap[1]] as const),
    opcap: Object.freeze(info.opcap.slice(0, 8)),
    wqSize: wq.size,
    wqThreshold: wq.threshold,
    wqPriority: wq.priority,
    wqBlockOnFault: wq.blockOnFault,
    wqMaxTransferShift: wq.maxTransferShift,
    wqMaxBatchShift: wq.maxBatchShift,
    engines: wq.engines,
    groupFlags: Object.freeze([flagsLo, flagsHi] as const),
    userInterrupts: host.userInterrupts,
  });
}
