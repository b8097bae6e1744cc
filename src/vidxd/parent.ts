/**
 * The mdev parent over a DSA device owned by its host driver (vidxd-device.md §9, vfio-uapi.md §10):
 * the types `dsa-1dwq-v1` (one dedicated WQ) and `dsa-1swq-v1` (one shared WQ, several vdevs per
 * WQ) with live `available_instances`, creation (dedicated: the first free WQ; shared: the least
 * used) and removal. The WQs it hands out are those the host configuration marked `mediated`.
 */
import { HostError, type HostWq, type IdxdHost } from '../host/index.js';
import { type MdevBus, type MdevParent, type MdevParentSpec, mdevTypeId, type MdevTypeSpec } from '../mdev/index.js';
import { VFIO_DEVICE_API_PCI_STRING, type VfioDeviceOps, VfioError } from '../vfio/index.js';
import type { VdevMode } from './facts.js';
import { VDEV_DEFAULT_VECTORS, VDEV_MAX_VECTORS } from './layout.js';
import { checkSharedLimit, type SharedLimit, Vdev } from './vdev.js';
import type { VdevPortalMapping } from './portals.js';

/** Type name of a vdev with one dedicated WQ. */
export const DEDICATED_TYPE = 'dsa-1dwq-v1';
/** Type name of a vdev on a shared WQ. */
export const SHARED_TYPE = 'dsa-1swq-v1';
/** The name of one of the vdev's mdev types. */
export type VdevTypeName = typeof DEDICATED_TYPE | typeof SHARED_TYPE;

/** Options of a {@link VidxdParent}. */
export interface VidxdParentOptions {
  /** The parent's name on the mdev bus and the type-id prefix (default `idxd`). */
  readonly name?: string;
  /** MSI-X vectors of each vdev, 1..16 (default 2). */
  readonly vectors?: number;
  /** Vdevs one shared WQ takes (default 8). */
  readonly sharedSlots?: number;
  /**
   * The shared type's per-vdev occupancy limit on its shared WQ (default `'fair'`: the WQ's
   * limited-portal room divided among the vdevs enabled on it; see {@link SharedLimit}).
   */
  readonly sharedLimit?: SharedLimit;
}

/** Type names and descriptions (the sysfs `description` attribute). */
const DESCRIPTIONS: Readonly<Record<VdevMode, { readonly name: string; readonly description: string }>> = {
  dedicated: { name: DEDICATED_TYPE, description: 'DSA virtual device with one dedicated work queue (1 WQ, MOVDIR64B portal)' },
  shared: { name: SHARED_TYPE, description: 'DSA virtual device on a shared work queue (1 WQ, ENQCMD portal, own PASID)' },
};

/**
 * The vidxd mdev parent. Register `spec` with an `MdevBus` (or call {@link register}); the mdev core
 * then creates, opens and removes vdevs through the types.
 */
export class VidxdParent {
  /** The host driver of the parent device. */
  readonly host: IdxdHost;
  /** The parent's name (mdev bus directory and type-id prefix). */
  readonly name: string;
  /** MSI-X vectors of each vdev. */
  readonly vectors: number;
  /** Vdevs one shared WQ takes. */
  readonly sharedSlots: number;
  /** The shared type's per-vdev occupancy limit. */
  readonly sharedLimit: SharedLimit;
  /** What the mdev core registers. */
  readonly spec: MdevParentSpec<VdevPortalMapping>;
  private readonly byUuid = new Map<string, Vdev>();
  private readonly byOps = new Map<VfioDeviceOps<VdevPortalMapping>, Vdev>();

