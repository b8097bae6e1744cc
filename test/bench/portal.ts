/**
 * Fast-path section of the bench: descriptors submitted through a vdev's mapped portal (the object
 * `VfioDevice.mmap` returns) and completed by the device model in deterministic mode, run until idle
 * after each batch of up to one WQ's worth, single thread.
 *
 * `portal.noop` is measured against the data engine executing the same 64-byte NOOP directly
 * (`engine.noop` of the same run, in interleaved batches), so the ratio is the cost of the portal,
 * WQ ring, arbitration and mediation. `portal.memmove.*` is measured against `copyWithin` of the same
 * size on the same guest memory.
 */
import { Desc, DescriptorEngine, ExecContext, Flag, Opcode, type Portal, SubmitStatus, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { GuestMemory, Iommu, Perm } from '../../src/memory/index.js';
import { BenchGuest, DEDICATED_CONFIG, DWQ, nextUuid, rig, type Rig } from './rig.js';
import { type BenchRow, ratePair, row } from './timing.js';

/** Guest memory of the portal rigs (also the cross-thread section's). */
export const MEM = 4 << 20;
/** Where the bench descriptors' completion record is. */
export const CR = 0x1000;
/** MEMMOVE source. */
export const SRC = 0x100000;
/** MEMMOVE destination. */
export const DST = 0x200000;
/** Descriptors submitted between two runs to idle: the dedicated WQ's size. */
const BURST = (DEDICATED_CONFIG.wqs[0] as { readonly size: number }).size;

/** A NOOP or MEMMOVE descriptor asking for a completion record at {@link CR}. */
export function descriptor(op: number, size: number): Uint8Array {
  const d = new Uint8Array(64);
  const v = new DataView(d.buffer);
  writeDescHeader(v, 0, op, Flag.CRAV | Flag.RCR);
  writeDescAddr(v, 0, Desc.CR_ADDR, CR);
  if (op === Opcode.MEMMOVE) {
    writeDescAddr(v, 0, Desc.SRC, SRC);
    writeDescAddr(v, 0, Desc.DST, DST);
    v.setUint32(Desc.XFER_SIZE, size, true);
  }
  return d;
}

/** Submits `n` copies of `desc` through `portal`, running the device to idle after each burst. */
export function submitter(r: Rig, portal: Pick<Portal, 'submit'>, desc: Uint8Array): (n: number) => void {
  const dev = r.dev;
  return (n: number): void => {
    let left = n;
    while (left > 0) {
      const k = left < BURST ? left : BURST;
      for (let i = 0; i < k; i++) {
        if (portal.submit(desc, 0) !== SubmitStatus.ACCEPTED) throw new Error('portal submission not accepted');
      }
      dev.runUntilIdle();
      left -= k;
    }
  };
}

/** The engine alone with the same memory layout, for the `engine.noop` baseline. */
function directEngine(): (desc: Uint8Array) => (n: number) => void {
  const mem = new GuestMemory(MEM);
  const iommu = new Iommu();
  iommu.create(1).map(0, MEM, mem, 0, Perm.RW);
  const ctx = new ExecContext();
  ctx.space = iommu.space(1);
  ctx.pasid = 1;
  const engine = new DescriptorEngine();
  return (desc) => (n) => {
    for (let i = 0; i < n; i++) engine.execute(desc, 0, ctx);
  };
}

/** Rows of the fast-path section. */
export function portalSection(): BenchRow[] {
  const r = rig(DEDICATED_CONFIG);
  const uuid = nextUuid();
  r.bus.create(DWQ, uuid);
  const guest = new BenchGuest(r.bus, uuid, MEM).up(false);
  const mem = guest.mem as GuestMemory;
  const portal = guest.portal(0);
  const rows: BenchRow[] = [];

  const noop = descriptor(Opcode.NOOP, 0);
  const [viaPortal, direct] = ratePair(submitter(r, portal, noop), directEngine()(noop), 3000);
  if (mem.bytes[CR] !== 1) throw new Error('NOOP through the portal did not succeed');
  rows.push(row('portal.noop', viaPortal, 'desc/s', direct));

  const bytes = mem.bytes;
  for (let i = 0; i < 1 << 20; i++) bytes[SRC + i] = (i * 31 + 7) & 0xff;
  for (const [label, size, budget] of [['4k', 4096, 2000], ['64k', 65536, 2000], ['1m', 1 << 20, 3000]] as const) {
    mem.bytes[CR] = 0;
    const [move, copy] = ratePair(
      submitter(r, portal, descriptor(Opcode.MEMMOVE, size)),
      (n) => {
        for (let i = 0; i < n; i++) bytes.copyWithin(DST, SRC, SRC + size);
      },
      budget,
    );
    if (mem.bytes[CR] !== 1) throw new Error(`MEMMOVE ${label} through the portal did not succeed`);
    rows.push(row(`portal.memmove.${label}`, (move * size) / 1e9, 'GB/s', (copy * size) / 1e9));
  }
  return rows;
}
