/**
 * Trapped vdev access measurement (a script, not a test): ns per 4-byte BAR0 read (GENSTS; and the
 * WQCFG dword whose occupancy is read live from the host WQ) and write (GENCTRL) and per 4-byte config-space read (vendor/device) and write (cache line size + latency) of
 * a dedicated vdev through `VfioDevice.readRegion` / `writeRegion`, plus the minor GCs over a fixed
 * number of accesses (a sign of per-access allocation).
 *
 * Run: `npx tsc -p test --outDir /tmp/vidxd-bench && node --expose-gc /tmp/vidxd-bench/test/bench/vidxd-trapped.js`.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DsaDevice, type Portal } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { VidxdParent } from '../../src/vidxd/index.js';
import { type BenchRow, rate, row } from './timing.js';

function openVdev() {
  const dev = new DsaDevice();
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load({ groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true }] });
  const bus = new MdevBus<Portal>();
  new VidxdParent(host).register(bus);
  const uuid = '6f1b3c2a-0d4e-4f5a-9b8c-7d6e5f4a3b2c';
  bus.create('idxd-dsa-1dwq-v1', uuid);
  return bus.open(uuid);
}

async function scavenges(body: () => void): Promise<number> {
  let count = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) count++;
  });
  obs.observe({ entryTypes: ['gc'] });
  body();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return count;
}

/** Rows of the trapped-access section. */
export async function vidxdTrappedSection(): Promise<BenchRow[]> {
  const dev = openVdev();
  const buf = new Uint8Array(4);
  const w = new Uint8Array([3, 0, 0, 0]);
  const cw = new Uint8Array([0x10, 0, 0, 0]);
  let sink = 0;
  const bar0Read = (n: number): void => {
    for (let i = 0; i < n; i++) sink += dev.readRegion(0, 0x90, buf);
  };
  const bar0Write = (n: number): void => {
    for (let i = 0; i < n; i++) sink += dev.writeRegion(0, 0x88, w);
  };
  const occRead = (n: number): void => {
    for (let i = 0; i < n; i++) sink += dev.readRegion(0, 0x518, buf);
  };
  const cfgRead = (n: number): void => {
    for (let i = 0; i < n; i++) sink += dev.readRegion(7, 0, buf);
  };
  const cfgWrite = (n: number): void => {
    for (let i = 0; i < n; i++) sink += dev.writeRegion(7, 0x0c, cw);
  };
  const rows: BenchRow[] = [];
  for (const [name, body] of [['bar0.read4', bar0Read], ['bar0.write4', bar0Write], ['bar0.read4.live-occupancy', occRead], ['config.read4', cfgRead], ['config.write4', cfgWrite]] as const) {
    rows.push(row(`vidxd.${name}`, 1e9 / rate(body, 800), 'ns'));
    rows.push(row(`vidxd.${name}.scavenges-per-10M`, await scavenges(() => body(10_000_000)), 'GCs'));
  }
  if (sink === 0) throw new Error('unreachable');
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await vidxdTrappedSection()) console.log(`${r.name.padEnd(44)} ${r.value.toFixed(2).padStart(8)} ${r.unit}`);
}
