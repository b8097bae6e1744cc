/**
 * The worker thread behind {@link VfioUserSyncDevice}: it owns a {@link VfioUserClient} (and so the
 * socket, the server's DMA_READ/DMA_WRITE and the eventfd watches) and runs the calls the blocked main
 * thread posts, answering each through the port and waking the main thread (`answerBlockingCall`).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { GuestMemory } from '../memory/index.js';
import { answerBlockingCall, VfioError } from '../vfio/index.js';
import { VfioUserClient } from './client.js';
import type { TransportChoice } from './server.js';

/** What the main thread hands the worker. */
export interface SyncWorkerData {
  /** The socket path. */
  readonly path: string;
  /** The transport the main thread chose. */
  readonly transport: TransportChoice;
  /** Guest memory size. */
  readonly memorySize: number;
  /** The guest memory, shared with the main thread (no-fd mode, or memory the caller gave); null: a memfd of ours. */
  readonly sab: SharedArrayBuffer | null;
  /** The wake-up word (index 0): the sequence number of the last call answered. */
  readonly flag: Int32Array;
  /** Where the calls arrive and their answers go. */
  readonly calls: MessagePort;
  /** Where interrupts go (index, vector). */
  readonly irqs: MessagePort;
}

/** One call from the main thread. */
export interface SyncCall {
  /** The method. */
  readonly op: string;
  /** Its arguments (structured-clonable). */
  readonly args: readonly unknown[];
  /** The blocking call's sequence number; absent on a posted write (nobody waits for it). */
  readonly seq?: number;
}

/** One answer. */
export type SyncAnswer = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: string; readonly message: string };

const data = workerData as SyncWorkerData;
let client: VfioUserClient | null = null;
let memory: GuestMemory | null = null;

async function run(call: SyncCall): Promise<unknown> {
  const [a0, a1, a2] = call.args as [unknown, unknown, unknown];
  if (call.op === 'connect') {
    client = await VfioUserClient.connect(data.path, { transport: data.transport });
    if (data.sab !== null) {
      // The caller's memory (or, without the addon, ours): served by messages.
      memory = new GuestMemory(data.sab);
      return { mode: client.mode, fd: -1 };
    }
    memory = client.allocMemory(data.memorySize);
    return { mode: 'fd', fd: client.sharedFd(memory) };
  }
  const c = client;
  if (c === null) throw new VfioError('ENODEV', 'not connected');
  switch (call.op) {
    case 'getInfo':
      return c.getInfo();
    case 'getRegionInfo':
      return c.getRegionInfo(a0 as number);
    case 'getIrqInfo':
      return c.getIrqInfo(a0 as number);
    case 'readRegion': {
      const buf = new Uint8Array(a2 as number);
      await c.readRegion(a0 as number, a1 as number, buf);
      return buf;
    }
    case 'writeRegion':
      return c.writeRegion(a0 as number, a1 as number, a2 as Uint8Array);
    case 'reset':
      return c.reset();
    case 'feature':
      return c.feature(a0 as number, a1 as Uint8Array, a2 as number);
    case 'setIrqs': {
      const r = a0 as { flags: number; index: number; start: number; count: number; bools?: Uint8Array; triggers?: boolean[] };
      const triggers = r.triggers?.map((has, i) => (has ? () => data.irqs.postMessage([r.index, r.start + i]) : null));
      return c.setIrqs({ flags: r.flags, index: r.index, start: r.start, count: r.count, ...(r.bools ? { data: r.bools } : triggers ? { data: triggers } : {}) });
    }
    case 'dmaMap': {
      const m = a0 as { iova: number; size: number; offset: number; flags: number; noFd?: boolean };
      return c.dmaMap({ ...m, memory: memory as GuestMemory });
    }
    case 'migrationReadAll':
      return c.migrationReadAll();
    case 'migrationWrite':
      return c.migrationWrite(a0 as Uint8Array);
    case 'dmaUnmap':
      return c.dmaUnmap(a0 as { iova: number; size: number; flags?: number });
    case 'close':
      await c.close();
      return null;
    default:
      throw new VfioError('EINVAL', `unknown call ${call.op}`);
  }
}

data.calls.on('message', (call: SyncCall) => {
  if (call.op === 'postRegionWrite') {
    // Posted: no answer (the caller does not wait).
    const [index, offset, buf] = call.args as [number, number, Uint8Array];
    try {
      client?.postRegionWrite(index, offset, buf);
    } catch {
      // Disconnected: the next waited-for call reports it.
    }
    return;
  }
  const seq = call.seq ?? 0;
  run(call).then(
    (value) => answerBlockingCall(data.calls, data.flag, seq, { ok: true, value } satisfies SyncAnswer),
    (e: unknown) =>
      answerBlockingCall(data.calls, data.flag, seq, { ok: false, code: e instanceof VfioError ? e.code : 'EIO', message: e instanceof Error ? e.message : String(e) } satisfies SyncAnswer),
  );
});
parentPort?.postMessage('ready');
