/**
 * Live migration over vfio-user (vfio-uapi.md §11.9): the reference guest driver runs on a vdev served
 * by one process, and its VMM — through the same connection, as QEMU does — starts DMA logging
 * (DEVICE_FEATURE 6), copies guest memory using only the pages DMA_LOGGING_REPORT returns while the
 * device works, stops the device (MIG_DEVICE_STATE), reads its state with MIG_DATA_READ, writes it with
 * MIG_DATA_WRITE to a vdev served by a second process whose parent differs (other WQ index, other
 * host PASIDs and interrupt handles), and resumes it there. Guest memory is reached by messages
 * (DMA_READ/DMA_WRITE) from both servers. Every result is correct, an overlapping copy (wrong if run
 * twice) included, the page fault is resumed on the destination, the memory copied by the log equals
 * the guest's, and with interrupts (fd mode) the guest re-requested its handles.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { refCrc32c, refFill } from '../../src/cli/reference.js';
import { IdxdGuest, type GuestVfio, type PageFault } from '../../src/guest/index.js';
import {
  type IrqSetRequest, VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY, VfioError,
} from '../../src/vfio/index.js';
import { loadNative, VfioUserSyncDevice } from '../../src/vfio-user/index.js';
import { Prng } from '../util/prng.js';
import { ensureBuilt, ROOT } from './build.js';
import { socketDir } from './spawn.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const PAGE = 0x1000;
const MEM = 1 << 20;
const HOLE = 0xc2000;
const K4 = 0x1000;
const K16 = 0x4000;
const hasAddon = loadNative() !== null;

interface Server {
  readonly child: ChildProcess;
  readonly info: string;
  stop(): Promise<number | null>;
}

const running: Server[] = [];

/** Starts the migration test server (test/util/migration-server.ts) in its own process. */
async function server(socket: string, type: string, parent: 'first' | 'second', reserve: number, delay = 0): Promise<Server> {
  ensureBuilt();
  const script = join(ROOT, 'build', 'test', 'util', 'migration-server.js');
  const child = spawn(process.execPath, [script, socket, type, parent, String(reserve), String(delay)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const info = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('migration-server: ready'));
      if (line !== undefined) resolve(line);
    });
    void exited.then((code) => reject(new Error(`migration server exited (${code}): ${err}`)));
    setTimeout(() => reject(new Error(`migration server not ready in 20 s: ${err}`)), 20_000).unref();
  });
  const s = {
    child, info,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  running.push(s);
  return s;
}

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

/** Blocks this thread for `ms` (the vCPU is stopped; the servers and the connection's worker run on). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Maps the guest memory but the hole (maps without fds: the server reaches it by messages). */
function mapMemory(d: VfioUserSyncDevice, holes: ReadonlySet<number>): void {
  let start = 0;
  for (const h of [...holes].sort((a, b) => a - b)) {
    if (h > start) d.dmaMap({ iova: start, size: h - start, offset: start, flags: RW, noFd: true });
    start = h + PAGE;
  }
  if (start < MEM) d.dmaMap({ iova: start, size: MEM - start, offset: start, flags: RW, noFd: true });
}

/** A report of the whole memory as page IOVAs. */
function dirtyPages(d: VfioUserSyncDevice): number[] {
  const bitmap = d.dmaLoggingReport(0, MEM, PAGE);
  const out: number[] = [];
  for (let u = 0; u < MEM / PAGE; u++) if (((bitmap[u >>> 3] as number) >>> (u & 7)) & 1) out.push(u * PAGE);
  return out;
}

