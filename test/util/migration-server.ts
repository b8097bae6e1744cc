/**
 * A vfio-user server for the migration tests, run in its own process:
 * `node build/test/util/migration-server.js SOCKET TYPE PARENT [RESERVE [DELAY]]`. It builds a DSA model
 * (automatic mode; with DELAY, queued work runs DELAY ms after it was queued, so a test sees work in
 * flight) whose host driver is configured as the `first` or `second` parent of the
 * migration tests — the second one has its mediated WQs at other indices — takes `RESERVE` host
 * PASIDs and interrupt handles for the host itself (so the vdev's numbers differ from a fresh parent's),
 * creates one vdev of TYPE (`dsa-1dwq-v1` or `dsa-1swq-v1`), opens it and serves it on SOCKET. It
 * prints `migration-server: ready` once listening, and exits 0 on SIGTERM.
 */
import { DsaDevice } from '../../src/dsa/index.js';
import { type DeviceConfig, IdxdHost } from '../../src/host/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { VfioUserServer } from '../../src/vfio-user/index.js';

const FIRST: DeviceConfig = {
  groups: [{ id: 0, engines: [0, 1, 2, 3] }],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true },
    { id: 1, group: 0, mode: 'shared', size: 32, threshold: 24, mediated: true },
  ],
};

const SECOND: DeviceConfig = {
  groups: [{ id: 0, engines: [0] }, { id: 1, engines: [1, 2, 3] }],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 8 },
    { id: 3, group: 1, mode: 'dedicated', size: 16, mediated: true },
    { id: 5, group: 1, mode: 'shared', size: 32, threshold: 24, mediated: true },
  ],
};

async function main(): Promise<void> {
  const [socket, type, which, reserveText, delayText] = process.argv.slice(2);
  if (socket === undefined || (type !== 'dsa-1dwq-v1' && type !== 'dsa-1swq-v1') || (which !== 'first' && which !== 'second')) {
    process.stderr.write('usage: migration-server SOCKET dsa-1dwq-v1|dsa-1swq-v1 first|second [RESERVE [DELAY]]\n');
    process.exit(2);
  }
  const delay = Number(delayText ?? 0);
  const dev = new DsaDevice({ mode: 'automatic', schedule: delay > 0 ? (run) => void setTimeout(run, delay) : undefined });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(which === 'first' ? FIRST : SECOND);
  const reserve = Number(reserveText ?? 0);
  for (let i = 0; i < reserve; i++) {
    host.allocatePasid(null);
    host.allocInterruptHandle(() => {}, null);
  }
  const parent = new VidxdParent(host);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  const uuid = '3b0ad1a5-0000-4000-8000-0000000000aa';
  bus.create(`${parent.name}-${type}`, uuid);
  const vdev = parent.vdev(uuid);
  const server = new VfioUserServer(bus.open(uuid), { log: () => undefined });
  await server.listen(socket);
  process.stdout.write(`migration-server: ready wq=${vdev?.wq.id ?? -1} pasid=${vdev?.hostPasid ?? -1}\n`);
  process.on('SIGTERM', () => {
    void server.close().then(() => process.exit(0));
  });
}

void main();
