import { DsaDevice } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { VfioIoas, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE } from '../../src/vfio/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { IdxdGuest } from '../../src/guest/index.js';

// Host: a DSA model (deterministic: it runs when stepped), its host driver, one dedicated WQ for the mdev layer.
const dsa = new DsaDevice();
const host = new IdxdHost(dsa, { wait: () => dsa.runUntilIdle() });
host.probe();
host.load({ groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true }] });
const bus = new MdevBus<VdevPortalMapping>();
const parent = new VidxdParent(host);
parent.register(bus);

// VMM: create and open a vdev, and give it the guest's memory through an IOAS.
const uuid = '0b6e1f4c-2d3a-4e5f-8a9b-0c1d2e3f4a5b';
bus.create(parent.typeId('dsa-1dwq-v1'), uuid);
const device = bus.open(uuid);
const memory = new GuestMemory(1 << 20);
const ioas = new VfioIoas();
ioas.map({ iova: 0, size: memory.size, memory, offset: 0, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE });
device.attachIoas(ioas);

// Guest: the reference driver brings the vdev up through the VFIO API and copies 4 KiB.
const guest = await IdxdGuest.open({ device, memory, poll: () => dsa.step() });
const src = guest.heap.alloc(4096);
const dst = guest.heap.alloc(4096);
memory.bytes.fill(0xab, src, src + 4096);
const done = await guest.memmove(dst, src, 4096);
console.log(done.status, memory.bytes[dst + 4095]); // 1 171
