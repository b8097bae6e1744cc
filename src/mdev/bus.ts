/**
 * The mdev core: registers parents and their types, creates devices by UUID, opens them (one opener
 * at a time) as VFIO device handles, removes them, and tears parents down (`vfio-uapi.md` §10).
 */
import { checkDeviceOps } from '../vfio/check-ops.js';
import type { VfioDeviceOps } from '../vfio/device-ops.js';
import { VfioDevice } from '../vfio/device.js';
import { VfioError } from '../vfio/errors.js';
import { MdevDevice, MdevParent, type MdevRegistry, type MdevState, type MdevType } from './objects.js';
import type { MdevParentSpec } from './spec.js';
import { parseRemoveText, parseUuidText } from './uuid.js';

interface DeviceRecord<M> {
  state: MdevState;
  ops: VfioDeviceOps<M> | undefined;
  handle: VfioDevice<M> | null;
}

const NAME_RE = /^[^\s/]+$/;

/** The map key of a UUID argument (any case); EINVAL when it is not a string. */
function uuidKey(uuid: string, what: string): string {
  if (typeof uuid !== 'string') throw new VfioError('EINVAL', `mdev ${what}: the UUID is not a string`);
  return uuid.toLowerCase();
}

/**
 * The mdev bus: every parent, type and device. Type ids are `<parent name>-<type name>`; UUIDs are
 * unique across all parents and stored lowercase.
 *
 * @typeParam M - what the devices' mmap handlers hand out.
 */
export class MdevBus<M = unknown> {
  private readonly parentMap = new Map<string, MdevParent<M>>();
  private readonly typeMap = new Map<string, MdevType<M>>();
  private readonly deviceMap = new Map<string, MdevDevice<M>>();
  private readonly records = new Map<MdevDevice<M>, DeviceRecord<M>>();
  private readonly goingAway = new Set<MdevParent<M>>();
  private readonly registry: MdevRegistry<M> = {
    stateOf: (d) => this.records.get(d)?.state ?? 'removed',
    handleOf: (d) => this.records.get(d)?.handle ?? null,
    openDevice: (d) => this.openDevice(d),
    removeDevice: (d) => this.removeDevice(d),
    childrenOf: (p) => [...this.deviceMap.values()].filter((d) => d.parent === p).sort((a, b) => (a.uuid < b.uuid ? -1 : 1)),
    isGoingAway: (p) => this.goingAway.has(p),
  };

  /**
   * Registers a parent with its types. EEXIST when the name is taken; a malformed name or duplicate
   * type name is a plain Error.
   */
  registerParent(spec: MdevParentSpec<M>): MdevParent<M> {
    if (!NAME_RE.test(spec.name)) throw new Error(`mdev parent name ${JSON.stringify(spec.name)} is not a valid sysfs name`);
    const names = new Set<string>();
    for (const t of spec.types) {
      if (!NAME_RE.test(t.name)) throw new Error(`mdev type name ${JSON.stringify(t.name)} is not a valid sysfs name`);
      if (names.has(t.name)) throw new Error(`mdev parent ${spec.name}: duplicate type name ${t.name}`);
      names.add(t.name);
    }
    if (this.parentMap.has(spec.name)) throw new VfioError('EEXIST', `mdev parent ${spec.name} is already registered`);
    const parent = new MdevParent(this.registry, spec.name, spec.types);
    for (const t of parent.types) {
      if (this.typeMap.has(t.id)) throw new VfioError('EEXIST', `mdev type id ${t.id} is already registered`);
    }
    this.parentMap.set(parent.name, parent);
    for (const t of parent.types) this.typeMap.set(t.id, t);
    return parent;
  }

  /**
   * Unregisters a parent (§10.4): from now on create and remove on it answer ENODEV; its closed
   * children are removed; each open child has its request trigger signalled and is removed when it
   * closes. Throws EBUSY while open children remain (the parent goes once the last one closes, or on a
   * later call); ENODEV for an unknown parent.
   */
  unregisterParent(name: string): void {
    const parent = this.parentMap.get(name);
    if (parent === undefined) throw new VfioError('ENODEV', `mdev parent ${name} is not registered`);
    this.goingAway.add(parent);
    let open = 0;
    for (const d of parent.devices()) {
      const rec = this.records.get(d) as DeviceRecord<M>;
      if (rec.handle !== null) {
        rec.handle.signalRequest();
        // A request callback that closed the handle has released the device already (the parent is going away).
        if (rec.handle !== null) open++;
      } else if (rec.state === 'active') this.release(d);
    }
    if (open > 0) throw new VfioError('EBUSY', `mdev parent ${name}: ${open} device(s) still open; request signalled`);
    this.dropParent(parent);
  }

