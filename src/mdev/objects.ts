/**
 * The mdev core's objects as users see them: parents, types and devices. They are read-only views;
 * the bus (`bus.ts`) keeps every piece of state and does every operation.
 */
import { VFIO_DEVICE_API_PCI_STRING } from '../vfio/constants.js';
import type { VfioDevice } from '../vfio/device.js';
import type { MdevTypeSpec } from './spec.js';

/** Lifecycle state of an mdev (`removed` once gone from the bus). */
export type MdevState = 'creating' | 'active' | 'removing' | 'removed';

/** What the views ask the bus. */
export interface MdevRegistry<M> {
  /** Lifecycle state of a device. */
  stateOf(device: MdevDevice<M>): MdevState;
  /** The open handle of a device, or null. */
  handleOf(device: MdevDevice<M>): VfioDevice<M> | null;
  /** Opens a device. */
  openDevice(device: MdevDevice<M>): VfioDevice<M>;
  /** Removes a device. */
  removeDevice(device: MdevDevice<M>): void;
  /** Devices of a parent, sorted by UUID. */
  childrenOf(parent: MdevParent<M>): MdevDevice<M>[];
  /** True once the parent's unregistration started. */
  isGoingAway(parent: MdevParent<M>): boolean;
}

/** A registered parent. */
export class MdevParent<M = unknown> {
  /** Its types, in registration order. */
  readonly types: readonly MdevType<M>[];

  /** Builds the parent and its types. */
  constructor(
    private readonly registry: MdevRegistry<M>,
    readonly name: string,
    specs: readonly MdevTypeSpec<M>[],
  ) {
    this.types = specs.map((s) => new MdevType(this, s));
  }

  /** True once unregistration started: create and remove answer ENODEV, children go when they close. */
  get goingAway(): boolean {
    return this.registry.isGoingAway(this);
  }

  /** Its devices, sorted by UUID. */
  devices(): MdevDevice<M>[] {
    return this.registry.childrenOf(this);
  }
}

/** The id of type `typeName` of parent `parentName`, as Linux sysfs names it: `<parent>-<type>`. */
export function mdevTypeId(parentName: string, typeName: string): string {
  return `${parentName}-${typeName}`;
}

/** A type of a parent, with its sysfs attributes. */
export class MdevType<M = unknown> {
  /** `<parent name>-<type name>`. */
  readonly id: string;

  /** Builds the type. */
  constructor(
    readonly parent: MdevParent<M>,
    readonly spec: MdevTypeSpec<M>,
  ) {
    this.id = mdevTypeId(parent.name, spec.name);
  }

  /** The sysfs `name` attribute. */
  get name(): string {
    return this.spec.prettyName ?? this.spec.name;
  }

  /** The sysfs `description` attribute, if any. */
  get description(): string | undefined {
    return this.spec.description;
  }

  /** The sysfs `device_api` attribute. */
  get deviceApi(): string {
    return this.spec.deviceApi ?? VFIO_DEVICE_API_PCI_STRING;
  }

  /** The sysfs `available_instances` attribute (live, from the parent). */
  availableInstances(): number {
    return this.spec.availableInstances();
  }

  /** UUIDs of this type's devices, sorted (the type's `devices/` directory). */
  devices(): string[] {
    return this.parent
      .devices()
      .filter((d) => d.type === this)
      .map((d) => d.uuid);
  }
}

/** A mediated device, named by its lowercase UUID. */
export class MdevDevice<M = unknown> {
  /** Builds the view. */
  constructor(
    private readonly registry: MdevRegistry<M>,
    readonly uuid: string,
    readonly type: MdevType<M>,
  ) {}

  /** Its parent. */
  get parent(): MdevParent<M> {
    return this.type.parent;
  }

  /** Lifecycle state. */
  get state(): MdevState {
    return this.registry.stateOf(this);
  }

  /** True while a handle is open. */
  get isOpen(): boolean {
    return this.registry.handleOf(this) !== null;
  }

  /** Opens it and returns the VFIO device handle (ENODEV when not active, EBUSY when already open). */
  open(): VfioDevice<M> {
    return this.registry.openDevice(this);
  }

  /** Removes it (§10.3: EBUSY while open, with the request trigger signalled). */
  remove(): void {
    this.registry.removeDevice(this);
  }
}
