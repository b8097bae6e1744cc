/**
 * The CRC-32C rows of the engine section: CRCGEN over 1 MiB through the descriptor engine next to
 * `zlib.crc32` on the same data (CRC-32, native zlib; present in Node >= 20.15, so on Node 20.20: a
 * different polynomial than CRC-32C at the same cost per byte; where it is missing the row carries no
 * baseline).
 *
 * `engine.crc32c` runs in this thread, with the CRC path the engine chose at load (the native addon
 * when it is built). `engine.crc32c.js` runs the same measurement in a Worker started with
 * `VIDXD_CRC=js` (the engine reads it once, at load), so both paths are measured in one run, each
 * next to its own `zlib.crc32` figure.
 */
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { CRC32C_IMPLEMENTATION, Desc, DescriptorEngine, ExecContext, Flag, Opcode, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { GuestMemory, Iommu, Perm } from '../../src/memory/index.js';
import { type BenchRow, rate, ratePair, row } from './timing.js';

const MEM = 4 << 20;
const CR = 0x1000;
const SRC = 0x100000;
const N = 1 << 20;

/** The CRCGEN row, measured in this thread with the engine's current CRC path. */
export function crcRow(name: string): BenchRow {
  const mem = new GuestMemory(MEM);
  const iommu = new Iommu();
  iommu.create(1).map(0, MEM, mem, 0, Perm.RW);
  const ctx = new ExecContext();
  ctx.space = iommu.space(1);
  ctx.pasid = 1;
  const desc = new Uint8Array(64);
  const view = new DataView(desc.buffer);
  const engine = new DescriptorEngine();
  for (let i = 0; i < N; i++) mem.bytes[SRC + i] = (i * 31 + 7) & 0xff;
  writeDescHeader(view, 0, Opcode.CRCGEN, Flag.CRAV | Flag.RCR);
  writeDescAddr(view, 0, Desc.CR_ADDR, CR);
  writeDescAddr(view, 0, Desc.SRC, SRC);
  view.setUint32(Desc.XFER_SIZE, N, true);
  const runCrc = (k: number): void => {
    for (let i = 0; i < k; i++) engine.execute(desc, 0, ctx);
  };
  const zcrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  const data = mem.bytes.subarray(SRC, SRC + N);
  if (zcrc === undefined) return row(name, (rate(runCrc, 1500) * N) / 1e9, 'GB/s');
  const [crc, zbase] = ratePair(runCrc, (k) => {
    for (let i = 0; i < k; i++) zcrc(data);
  });
  if (mem.view.getUint8(CR) !== 1) throw new Error('CRCGEN did not succeed');
  return row(name, (crc * N) / 1e9, 'GB/s', (zbase * N) / 1e9);
}

/** The path this thread's engine uses, for the bench's notes. */
export function crcPath(): string {
  const c = CRC32C_IMPLEMENTATION;
  return c.path === 'native' ? `native (${c.impl})` : `JavaScript (${c.reason})`;
}

/** `engine.crc32c.js`: {@link crcRow} in a Worker whose environment has `VIDXD_CRC=js`. */
export async function crcJsRow(): Promise<BenchRow> {
  const worker = new Worker(new URL('./crc-worker.js', import.meta.url), { env: { ...process.env, VIDXD_CRC: 'js' } });
  try {
    return await new Promise<BenchRow>((resolve, reject) => {
      worker.once('message', (m: BenchRow) => resolve(m));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the CRC bench worker exited with ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}
