/**
 * vfio-user section of the bench: the server runs in another process (`vidxd serve`), the client here.
 *
 * - `vfio-user.region.read`: 4-byte BAR0 reads, one round trip at a time (REGION_READ, 32 bytes out,
 *   36 back), through `VfioUserClient` over a plain AF_UNIX stream socket; baseline: a minimal echo
 *   server in another process answering 36 bytes to each 32-byte message over the same socket type,
 *   driven the same way (the transport floor), measured in alternating rounds.
 * - `vfio-user.memmove.64k` (fd mode): MEMMOVE of 64 KiB submitted as posted 64-byte portal writes
 *   (REGION_WRITE with NO_REPLY, as QEMU posts BAR stores), one WQ's worth (32) in flight, completion
 *   records polled in the guest memory the server maps from the client's memfd; baseline: the same
 *   descriptors through the in-process mapped portal (`portal.memmove.64k`'s path).
 * - `vfio-user.memmove.4k.nofd`: the same at 4 KiB without fds (DMA by messages); reported, no target;
 *   skipped with the reason when this build has no remote memory (`VfioIoas.mapRemote`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Desc, Flag, Opcode, SubmitStatus, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { IdxdGuest } from '../../src/guest/index.js';
import type { GuestMemory } from '../../src/memory/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VfioIoas } from '../../src/vfio/index.js';
import { loadNative, nativeUnavailableReason, VfioUserClient, VfioUserSyncDevice } from '../../src/vfio-user/index.js';
import { BenchGuest, DEDICATED_CONFIG, DWQ, nextUuid, rig } from './rig.js';
import { type BenchRow, row } from './timing.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const MEM = 4 << 20;
const SRC = 0x100000;
const DST = 0x200000;
const CRS = 0x1000;
/** Descriptors in flight: the dedicated WQ's size (never more: the WQ must not overflow). */
const BURST = 32;

