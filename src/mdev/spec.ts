/**
 * What a parent driver supplies to the mdev core: its name and its types; each type builds and
 * releases the device operations of its instances (`vfio-uapi.md` §10.1).
 */
import type { VfioDeviceOps } from '../vfio/device-ops.js';

/** One mdev type a parent offers. */
export interface MdevTypeSpec<M = unknown> {
  /** Type name; the type id is `<parent name>-<type name>`. */
  readonly name: string;
  /** The sysfs `name` attribute (human name); defaults to the type name. */
  readonly prettyName?: string;
  /** The sysfs `description` attribute; absent = no such file. */
  readonly description?: string;
  /** The sysfs `device_api` attribute; defaults to `"vfio-pci"`. */
  readonly deviceApi?: string;
  /** Live count of instances that can still be created. */
  availableInstances(): number;
  /** Builds a new instance at reset state. May throw a VfioError (e.g. ENOSPC) to refuse. */
  create(uuid: string): VfioDeviceOps<M>;
  /** Releases an instance's resources (it is closed). */
  remove?(device: VfioDeviceOps<M>, uuid: string): void;
}

/** A parent device registering with the mdev core. */
export interface MdevParentSpec<M = unknown> {
  /** Parent name (unique on the bus): the sysfs directory under `mdev_bus` and the type-id prefix. */
  readonly name: string;
  /** The types it offers. */
  readonly types: readonly MdevTypeSpec<M>[];
}
