/**
 * Engine section of the bench: NOOP descriptors per second, MEMMOVE bandwidth next to a plain
 * `copyWithin` on the same buffer, CRC-32C (CRCGEN) next to `zlib.crc32` on the same data.
 *
 * Baseline of `engine.crc32c`: `zlib.crc32` (CRC-32, native zlib; present in Node >= 20.15, so on
 * Node 20.20). It computes a different polynomial than CRC-32C but costs the same per byte; where
 * it is missing the row carries no baseline.
 */
import * as zlib from 'node:zlib';
import { Desc, DescriptorEngine, ExecContext, Flag, Opcode, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { GuestMemory, Iommu, Perm } from '../../src/memory/index.js';
import { type BenchRow, rate, ratePair, row } from './timing.js';

const MEM = 8 << 20;
const CR = 0x1000;
const SRC = 0x100000;
const DST = 0x400000;

function setup(): { mem: GuestMemory; engine: DescriptorEngine; ctx: ExecContext; desc: Uint8Array; view: DataView } {
  const mem = new GuestMemory(MEM);
  const iommu = new Iommu();
  iommu.create(1).map(0, MEM, mem, 0, Perm.RW);
  const ctx = new ExecContext();
  ctx.space = iommu.space(1);
  ctx.pasid = 1;
  const desc = new Uint8Array(64);
  return { mem, engine: new DescriptorEngine(), ctx, desc, view: new DataView(desc.buffer) };
}

/** Rows of the engine section. */
export function engineSection(): BenchRow[] {
  const rows: BenchRow[] = [];
  const { mem, engine, ctx, desc, view } = setup();
  const crFlags = Flag.CRAV | Flag.RCR;

  writeDescHeader(view, 0, Opcode.NOOP, crFlags);
  writeDescAddr(view, 0, Desc.CR_ADDR, CR);
  const noop = rate((n) => {
    for (let i = 0; i < n; i++) engine.execute(desc, 0, ctx);
  });
  rows.push(row('engine.noop', noop, 'desc/s'));

  for (const [label, size] of [['4k', 4096], ['64k', 65536], ['1m', 1 << 20]] as const) {
    desc.fill(0);
    writeDescHeader(view, 0, Opcode.MEMMOVE, crFlags);
    writeDescAddr(view, 0, Desc.CR_ADDR, CR);
    writeDescAddr(view, 0, Desc.SRC, SRC);
    writeDescAddr(view, 0, Desc.DST, DST);
    view.setUint32(Desc.XFER_SIZE, size, true);
    const bytes = mem.bytes;
    const [engRate, baseRate] = ratePair(
      (n) => {
        for (let i = 0; i < n; i++) engine.execute(desc, 0, ctx);
      },
      (n) => {
        for (let i = 0; i < n; i++) bytes.copyWithin(DST, SRC, SRC + size);
      },
      3000,
    );
    const eng = (engRate * size) / 1e9;
    const base = (baseRate * size) / 1e9;
    if (mem.view.getUint8(CR) !== 1) throw new Error('MEMMOVE did not succeed');
    rows.push(row(`engine.memmove.${label}`, eng, 'GB/s', base));
  }

  const n = 1 << 20;
  for (let i = 0; i < n; i++) mem.bytes[SRC + i] = (i * 31 + 7) & 0xff;
  desc.fill(0);
  writeDescHeader(view, 0, Opcode.CRCGEN, crFlags);
  writeDescAddr(view, 0, Desc.CR_ADDR, CR);
  writeDescAddr(view, 0, Desc.SRC, SRC);
  view.setUint32(Desc.XFER_SIZE, n, true);
  const runCrc = (k: number): void => {
    for (let i = 0; i < k; i++) engine.execute(desc, 0, ctx);
  };
  const zcrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  const data = mem.bytes.subarray(SRC, SRC + n);
  if (zcrc === undefined) {
    rows.push(row('engine.crc32c', (rate(runCrc, 1500) * n) / 1e9, 'GB/s'));
  } else {
    const [crc, zbase] = ratePair(runCrc, (k) => {
      for (let i = 0; i < k; i++) zcrc(data);
    });
    rows.push(row('engine.crc32c', (crc * n) / 1e9, 'GB/s', (zbase * n) / 1e9));
  }
  return rows;
}