/** A vidxd serve process, ready. */
async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('vidxd serve: ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`vidxd serve exited ${code}: ${out}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

/** The transport floor: another process answering 36 bytes to every 32-byte message. */
async function echoServer(path: string): Promise<ChildProcess> {
  const code = `
    const net = require('net');
    const srv = net.createServer((s) => {
      let pending = 0;
      const reply = Buffer.alloc(36);
      s.on('data', (d) => { pending += d.length; while (pending >= 32) { pending -= 32; s.write(reply); } });
    });
    srv.listen(${JSON.stringify(path)}, () => console.log('ready'));
    process.on('SIGTERM', () => srv.close(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return child;
}

/** Round trips per second of `trip` run back to back for `ms`. */
async function tripsPerSecond(trip: () => Promise<unknown>, ms: number): Promise<number> {
  for (let i = 0; i < 200; i++) await trip();
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) await trip();
    n += 64;
  }
  return (n * 1000) / (performance.now() - t0);
}

async function regionRead(dir: string): Promise<BenchRow> {
  const sock = join(dir, 'rr.sock');
  const server = await serve(['--socket', sock, '--transport', 'net']);
  const echoSock = join(dir, 'echo.sock');
  const echo = await echoServer(echoSock);
  try {
    const client = await VfioUserClient.connect(sock, { transport: 'net' });
    const buf = new Uint8Array(4);
    const read = (): Promise<number> => client.readRegion(0, 0, buf);
    const s = connect(echoSock);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const msg = new Uint8Array(32);
    let wake: (() => void) | null = null;
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 36) {
        got -= 36;
        const w = wake;
        wake = null;
        w?.();
      }
    });
    const echoTrip = (): Promise<void> => new Promise<void>((resolve) => {
      wake = resolve;
      s.write(msg);
    });
    let best = 0;
    let floor = 0;
    for (let round = 0; round < 3; round++) {
      best = Math.max(best, await tripsPerSecond(read, 500));
      floor = Math.max(floor, await tripsPerSecond(echoTrip, 500));
    }
    s.destroy();
    await client.close();
    return row('vfio-user.region.read', best, 'rt/s', floor);
  } finally {
    await stop(server);
    await stop(echo);
  }
}

/** A MEMMOVE descriptor with its completion record at `cr`. */
function memmove(size: number, cr: number): Uint8Array {
  const d = new Uint8Array(64);
  const v = new DataView(d.buffer);
  writeDescHeader(v, 0, Opcode.MEMMOVE, Flag.CRAV | Flag.RCR);
  writeDescAddr(v, 0, Desc.CR_ADDR, cr);
  writeDescAddr(v, 0, Desc.SRC, SRC);
  writeDescAddr(v, 0, Desc.DST, DST);
  v.setUint32(Desc.XFER_SIZE, size, true);
  return d;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Descriptors per second through a vdev served in another process: the reference driver brings the
 * vdev up (through the synchronous remote device), then — the device keeps its state across clients —
 * an async client in this thread maps its memory and posts portal writes, one WQ's worth at a time,
 * and polls the completion records in its own memory.
 */
async function servedMemmove(dir: string, size: number, transport: 'fd' | 'net'): Promise<number> {
  const sock = join(dir, `mm-${transport}.sock`);
  const server = await serve(['--socket', sock, '--type', 'dsa-1dwq-v1', '--transport', transport]);
  try {
    const d = VfioUserSyncDevice.open(sock, { transport, memorySize: MEM });
    d.dmaMap({ iova: 0, size: MEM, offset: 0, flags: RW });
    await IdxdGuest.open({ device: d, memory: d.memory, portal: 'trapped', completion: 'poll', heap: { iova: 0x300000, size: 0x100000 } });
    d.close();
    let c: VfioUserClient | null = null;
    for (let i = 0; c === null; i++) {
      // The server notices the first client's departure before it takes the next one.
      c = await VfioUserClient.connect(sock, { transport }).catch(async (e: unknown) => {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 10));
        return null;
      });
    }
    const client = c;
    const memory = client.allocMemory(MEM);
    await client.dmaMap({ iova: 0, size: MEM, memory, offset: 0, flags: RW });
    const mem = memory.bytes;
    const descs = Array.from({ length: BURST }, (_, i) => memmove(size, CRS + 64 * i));
    // A window of one WQ's worth: each completed slot is checked and submitted again at once, so at
    // most 32 descriptors are ever outstanding (the WQ cannot overflow) and the wire stays busy.
    let slot = 0;
    let n = 0;
    const window = async (until: number): Promise<void> => {
      for (let i = 0; i < BURST; i++) {
        mem[CRS + 64 * i] = 0;
        client.postRegionWrite(2, 0, descs[i] as Uint8Array);
      }
      for (;;) {
        for (let spin = 0; mem[CRS + 64 * slot] === 0; spin++) {
          if (spin > 1_000_000) throw new Error(`descriptor in slot ${slot} never completed`);
          await tick();
        }
        if (performance.now() >= until) break;
        // Every slot completed so far is checked and submitted again: the writes leave in one sendmsg.
        do {
          if (mem[CRS + 64 * slot] !== 1) throw new Error(`slot ${slot} completed with status 0x${(mem[CRS + 64 * slot] as number).toString(16)}`);
          n++;
          mem[CRS + 64 * slot] = 0;
          client.postRegionWrite(2, 0, descs[slot] as Uint8Array);
          slot = (slot + 1) % BURST;
        } while (mem[CRS + 64 * slot] !== 0);
      }
      // Drain the rest of the window before the next run.
      for (let k = 1; k < BURST; k++) {
        const s = (slot + k) % BURST;
        while (mem[CRS + 64 * s] === 0) await tick();
      }
      slot = 0;
    };
    // Warm both processes up (the server is a fresh process: its JIT needs a few thousand descriptors).
    await window(performance.now() + 2000);
    n = 0;
    const t0 = performance.now();
    await window(t0 + 1500);
    const r = (n * 1000) / (performance.now() - t0);
    await client.close();
    return r;
  } finally {
    await stop(server);
  }
}

/** The in-process baseline: the same descriptors through the vdev's mapped portal, deterministic model run to idle per burst. */
function inProcessMemmove(size: number): number {
  const r = rig(DEDICATED_CONFIG);
  const uuid = nextUuid();
  r.bus.create(DWQ, uuid);
  const guest = new BenchGuest(r.bus, uuid, MEM).up(false);
  const mem = (guest.mem as GuestMemory).bytes;
  const portal = guest.portal(0);
  const descs = Array.from({ length: BURST }, (_, i) => memmove(size, CRS + 64 * i));
  const burst = (): void => {
    for (let i = 0; i < BURST; i++) mem[CRS + 64 * i] = 0;
    for (const desc of descs) if (portal.submit(desc, 0) !== SubmitStatus.ACCEPTED) throw new Error('not accepted');
    r.dev.runUntilIdle();
    for (let i = 0; i < BURST; i++) if (mem[CRS + 64 * i] !== 1) throw new Error('in-process memmove failed');
  };
  for (let i = 0; i < 20; i++) burst();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) {
    burst();
    n += BURST;
  }
  return (n * 1000) / (performance.now() - t0);
}

/** Rows of the vfio-user section. */
export async function vfioUserSection(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vidxd-bench-'));
  const rows: BenchRow[] = [];
  try {
    rows.push(await regionRead(dir));
    if (loadNative() === null) {
      process.stderr.write(`bench: vfio-user.memmove.64k skipped: fd mode needs the addon (${nativeUnavailableReason()})\n`);
    } else {
      const served = await servedMemmove(dir, 64 * 1024, 'fd');
      rows.push(row('vfio-user.memmove.64k', served, 'desc/s', inProcessMemmove(64 * 1024)));
    }
    if (typeof (VfioIoas.prototype as unknown as { mapRemote?: unknown }).mapRemote !== 'function') {
      process.stderr.write('bench: vfio-user.memmove.4k.nofd skipped: this build has no remote memory (VfioIoas.mapRemote)\n');
    } else {
      rows.push(row('vfio-user.memmove.4k.nofd', await servedMemmove(dir, 4096, 'net'), 'desc/s'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
