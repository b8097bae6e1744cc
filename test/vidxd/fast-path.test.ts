/**
 * The mapped-portal fast path (vidxd-device.md §7.2): descriptors written to the object `mmap` of
 * BAR2 returns reach the backing WQ with no vdev code running — a spy on every method of every
 * emulation object of the vdev records nothing per submission — and complete in the guest's memory
 * with records and interrupts on the vdev's EventFd.
 */
import { describe, expect, it } from 'vitest';
import { Status, SubmitStatus } from '../../src/dsa/index.js';
import type { Vdev } from '../../src/vidxd/index.js';
import { memmove } from '../dsa/device-fixtures.js';
import { DWQ, type Guest, openGuest, parentRig, SWQ } from './fixtures.js';

/** Replaces every method of `obj` (own and inherited, getters excluded) by a wrapper logging `name.method`. */
function spyOn(obj: object, name: string, log: string[]): void {
  const seen = new Set<string>();
  for (let proto: object | null = obj; proto !== null && proto !== Object.prototype; proto = Reflect.getPrototypeOf(proto)) {
    for (const key of Reflect.ownKeys(proto)) {
      if (typeof key !== 'string' || key === 'constructor' || seen.has(key)) continue;
      seen.add(key);
      const d = Reflect.getOwnPropertyDescriptor(proto, key);
      if (d === undefined || d.get !== undefined || typeof d.value !== 'function') continue;
      const fn = d.value as (...args: unknown[]) => unknown;
      Reflect.set(obj, key, function (this: unknown, ...args: unknown[]): unknown {
        log.push(`${name}.${key}`);
        return fn.apply(this, args);
      });
    }
  }
}

/** Spies on everything of the vdev that emulates: the vdev, its BAR handlers and regions, registers, commands, interrupts, handles, portal set, PCI function and MSI-X. */
function spyOnVdev(vdev: Vdev, log: string[]): void {
  const parts: [string, unknown][] = [
    ['vdev', vdev], ['bar0', vdev.bar0], ['bar2', vdev.bar2], ['regs', vdev.regs], ['commands', vdev.commands],
    ['interrupts', vdev.interrupts], ['ops', vdev.ops], ['pci', vdev.pci], ['msix', vdev.msix], ['config', vdev.pci.config],
    ['handles', Reflect.get(vdev, 'handles')], ['portals', Reflect.get(vdev, 'portals')],
    ...vdev.ops.regions.map((r, i): [string, unknown] => [`region${i}`, r]),
  ];
  for (const [name, obj] of parts) {
    if (typeof obj !== 'object' || obj === null) throw new Error(`${name} is not an object`);
    spyOn(obj, name, log);
  }
}

describe.each([
  ['dedicated', DWQ, 0],
  ['shared', SWQ, 1],
] as const)('the fast path of a %s vdev', (_m, type, page) => {
  it('runs no vdev code per submission; completions land in guest memory and interrupt the vdev\'s EventFd', () => {
    const rig = parentRig();
    const g: Guest = openGuest(rig, type).up({ pasid: 11, pasidEn: true });
    const h = g.handle(1);
    const portal = g.portal(page);
    for (let i = 0; i < 8; i++) g.mem.bytes.fill(0x10 + i, 0x10000 + 0x100 * i, 0x10000 + 0x100 * (i + 1));
    const descs = Array.from({ length: 8 }, (_, i) => memmove(0x10000 + 0x100 * i, 0x20000 + 0x100 * i, 0x100, { cr: 0x30000 + 32 * i, handle: h, pasid: 11 }));
    const log: string[] = [];
    spyOnVdev(g.vdev, log);
    expect(log).toEqual([]);
    for (const d of descs) expect(portal.submit(d, 0)).toBe(SubmitStatus.ACCEPTED);
    expect(log).toEqual([]);
    expect(rig.dev.occupancy(g.vdev.wq.id, g.vdev.hostPasid)).toBe(8);
    expect(rig.dev.runUntilIdle()).toBe(8);
    for (let i = 0; i < 8; i++) {
      expect(g.status(0x30000 + 32 * i)).toBe(Status.SUCCESS);
      expect(g.mem.bytes.subarray(0x20000 + 0x100 * i, 0x20100 + 0x100 * i).every((b) => b === 0x10 + i)).toBe(true);
    }
    expect(g.fds[1]?.count).toBe(8);
    expect(g.fds[0]?.count).toBe(0);
    // Completion interrupts are the vdev's only involvement: vector delivery (the MSI-X capability reads
    // its enable and mask bits from config space), never emulation.
    expect(log).toContain('interrupts.completion');
    expect(log.filter((n) => !/^(interrupts|msix|handles)\./.test(n) && !/^config\.(read|gather)$/.test(n))).toEqual([]);
  });

  it('submits in automatic mode too, with the same results', () => {
    const rig = parentRig();
    rig.dev.mode = 'automatic';
    const g = openGuest(rig, type).up({ pasid: 11, pasidEn: true });
    const h = g.handle(1);
    g.mem.bytes.fill(0x5a, 0x1000, 0x1040);
    const log: string[] = [];
    const portal = g.portal(page);
    spyOnVdev(g.vdev, log);
    expect(portal.submit(memmove(0x1000, 0x2000, 0x40, { cr: 0x3000, handle: h, pasid: 11 }), 0)).toBe(SubmitStatus.ACCEPTED);
    expect([g.status(0x3000), g.mem.bytes[0x203f], g.fds[1]?.count]).toEqual([Status.SUCCESS, 0x5a, 1]);
    expect(log.some((n) => n.startsWith('bar') || n.startsWith('regs') || n.startsWith('commands') || n.startsWith('region'))).toBe(false);
  });
});
