/**
 * A test parent for the mdev core: types whose instances are {@link TestDevice}s, with a fixed number
 * of instances each and a log of creates and removes.
 */
import type { MdevParentSpec, MdevTypeSpec } from '../../src/mdev/index.js';
import { TestDevice, type TestMapping } from '../vfio/test-device.js';

/** A test parent and what it observed. */
export interface TestParent {
  /** The spec to register. */
  readonly spec: MdevParentSpec<TestMapping>;
  /** `create <type> <uuid>` / `remove <type> <uuid>` lines. */
  readonly log: string[];
  /** Live devices by UUID. */
  readonly devices: Map<string, TestDevice>;
}

/** Builds a parent named `name` with types `name → max instances`. */
export function testParent(name: string, types: Record<string, number>, description?: string): TestParent {
  const log: string[] = [];
  const devices = new Map<string, TestDevice>();
  const live = new Map<string, number>();
  const specs: MdevTypeSpec<TestMapping>[] = Object.entries(types).map(([type, max]) => ({
    name: type,
    ...(description !== undefined ? { description } : {}),
    availableInstances: () => max - (live.get(type) ?? 0),
    create: (uuid) => {
      log.push(`create ${type} ${uuid}`);
      live.set(type, (live.get(type) ?? 0) + 1);
      const d = new TestDevice();
      devices.set(uuid, d);
      return d;
    },
    remove: (_ops, uuid) => {
      log.push(`remove ${type} ${uuid}`);
      live.set(type, (live.get(type) ?? 0) - 1);
      devices.delete(uuid);
    },
  }));
  return { spec: { name, types: specs }, log, devices };
}
