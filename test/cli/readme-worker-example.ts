import { Worker } from 'node:worker_threads';
import { DsaDevice } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { VfioIoas, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE } from '../../src/vfio/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { IdxdGuest } from '../../src/guest/index.js';

// The README's VMM example, with the guest's memory in a SharedArrayBuffer.
const dsa = new DsaDevice();
const host = new IdxdHost(dsa, { wait: () => dsa.runUntilIdle() });
host.probe();
host.load({ groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true }] });
const bus = new MdevBus<VdevPortalMapping>();
const parent = new VidxdParent(host);
parent.register(bus);
const uuid = '5d0c3b7e-8f41-4a26-9c1d-7e2b4a6f0c38';
bus.create(parent.typeId('dsa-1dwq-v1'), uuid);
const device = bus.open(uuid);
const memory = new GuestMemory(1 << 20, true);
const ioas = new VfioIoas();
ioas.map({ iova: 0, size: memory.size, memory, offset: 0, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE });
device.attachIoas(ioas);
const guest = await IdxdGuest.open({ device, memory, poll: () => dsa.step() });

// Device thread: everything above. The application thread gets the guest's RAM, nothing else.
const src = guest.heap.alloc(4096); // IOVA = offset in `memory`: the IOAS maps IOVA 0 at offset 0
const dst = guest.heap.alloc(4096);
const app = new Worker(new URL('./readme-worker-app.mjs', import.meta.url), { workerData: { ram: memory.buffer, src, dst } });
app.on('message', async (msg: string) => {
  if (msg === 'filled') app.postMessage((await guest.memmove(dst, src, 4096)).status);
  else console.log(msg); // status 1, dst[4095] = 0x5a
});
