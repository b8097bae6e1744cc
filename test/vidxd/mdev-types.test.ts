/** The vidxd mdev parent and its types (vidxd-device.md §9; vfio-uapi.md §2, §3.3, §10). */
import { describe, expect, it } from 'vitest';
import { IdxdHost } from '../../src/host/index.js';
import { DsaDevice } from '../../src/dsa/index.js';
import { sysfsEntries } from '../../src/mdev/index.js';
import { VfioError } from '../../src/vfio/index.js';
import { DEDICATED_TYPE, SHARED_TYPE, VidxdParent } from '../../src/vidxd/index.js';
import { createVdev, DWQ, nextUuid, parentRig, SWQ } from './fixtures.js';

const available = (rig: ReturnType<typeof parentRig>, id: string): number => rig.bus.type(id)?.availableInstances() ?? -1;

describe('the types', () => {
  it('are dsa-1dwq-v1 and dsa-1swq-v1 with a name, a description, device_api vfio-pci and available_instances in sysfs', () => {
    const rig = parentRig();
    expect(rig.bus.types().map((t) => [t.id, t.name, t.deviceApi])).toEqual([
      [`idxd-${DEDICATED_TYPE}`, DEDICATED_TYPE, 'vfio-pci'],
      [`idxd-${SHARED_TYPE}`, SHARED_TYPE, 'vfio-pci'],
    ]);
    for (const t of rig.bus.types()) expect(t.description).toMatch(/dedicated|shared/);
    const files = new Map(sysfsEntries(rig.bus).map((e) => [e.path, e.value]));
    expect(files.get(`class/mdev_bus/idxd/mdev_supported_types/${DWQ}/available_instances`)).toBe('2\n');
    expect(files.get(`class/mdev_bus/idxd/mdev_supported_types/${SWQ}/available_instances`)).toBe('16\n');
    expect(files.get(`class/mdev_bus/idxd/mdev_supported_types/${SWQ}/device_api`)).toBe('vfio-pci\n');
  });

  it('give their mdev type ids without string-building: parent.typeId(type) is what the bus creates by', () => {
    const rig = parentRig();
    expect([rig.parent.typeId(DEDICATED_TYPE), rig.parent.typeId(SHARED_TYPE)]).toEqual([`idxd-${DEDICATED_TYPE}`, `idxd-${SHARED_TYPE}`]);
    for (const t of [DEDICATED_TYPE, SHARED_TYPE] as const) expect(rig.bus.type(rig.parent.typeId(t))?.name).toBe(t);
    expect(() => rig.parent.typeId('dsa-4dwq-v1' as typeof DEDICATED_TYPE)).toThrow(/no mdev type 'dsa-4dwq-v1'/);
  });

  it('count live: dedicated = free mediated DWQs; shared = slots left on mediated SWQs', () => {
    const rig = parentRig({ parent: { sharedSlots: 2 } });
    expect([available(rig, DWQ), available(rig, SWQ)]).toEqual([2, 4]);
    const d = createVdev(rig, DWQ);
    createVdev(rig, SWQ);
    expect([available(rig, DWQ), available(rig, SWQ)]).toEqual([1, 3]);
    rig.host.wq(3).disable(); // a shared WQ the host disabled offers nothing
    expect(available(rig, SWQ)).toBe(1);
    rig.bus.remove(d.uuid);
    expect(available(rig, DWQ)).toBe(2);
  });

  it('create picks the first free dedicated WQ and the least used shared WQ; never a WQ not marked mediated', () => {
    const rig = parentRig();
    expect([createVdev(rig, DWQ).vdev.wq.id, createVdev(rig, DWQ).vdev.wq.id]).toEqual([0, 1]);
    expect(() => createVdev(rig, DWQ)).toThrow(/ENOSPC/);
    expect(Array.from({ length: 6 }, () => createVdev(rig, SWQ).vdev.wq.id)).toEqual([2, 3, 2, 3, 2, 3]);
    expect(rig.host.wq(4).owner).toBeNull();
  });

  it('refuses with the mdev errors: unknown type ENOENT, duplicate UUID EEXIST, none left ENOSPC', () => {
    const rig = parentRig({ parent: { sharedSlots: 1 } });
    const uuid = nextUuid();
    rig.bus.create(SWQ, uuid);
    const errno = (body: () => unknown): string => {
      try {
        body();
        return 'none';
      } catch (e) {
        return e instanceof VfioError ? e.code : 'other';
      }
    };
    expect(errno(() => rig.bus.create('idxd-dsa-4dwq-v1', nextUuid()))).toBe('ENOENT');
    expect(errno(() => rig.bus.create(DWQ, uuid))).toBe('EEXIST');
    rig.bus.create(SWQ, nextUuid());
    expect(errno(() => rig.bus.create(SWQ, nextUuid()))).toBe('ENOSPC');
  });

  it('a parent needs a probed host driver with an interrupt-handle table', () => {
    const noIms = new DsaDevice({ profile: { ...new DsaDevice().profile, imsMultiplier: 0 } });
    const host = new IdxdHost(noIms);
    expect(() => new VidxdParent(host)).toThrow(/probed/);
    host.probe();
    expect(() => new VidxdParent(host)).toThrow(/interrupt-handle/);
  });

  it('unregistering the parent removes closed vdevs and gives their WQs back', () => {
    const rig = parentRig();
    const { vdev } = createVdev(rig, DWQ);
    rig.bus.unregisterParent('idxd');
    expect([vdev.removed, vdev.wq.owner, rig.parent.vdevs()]).toEqual([true, null, []]);
  });
});

describe('the VFIO device of a vdev', () => {
  it.each([
    ['dedicated', DWQ],
    ['shared', SWQ],
  ] as const)('%s: device info RESET|PCI, 9 regions, 5 IRQ indices, and the region table of vfio-uapi.md §3.3', (_m, type) => {
    const rig = parentRig();
    const dev = rig.bus.open(createVdev(rig, type).uuid);
    expect(dev.getInfo()).toEqual({ flags: 0x3, numRegions: 9, numIrqs: 5 });
    expect(Array.from({ length: 9 }, (_, i) => [dev.getRegionInfo(i).size, dev.getRegionInfo(i).flags])).toEqual([
      [0x2000, 0x3], [0, 0], [0x2000, 0xf], [0, 0], [0, 0], [0, 0], [0, 0], [0x1000, 0x3], [0, 0],
    ]);
    expect(() => dev.getRegionInfo(9)).toThrow(/EINVAL/);
  });
});
