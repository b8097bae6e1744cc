/**
 * The bus as sysfs shows it (`vfio-uapi.md` §10.1): `/sys/class/mdev_bus/<parent>/mdev_supported_types/
 * <type-id>/{name, description, device_api, available_instances, create, devices/}` and
 * `/sys/bus/mdev/devices/<uuid>/{mdev_type, remove}`. Paths are relative to `/sys`.
 */
import type { MdevBus } from './bus.js';

/** One sysfs entry: a readable file with its contents, a write-only file, or a symlink with its target. */
export interface SysfsEntry {
  /** Path relative to `/sys`. */
  readonly path: string;
  /** Kind of entry. */
  readonly kind: 'file' | 'write-only' | 'link';
  /** File contents as `cat` shows them (with the newline), '' for write-only files, the target of a link. */
  readonly value: string;
}

/** Every entry, sorted by path. */
export function sysfsEntries(bus: MdevBus<unknown>): SysfsEntry[] {
  const out: SysfsEntry[] = [];
  for (const parent of bus.parents()) {
    const parentDir = `class/mdev_bus/${parent.name}`;
    for (const type of parent.types) {
      const dir = `${parentDir}/mdev_supported_types/${type.id}`;
      out.push({ path: `${dir}/name`, kind: 'file', value: `${type.name}\n` });
      if (type.description !== undefined) out.push({ path: `${dir}/description`, kind: 'file', value: `${type.description}\n` });
      out.push({ path: `${dir}/device_api`, kind: 'file', value: `${type.deviceApi}\n` });
      out.push({ path: `${dir}/available_instances`, kind: 'file', value: `${type.availableInstances()}\n` });
      out.push({ path: `${dir}/create`, kind: 'write-only', value: '' });
      for (const uuid of type.devices()) out.push({ path: `${dir}/devices/${uuid}`, kind: 'link', value: `${parentDir}/${uuid}` });
    }
    for (const d of parent.devices()) {
      out.push({ path: `${parentDir}/${d.uuid}/mdev_type`, kind: 'link', value: `${parentDir}/mdev_supported_types/${d.type.id}` });
      out.push({ path: `${parentDir}/${d.uuid}/remove`, kind: 'write-only', value: '' });
    }
  }
  for (const d of bus.devices()) out.push({ path: `bus/mdev/devices/${d.uuid}`, kind: 'link', value: `class/mdev_bus/${d.parent.name}/${d.uuid}` });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The entries as `ls`-like text lines: `path` for files, `path -> target` for links, `path = contents` for readable files. */
export function formatSysfs(entries: readonly SysfsEntry[]): string {
  return entries
    .map((e) => (e.kind === 'link' ? `${e.path} -> ${e.value}` : e.kind === 'file' ? `${e.path} = ${e.value.trimEnd()}` : e.path))
    .join('\n');
}