  /**
   * A parent over `host`, which must be probed (EPERM otherwise, from the host driver) and have an
   * interrupt-handle table (the vdevs' completion interrupts are handles; a plain `Error` otherwise,
   * as for options out of range).
   * Mediated WQs may be configured before or after: availability is evaluated live.
   */
  constructor(host: IdxdHost, options: VidxdParentOptions = {}) {
    const slots = options.sharedSlots ?? 8;
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`vidxd parent: sharedSlots ${slots} is not a positive integer`);
    const vectors = options.vectors ?? VDEV_DEFAULT_VECTORS;
    if (!Number.isInteger(vectors) || vectors < 1 || vectors > VDEV_MAX_VECTORS) {
      throw new Error(`vidxd parent: ${vectors} MSI-X vectors is outside 1..${VDEV_MAX_VECTORS}`);
    }
    if (host.info.imsEntries === 0) throw new Error('vidxd parent: the device has no interrupt-handle (IMS) table for the vdevs\' completion interrupts');
    this.host = host;
    this.name = options.name ?? 'idxd';
    this.vectors = vectors;
    this.sharedSlots = slots;
    this.sharedLimit = options.sharedLimit ?? 'fair';
    checkSharedLimit(this.sharedLimit);
    this.spec = Object.freeze({ name: this.name, types: Object.freeze([this.type('dedicated'), this.type('shared')]) });
  }

  /**
   * The mdev type id of `type` on this parent, as the bus and sysfs name it (`<parent>-<type>`, e.g.
   * `idxd-dsa-1dwq-v1`): what `bus.create` takes. A plain `Error` for a type this parent does not have.
   */
  typeId(type: VdevTypeName): string {
    if (type !== DEDICATED_TYPE && type !== SHARED_TYPE) throw new Error(`vidxd parent: no mdev type '${String(type)}' (types: ${DEDICATED_TYPE}, ${SHARED_TYPE})`);
    return mdevTypeId(this.name, type);
  }

  /** Registers the parent with `bus` (shorthand for `bus.registerParent(parent.spec)`). */
  register(bus: MdevBus<VdevPortalMapping>): MdevParent<VdevPortalMapping> {
    return bus.registerParent(this.spec);
  }

  /** The vdev with this UUID (any case), if it exists. */
  vdev(uuid: string): Vdev | undefined {
    return this.byUuid.get(uuid.toLowerCase());
  }

  /** Every live vdev, by UUID order. */
  vdevs(): Vdev[] {
    return [...this.byUuid.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
  }

  /** Backing WQs of `mode` a vdev may use now: mediated, enabled, of that mode (dedicated: not owned). */
  private candidates(mode: VdevMode): HostWq[] {
    return this.host.wqs.filter((w) => w.configured && w.mediated && w.dedicated === (mode === 'dedicated') && w.enabled &&
      (mode === 'shared' || w.owner === null));
  }

  private usersOf(wq: HostWq): number {
    let n = 0;
    for (const v of this.byUuid.values()) if (v.wq === wq && !v.revoked) n++;
    return n;
  }

  /** Live count of instances of `mode` that can still be created. */
  availableInstances(mode: VdevMode): number {
    const wqs = this.candidates(mode);
    if (mode === 'dedicated') return wqs.length;
    return wqs.reduce((n, w) => n + Math.max(0, this.sharedSlots - this.usersOf(w)), 0);
  }

  /** The WQ a new vdev of `mode` takes: the first free dedicated WQ, or the least used shared WQ (lowest index on a tie); null when none is left. */
  private pick(mode: VdevMode): HostWq | null {
    const wqs = this.candidates(mode);
    if (mode === 'dedicated') return wqs[0] ?? null;
    let best: HostWq | null = null;
    let bestUsers = this.sharedSlots;
    for (const w of wqs) {
      const u = this.usersOf(w);
      if (u < bestUsers) {
        best = w;
        bestUsers = u;
      }
    }
    return best;
  }

  private create(mode: VdevMode, uuid: string): VfioDeviceOps<VdevPortalMapping> {
    const wq = this.pick(mode);
    if (wq === null) throw new VfioError('ENOSPC', `mdev type ${DESCRIPTIONS[mode].name}: no backing WQ left`);
    let vdev: Vdev;
    try {
      vdev = new Vdev({ host: this.host, wq, vectors: this.vectors, sharedLimit: this.sharedLimit });
    } catch (e) {
      if (e instanceof HostError) {
        throw new VfioError(e.code === 'ENOSPC' ? 'ENOSPC' : e.code === 'EBUSY' ? 'EBUSY' : 'EIO', `creating the vdev on WQ ${wq.id}: ${e.message}`);
      }
      throw e;
    }
    this.byUuid.set(uuid, vdev);
    this.byOps.set(vdev.ops, vdev);
    return vdev.ops;
  }

  private remove(ops: VfioDeviceOps<VdevPortalMapping>, uuid: string): void {
    const vdev = this.byOps.get(ops);
    if (vdev === undefined) return;
    this.byOps.delete(ops);
    this.byUuid.delete(uuid);
    vdev.destroy();
  }

  private type(mode: VdevMode): MdevTypeSpec<VdevPortalMapping> {
    const d = DESCRIPTIONS[mode];
    return Object.freeze({
      name: d.name,
      description: d.description,
      deviceApi: VFIO_DEVICE_API_PCI_STRING,
      availableInstances: () => this.availableInstances(mode),
      create: (uuid: string) => this.create(mode, uuid),
      remove: (ops: VfioDeviceOps<VdevPortalMapping>, uuid: string) => this.remove(ops, uuid),
    });
  }
}
