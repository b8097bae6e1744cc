import { describe, expect, it } from 'vitest';
import { MdevBus, formatSysfs, sysfsEntries } from '../../src/mdev/index.js';
import { testParent } from './test-parent.js';

const U1 = 'd3d3d3d3-0000-4000-8000-000000000001';
const U2 = 'd3d3d3d3-0000-4000-8000-000000000002';

describe('listing parents, types and devices as sysfs shows them', () => {
  function bus(): MdevBus {
    const b = new MdevBus();
    b.registerParent(testParent('mtty', { '2': 2 }).spec);
    b.registerParent(testParent('dsa', { '1dwq-v1': 2 }, 'one dedicated WQ').spec);
    b.create('dsa-1dwq-v1', U2);
    b.create('dsa-1dwq-v1', U1);
    return b;
  }

  it('lists parents by name, types with their attributes, devices by UUID', () => {
    const b = bus();
    expect(b.parents().map((p) => p.name)).toEqual(['dsa', 'mtty']);
    expect(b.types().map((t) => [t.id, t.name, t.description, t.deviceApi, t.availableInstances(), t.devices()])).toEqual([
      ['dsa-1dwq-v1', '1dwq-v1', 'one dedicated WQ', 'vfio-pci', 0, [U1, U2]],
      ['mtty-2', '2', undefined, 'vfio-pci', 2, []],
    ]);
    expect(b.devices().map((d) => `${d.uuid} ${d.type.id}`)).toEqual([`${U1} dsa-1dwq-v1`, `${U2} dsa-1dwq-v1`]);
  });

  it('renders the sysfs tree', () => {
    const b = bus();
    b.remove(U2);
    expect(formatSysfs(sysfsEntries(b)).split('\n')).toEqual([
      `bus/mdev/devices/${U1} -> class/mdev_bus/dsa/${U1}`,
      `class/mdev_bus/dsa/${U1}/mdev_type -> class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1`,
      `class/mdev_bus/dsa/${U1}/remove`,
      'class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1/available_instances = 1',
      'class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1/create',
      'class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1/description = one dedicated WQ',
      'class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1/device_api = vfio-pci',
      `class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1/devices/${U1} -> class/mdev_bus/dsa/${U1}`,
      'class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1/name = 1dwq-v1',
      'class/mdev_bus/mtty/mdev_supported_types/mtty-2/available_instances = 2',
      'class/mdev_bus/mtty/mdev_supported_types/mtty-2/create',
      'class/mdev_bus/mtty/mdev_supported_types/mtty-2/device_api = vfio-pci',
      'class/mdev_bus/mtty/mdev_supported_types/mtty-2/name = 2',
    ]);
  });

  it('shows file contents with their newline', () => {
    const entry = sysfsEntries(bus()).find((e) => e.path.endsWith('dsa-1dwq-v1/available_instances'));
    expect(entry).toEqual({ path: 'class/mdev_bus/dsa/mdev_supported_types/dsa-1dwq-v1/available_instances', kind: 'file', value: '0\n' });
  });
});
