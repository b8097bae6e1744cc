/**
 * Engine section of the bench: NOOP descriptors per second, MEMMOVE bandwidth next to a plain
 * `copyWithin` on the same buffer, CRC-32C (CRCGEN) next to `zlib.crc32` on the same data, on the
 * engine's CRC path (the native addon when built) and on the JavaScript path (see crc.ts).
 */
import { Desc, DescriptorEngine, ExecContext, Flag, Opcode, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { GuestMemory, Iommu, Perm } from '../../src/memory/index.js';
import { crcJsRow, crcPath, crcRow } from './crc.js';
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
export async function engineSection(): Promise<BenchRow[]> {
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

  // Said on stderr (stdout stays the table or the JSON): which path `engine.crc32c` measured when not the addon.
  if (!crcPath().startsWith('native')) process.stderr.write(`bench: engine.crc32c runs ${crcPath()}\n`);
  rows.push(crcRow('engine.crc32c'));
  rows.push(await crcJsRow());
  return rows;
}