describe.each([
  ['dedicated', 'dsa-1dwq-v1'],
  ['shared', 'dsa-1swq-v1'],
] as const)('live migration of a %s vdev between two served devices in two processes', (_m, type) => {
  it('carries the guest\'s work across; the memory copied by the dirty log over the wire equals the guest\'s', async () => {
    const dir = socketDir();
    // The source runs queued work 15 ms after it is queued: work is in flight while the VMM pre-copies and at STOP.
    const s1 = await server(join(dir, 'a.sock'), type, 'first', 0, 15);
    const s2 = await server(join(dir, 'b.sock'), type, 'second', 5);
    expect(s2.info).not.toBe(s1.info);
    const sab = new SharedArrayBuffer(MEM);
    const ram = new Uint8Array(sab);
    const copy = new Uint8Array(MEM);
    const holes = new Set([HOLE]);
    const transport = hasAddon ? 'fd' : 'net';
    const completion = hasAddon ? 'interrupt' : 'poll';
    let dev = VfioUserSyncDevice.open(join(dir, 'a.sock'), { transport, memory: sab });
    mapMemory(dev, holes);
    expect(dev.migrationFlags()).toBe(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY);
    const irqSets: IrqSetRequest[] = [];
    const proxy: GuestVfio = {
      getInfo: () => dev.getInfo(),
      getRegionInfo: (i) => dev.getRegionInfo(i),
      getIrqInfo: (i) => dev.getIrqInfo(i),
      setIrqs: (req) => {
        dev.setIrqs(req);
        irqSets.push(req);
      },
      readRegion: (i, o, b) => dev.readRegion(i, o, b),
      writeRegion: (i, o, b) => dev.writeRegion(i, o, b),
      mmap: (pos, length) => dev.mmap(pos, length),
    };
    // The VMM resolves the fault only after the migration (on the destination), whenever the guest met it.
    let released = false;
    let pendingFault: (() => void) | null = null;
    const releaseFault = (): void => {
      released = true;
      pendingFault?.();
    };
    const faults: PageFault[] = [];
    const g = await IdxdGuest.open({
      device: proxy, memory: { bytes: ram }, heap: { iova: 0, size: 0xb0000 }, portal: 'trapped', completion, pasid: 0x61,
      onPageFault: (f) => {
        faults.push(f);
        return new Promise<boolean>((resolve) => {
          pendingFault = () => {
            holes.delete(HOLE);
            dev.dmaMap({ iova: HOLE, size: PAGE, offset: HOLE, flags: RW, noFd: true });
            resolve(true);
          };
          if (released) pendingFault();
        });
      },
    });
    const handlesBefore = g.interruptHandles.slice();
    const rnd = new Prng(31);
    const a = g.heap.alloc(K16);
    const b = g.heap.alloc(K16);
    const f = g.heap.alloc(K16);
    const o = g.heap.alloc(K16 + 64);
    rnd.fill(ram.subarray(a, a + K16));
    rnd.fill(ram.subarray(o, o + K16 + 64));
    const shifted = ram.slice(o, o + K16);
    rnd.fill(ram.subarray(0xb0000, 0xb0000 + K16));
    const ops = Promise.all([
      g.memmove(b, a, K16),
      g.fill(f, K16, 0x0123456789abcdefn),
      g.crc32c(a, K16),
      // An overlapping copy: run twice, it would shift the data twice.
      g.memmove(o + 64, o, K16),
      g.batch([
        { op: 'copyCrc', dst: b + K4, src: a + K4, size: K4 },
        { op: 'crc32c', src: a, size: K4, fence: true },
      ]),
      g.memmove(HOLE - 0x1f00, 0xb0000, K16),
    ]);
    for (let i = 0; i < 4; i++) await turn();

    // Pre-copy: the vCPU stays stopped (this thread blocks); the device works; only the pages the log reports are copied.
    expect(dev.dmaLoggingStart(PAGE, [{ iova: 0, length: MEM }])).toBe(PAGE);
    copy.set(ram);
    let reported = 0;
    for (let r = 0; r < 6; r++) {
      sleepSync(10);
      for (const p of dirtyPages(dev)) {
        copy.set(ram.subarray(p, p + PAGE), p);
        reported++;
      }
    }
    // Switchover. A write-back still in flight answers EAGAIN: try again.
    for (let tries = 0; ; tries++) {
      try {
        dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
        break;
      } catch (e) {
        if (!(e instanceof VfioError && e.code === 'EAGAIN') || tries > 100) throw e;
        sleepSync(2);
      }
    }
    for (const p of dirtyPages(dev)) copy.set(ram.subarray(p, p + PAGE), p);
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY);
    const stream = dev.migrationReadAll();
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(Buffer.compare(copy, ram)).toBe(0);
    expect(reported).toBeGreaterThan(0);
    const old = dev;
    const next = VfioUserSyncDevice.open(join(dir, 'b.sock'), { transport, memory: sab });
    mapMemory(next, holes);
    next.setMigrationState(VFIO_DEVICE_STATE_RESUMING);
    next.migrationWrite(stream);
    next.setMigrationState(VFIO_DEVICE_STATE_STOP);
    dev = next;
    for (const req of irqSets) dev.setIrqs(req);
    dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
    // Interrupts the source sent before it stopped reach the guest; then the source connection goes.
    for (let i = 0; i < 8; i++) await turn();
    old.dmaLoggingStop();
    old.close();

    releaseFault();
    const [mv, fl, crc, ov, batch, fmv] = await ops;
    expect(mv.status).toBe(1);
    expect(ram.subarray(b, b + K16)).toEqual(ram.subarray(a, a + K16));
    expect(fl.status).toBe(1);
    expect(ram.subarray(f, f + K16)).toEqual(refFill(K16, 0x0123456789abcdefn));
    expect(crc.crc).toBe(refCrc32c(ram.subarray(a, a + K16)));
    expect(ov.status).toBe(1);
    expect(ram.subarray(o + 64, o + 64 + K16)).toEqual(shifted);
    expect([batch.status, batch.succeeded]).toEqual([1, 2]);
    expect(fmv.faults).toBe(1);
    expect(ram.subarray(HOLE - 0x1f00, HOLE - 0x1f00 + K16)).toEqual(ram.subarray(0xb0000, 0xb0000 + K16));
    const more = await g.memmove(a, f, K16);
    expect(more.status).toBe(1);
    expect(ram.subarray(a, a + K16)).toEqual(ram.subarray(f, f + K16));
    if (completion === 'interrupt') {
      expect(g.interruptHandles).not.toEqual(handlesBefore);
      expect(g.stats.missedInterrupts).toBe(0);
    }
    await g.close();
    dev.close();
  }, 60_000);
});
