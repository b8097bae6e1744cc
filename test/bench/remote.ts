/**
 * Remote-memory section of the bench: what the device model itself costs over memory reached only by
 * messages, the transport left out (the port answers in the same thread as soon as it is asked, so the
 * rows measure fetch bookkeeping, unwound attempts, the write journal and the commit — not a socket).
 *
 * `remote.memmove.4k`: 4 KiB MEMMOVEs over a space that is all remote (record page, source and
 * destination fetched, three attempts, data and record written back), against the same descriptor
 * over ordinary memory, in descriptors per second. `remote.memmove.64k.mixed`: a 64 KiB MEMMOVE over
 * ordinary memory in a space that also holds a remote mapping (as a vfio-user client maps guest RAM
 * with fds and ROM without): every write then goes through the transaction's private copy. No goals:
 * the transport dominates the first, the second is reported so its cost is known.
 */
import { Desc, DescriptorEngine, ExecContext, Flag, Opcode, PARKED, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { GuestMemory, IoAddressSpace, Perm, RemoteRegion, type RemoteMemoryPort } from '../../src/memory/index.js';
import { type BenchRow, ratePair, row } from './timing.js';

const MEM = 4 << 20;
const CR = 0x1000;
const SRC = 0x100000;
const DST = 0x200000;

/** A port over `bytes` that keeps its requests until {@link answer} (same thread, no copy beyond the answer). */
class InstantPort implements RemoteMemoryPort {
  private readonly reads: [number, number, (b: Uint8Array | null) => void][] = [];
  private readonly writes: ((ok: boolean) => void)[] = [];
  constructor(private readonly bytes: Uint8Array) {}
  read(iova: number, length: number, done: (b: Uint8Array | null) => void): void {
    this.reads.push([iova, length, done]);
  }
  write(iova: number, data: Uint8Array, done: (ok: boolean) => void): void {
    this.bytes.set(data, iova);
    this.writes.push(done);
  }
  answer(): void {
    for (const [iova, length, done] of this.reads.splice(0)) done(this.bytes.slice(iova, iova + length));
    for (const done of this.writes.splice(0)) done(true);
  }
}

function memmoveDesc(size: number): Uint8Array {
  const d = new Uint8Array(64);
  const v = new DataView(d.buffer);
  writeDescHeader(v, 0, Opcode.MEMMOVE, Flag.CRAV | Flag.RCR);
  writeDescAddr(v, 0, Desc.CR_ADDR, CR);
  writeDescAddr(v, 0, Desc.SRC, SRC);
  writeDescAddr(v, 0, Desc.DST, DST);
  v.setUint32(Desc.XFER_SIZE, size, true);
  return d;
}

function engineOver(space: IoAddressSpace): { engine: DescriptorEngine; ctx: ExecContext } {
  const ctx = new ExecContext();
  ctx.space = space;
  return { engine: new DescriptorEngine(), ctx };
}

/** Rows of the remote section. */
export function remoteSection(): BenchRow[] {
  const rows: BenchRow[] = [];
  const mem = new GuestMemory(MEM);
  const local = new IoAddressSpace();
  local.map(0, MEM, mem, 0, Perm.RW);
  const peer = new GuestMemory(MEM);
  const port = new InstantPort(peer.bytes);
  const remote = new IoAddressSpace();
  remote.mapRemote(new RemoteRegion(port, 0, MEM, Perm.RW));
  const mixed = new IoAddressSpace();
  mixed.map(0, MEM, mem, 0, Perm.RW);
  mixed.mapRemote(new RemoteRegion(port, MEM, 0x10000, Perm.READ));

  const d4 = memmoveDesc(4096);
  const l = engineOver(local);
  const r = engineOver(remote);
  const [remoteRate, localRate] = ratePair(
    (n) => {
      for (let i = 0; i < n; i++) {
        let st = r.engine.execute(d4, 0, r.ctx);
        while (st === PARKED) {
          const held = r.engine.takeHeld();
          port.answer();
          st = r.engine.resume(held as NonNullable<typeof held>, r.ctx);
        }
        r.engine.takeHeld();
        port.answer();
      }
    },
    (n) => {
      for (let i = 0; i < n; i++) l.engine.execute(d4, 0, l.ctx);
    },
  );
  if (peer.view.getUint8(CR) !== 1) throw new Error('remote MEMMOVE did not succeed');
  rows.push(row('remote.memmove.4k', remoteRate, 'desc/s', localRate));

  const d64 = memmoveDesc(65536);
  const m = engineOver(mixed);
  const [mixedRate, plainRate] = ratePair(
    (n) => {
      for (let i = 0; i < n; i++) m.engine.execute(d64, 0, m.ctx);
    },
    (n) => {
      for (let i = 0; i < n; i++) l.engine.execute(d64, 0, l.ctx);
    },
  );
  if (mem.view.getUint8(CR) !== 1) throw new Error('mixed MEMMOVE did not succeed');
  rows.push(row('remote.memmove.64k.mixed', (mixedRate * 65536) / 1e9, 'GB/s', (plainRate * 65536) / 1e9));
  return rows;
}
