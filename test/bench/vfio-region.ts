/**
 * VFIO region-access measurement (a script, not a test): ns per 4-byte config-space read through
 * `VfioDevice.read(pos)` (position `7 << 40 | offset`, a heap number) and through
 * `VfioDevice.readRegion(7, offset)` (small integers), on a PCI function behind the generic adapter,
 * plus the minor GCs each form causes over a fixed number of reads (a sign of per-access allocation).
 *
 * Run: `npx tsc -p test --outDir /tmp/vidxd-bench && node --expose-gc /tmp/vidxd-bench/test/bench/vfio-region.js`.
 * `vfioRegionSection` can be added to the bench's section list as it stands.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { PciFunctionBuilder } from '../../src/pci/index.js';
import { VfioDevice, pciVfioOps, regionOffset } from '../../src/vfio/index.js';
import { type BenchRow, ratePair, row } from './timing.js';

const CONFIG = 7;

function device(): VfioDevice {
  const fn = new PciFunctionBuilder({ vendorId: 0x8086, deviceId: 0x0b25, classCode: 0x088000 })
    .bar(0, { kind: 'mem64', size: 0x2000, prefetchable: true })
    .build();
  return new VfioDevice(pciVfioOps(fn));
}

/** Minor (scavenge) GCs while `body` runs. */
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

/** Rows of the VFIO region-access section. */
export async function vfioRegionSection(): Promise<BenchRow[]> {
  const dev = device();
  const buf = new Uint8Array(4);
  const base = regionOffset(CONFIG);
  let sink = 0;
  const byPosition = (n: number): void => {
    for (let i = 0; i < n; i++) sink += dev.read(base + ((i & 15) << 2), buf);
  };
  const byRegion = (n: number): void => {
    for (let i = 0; i < n; i++) sink += dev.readRegion(CONFIG, (i & 15) << 2, buf);
  };
  const [pos, reg] = ratePair(byPosition, byRegion, 3000);
  const N = 10_000_000;
  const gcPos = await scavenges(() => byPosition(N));
  const gcReg = await scavenges(() => byRegion(N));
  if (sink === 0) throw new Error('unreachable');
  return [
    row('vfio.config-read4.position', 1e9 / pos, 'ns'),
    row('vfio.config-read4.region', 1e9 / reg, 'ns', 1e9 / pos),
    row('vfio.config-read4.position.scavenges-per-10M', gcPos, 'GCs'),
    row('vfio.config-read4.region.scavenges-per-10M', gcReg, 'GCs'),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await vfioRegionSection()) {
    console.log(`${r.name.padEnd(48)} ${r.value.toFixed(2).padStart(8)} ${r.unit}${r.ratio === undefined ? '' : `  (ratio ${r.ratio.toFixed(2)})`}`);
  }
}