  /**
   * Creates a device of type `typeId` from the text written to sysfs `create` (§10.2, in order):
   * length 36/37 → EINVAL, not a UUID → EINVAL, unknown type → ENOENT, UUID in use → EEXIST, parent
   * going away → ENODEV, no instance left → ENOSPC. The device is at reset state.
   */
  create(typeId: string, uuidText: string): MdevDevice<M> {
    const uuid = parseUuidText(uuidText);
    const type = this.typeMap.get(typeId);
    if (type === undefined) throw new VfioError('ENOENT', `mdev type ${typeId} does not exist`);
    if (this.deviceMap.has(uuid)) throw new VfioError('EEXIST', `mdev ${uuid} already exists`);
    if (this.goingAway.has(type.parent)) throw new VfioError('ENODEV', `mdev parent ${type.parent.name} is going away`);
    if (type.availableInstances() <= 0) throw new VfioError('ENOSPC', `mdev type ${typeId}: no instance left`);
    const device = new MdevDevice(this.registry, uuid, type);
    const rec: DeviceRecord<M> = { state: 'creating', ops: undefined, handle: null };
    this.deviceMap.set(uuid, device);
    this.records.set(device, rec);
    try {
      rec.ops = type.spec.create(uuid);
      checkDeviceOps(rec.ops);
    } catch (e) {
      if (rec.ops !== undefined) type.spec.remove?.(rec.ops, uuid);
      this.forget(device);
      throw e;
    }
    rec.state = 'active';
    return device;
  }

  /**
   * Removes a device (§10.3): unknown → ENODEV; still creating or being removed → EAGAIN; parent going
   * away → ENODEV; open → EBUSY and its request trigger is signalled.
   */
  remove(uuid: string): void {
    const device = this.deviceMap.get(uuidKey(uuid, 'remove'));
    if (device === undefined) throw new VfioError('ENODEV', `mdev ${uuid} does not exist`);
    this.removeDevice(device);
  }

  /** A write of `text` to the device's sysfs `remove` file: non-numeric → EINVAL, 0 → nothing, else remove. */
  writeRemove(uuid: string, text: string): void {
    if (parseRemoveText(text)) this.remove(uuid);
  }

  /** Opens a device by UUID (§10.4): unknown or not active → ENODEV, already open → EBUSY. */
  open(uuid: string): VfioDevice<M> {
    const device = this.deviceMap.get(uuidKey(uuid, 'open'));
    if (device === undefined) throw new VfioError('ENODEV', `mdev ${uuid} does not exist`);
    return this.openDevice(device);
  }

  /** The device with this UUID (any case), if any. */
  device(uuid: string): MdevDevice<M> | undefined {
    return typeof uuid === 'string' ? this.deviceMap.get(uuid.toLowerCase()) : undefined;
  }

  /** The type with this id, if any. */
  type(typeId: string): MdevType<M> | undefined {
    return this.typeMap.get(typeId);
  }

  /** The parent with this name, if any. */
  parent(name: string): MdevParent<M> | undefined {
    return this.parentMap.get(name);
  }

  /** Registered parents, sorted by name (`/sys/class/mdev_bus`). */
  parents(): MdevParent<M>[] {
    return [...this.parentMap.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Every type of every parent, parents sorted by name, types in registration order. */
  types(): MdevType<M>[] {
    return this.parents().flatMap((p) => [...p.types]);
  }

  /** Every device, sorted by UUID (`/sys/bus/mdev/devices`). */
  devices(): MdevDevice<M>[] {
    return [...this.deviceMap.values()].sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
  }

  private openDevice(device: MdevDevice<M>): VfioDevice<M> {
    const rec = this.records.get(device);
    if (rec === undefined || rec.state !== 'active' || rec.ops === undefined) {
      throw new VfioError('ENODEV', `mdev ${device.uuid} is not an active device`);
    }
    if (this.goingAway.has(device.parent)) throw new VfioError('ENODEV', `mdev parent ${device.parent.name} is going away`);
    if (rec.handle !== null) throw new VfioError('EBUSY', `mdev ${device.uuid} is already open`);
    const handle = new VfioDevice(rec.ops, { onClose: () => this.closed(device) });
    rec.handle = handle;
    return handle;
  }

  private removeDevice(device: MdevDevice<M>): void {
    const rec = this.records.get(device);
    if (rec === undefined) throw new VfioError('ENODEV', `mdev ${device.uuid} does not exist`);
    if (rec.state !== 'active') throw new VfioError('EAGAIN', `mdev ${device.uuid} is ${rec.state}`);
    if (this.goingAway.has(device.parent)) throw new VfioError('ENODEV', `mdev parent ${device.parent.name} is going away`);
    if (rec.handle !== null) {
      rec.handle.signalRequest();
      // A request callback that closed the handle answered the request: the remove goes ahead.
      if (rec.handle !== null) throw new VfioError('EBUSY', `mdev ${device.uuid} is open; request signalled`);
      if (this.records.get(device) !== rec || rec.state !== 'active') return;
    }
    this.release(device);
  }

  private closed(device: MdevDevice<M>): void {
    const rec = this.records.get(device);
    if (rec === undefined) return;
    rec.handle = null;
    const parent = device.parent;
    if (this.goingAway.has(parent)) {
      this.release(device);
      if (parent.devices().length === 0) this.dropParent(parent);
    }
  }

  private release(device: MdevDevice<M>): void {
    const rec = this.records.get(device) as DeviceRecord<M>;
    rec.state = 'removing';
    try {
      if (rec.ops !== undefined) device.type.spec.remove?.(rec.ops, device.uuid);
    } finally {
      this.forget(device);
    }
  }

  private forget(device: MdevDevice<M>): void {
    this.deviceMap.delete(device.uuid);
    this.records.delete(device);
  }

  private dropParent(parent: MdevParent<M>): void {
    this.goingAway.delete(parent);
    this.parentMap.delete(parent.name);
    for (const t of parent.types) this.typeMap.delete(t.id);
  }
}
