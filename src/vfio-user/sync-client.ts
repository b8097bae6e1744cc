/**
 * `VfioUserSyncDevice`: a remote vfio-user device with the synchronous calls of a local `VfioDevice`,
 * for code written against that API (the reference guest driver, a VMM's vCPU loop). Each call blocks
 * the calling thread until the server answered — what a vCPU does in QEMU while a region access is
 * in flight — while a worker thread owns the connection, so the server's DMA_READ/DMA_WRITE are served
 * and interrupts are received meanwhile. Interrupts reach the triggers installed with `setIrqs` on
 * this thread's event loop (when it is not blocked).
 *
 * The device owns one guest memory: in fd mode a sealed memfd mapped here and in the worker and shared
 * with the server by fd (zero copy); without the addon a SharedArrayBuffer the worker serves DMA from.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { GuestMemory } from '../memory/index.js';
import {
  BlockingCaller,
  type BlockingCallSeq,
  type DeviceInfo,
  type ErrnoName,
  ERRNO,
  fireTrigger,
  reportEmbedderError,
  type IrqInfo,
  type IrqSetRequest,
  type IrqTrigger,
  isIrqTrigger,
  type RegionInfo,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  VfioError,
  DMA_LOGGING_REPORT_SIZE,
  decodeFeatureU64,
  decodeMigState,
  encodeDmaLoggingReport,
  encodeDmaLoggingStart,
  encodeMigState,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_SET,
} from '../vfio/index.js';
import { loadNative, nativeUnavailableReason } from './native.js';
import type { TransportChoice } from './server.js';
import type { SyncAnswer, SyncCall, SyncWorkerData } from './sync-worker.js';

/** Options of {@link VfioUserSyncDevice.open}. */
export interface VfioUserSyncOptions {
  /** Transport mode (default `'auto'`). */
  readonly transport?: TransportChoice;
  /** Bytes of guest memory the device owns (default 1 MiB). */
  readonly memorySize?: number;
  /** Longest wait for one answer, in ms (default 30000); then ETIMEDOUT. */
  readonly timeoutMs?: number;
  /**
   * Guest memory to use instead of memory of the device's own: the DMA to it is served by messages
   * (DMA_READ/DMA_WRITE) in both transport modes, and several devices may share it (a VM whose device
   * is migrated from one server to another keeps its RAM). `memorySize` is then its size.
   */
  readonly memory?: SharedArrayBuffer;
}

/** The compiled worker: beside this module once built; from the TypeScript sources, the build of `tsc -p test` or `src`. */
function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'sync-worker.js')];
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      candidates.push(join(dir, 'build', 'src', 'vfio-user', 'sync-worker.js'), join(dir, 'dist', 'vfio-user', 'sync-worker.js'));
      break;
    }
  }
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) throw new Error('vfio-user: the compiled sync worker was not found (run npm run build)');
  return found;
}

/** A remote device behind synchronous calls. */
export class VfioUserSyncDevice {
  /** The guest memory the device owns (map ranges of it with {@link dmaMap}). */
  readonly memory: GuestMemory;
  /** The transport mode. */
  readonly mode: 'fd' | 'net';
  private readonly worker: Worker;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly calls: MessageChannel['port1'];
  private readonly caller: BlockingCaller;
  private readonly irqPort: MessageChannel['port1'];
  private readonly triggers = new Map<string, IrqTrigger>();
  private isClosed = false;

  private constructor(path: string, options: VfioUserSyncOptions) {
    const choice = options.transport ?? 'auto';
    const native = choice === 'net' ? null : loadNative();
    if (choice === 'fd' && native === null) throw new Error(`vfio-user fd mode needs the fd-passing addon (${nativeUnavailableReason()})`);
    const size = options.memory?.byteLength ?? options.memorySize ?? 1 << 20;
    const sab = options.memory ?? (native === null ? new SharedArrayBuffer(size) : null);
    const calls = new MessageChannel();
    const irqs = new MessageChannel();
    this.calls = calls.port1;
    this.caller = new BlockingCaller(calls.port1, () => receiveMessageOnPort(calls.port1), this.flag, options.timeoutMs ?? 30_000);
    this.irqPort = irqs.port1;
    const data: SyncWorkerData = { path, transport: native === null ? 'net' : 'fd', memorySize: size, sab, flag: this.flag, calls: calls.port2, irqs: irqs.port2 };
    this.worker = new Worker(workerFile(), { workerData: data, transferList: [calls.port2, irqs.port2] });
    this.worker.unref();
    this.irqPort.on('message', ([index, vector]: [number, number]) => {
      const t = this.triggers.get(`${index}:${vector}`);
      if (t !== undefined) {
        try {
          fireTrigger(t);
        } catch (e) {
          reportEmbedderError(e, 'interrupt-trigger');
        }
      }
    });
    this.irqPort.unref();
    const r = this.call('connect') as { mode: 'fd' | 'net'; fd: number };
    this.mode = r.mode;
    if (r.mode === 'fd' && native !== null && r.fd >= 0) {
      this.memory = new GuestMemory(native.mmap(r.fd, 0, size, true));
    } else this.memory = new GuestMemory(sab ?? new SharedArrayBuffer(size));
  }

  /** Connects to the server at `path` (blocking until the version is negotiated). */
  static open(path: string, options: VfioUserSyncOptions = {}): VfioUserSyncDevice {
    return new VfioUserSyncDevice(path, options);
  }

  /** VFIO_DEVICE_GET_INFO. */
  getInfo(): DeviceInfo {
    return this.call('getInfo') as DeviceInfo;
  }

  /** VFIO_DEVICE_GET_REGION_INFO. */
  getRegionInfo(index: number): RegionInfo {
    return this.call('getRegionInfo', index) as RegionInfo;
  }

  /** VFIO_DEVICE_GET_IRQ_INFO. */
  getIrqInfo(index: number): IrqInfo {
    return this.call('getIrqInfo', index) as IrqInfo;
  }

  /** VFIO_DEVICE_SET_IRQS; EVENTFD data is triggers (fired on this thread), or null. */
  setIrqs(req: IrqSetRequest): void {
    const dataType = req.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
    const slots = dataType === VFIO_IRQ_SET_DATA_EVENTFD && Array.isArray(req.data) ? (req.data as readonly unknown[]) : null;
    const wire = {
      flags: req.flags,
      index: req.index,
      start: req.start,
      count: req.count,
      ...(dataType === VFIO_IRQ_SET_DATA_BOOL && req.data instanceof Uint8Array ? { bools: req.data } : {}),
      ...(slots !== null ? { triggers: slots.map((s) => isIrqTrigger(s)) } : {}),
    };
    this.call('setIrqs', wire);
    if (slots !== null) {
      slots.forEach((s, i) => {
        const key = `${req.index}:${req.start + i}`;
        if (isIrqTrigger(s)) this.triggers.set(key, s);
        else this.triggers.delete(key);
      });
    } else if (req.count === 0) {
      for (const key of [...this.triggers.keys()]) if (key.startsWith(`${req.index}:`)) this.triggers.delete(key);
    }
  }

  /** REGION_READ of `buf.length` bytes. */
  readRegion(index: number, offset: number, buf: Uint8Array): number {
    buf.set(this.call('readRegion', index, offset, buf.length) as Uint8Array);
    return buf.length;
  }

  /** REGION_WRITE (answered). */
  writeRegion(index: number, offset: number, buf: Uint8Array): number {
    this.call('writeRegion', index, offset, buf.slice());
    return buf.length;
  }

  /**
   * A posted REGION_WRITE (NO_REPLY), as QEMU sends BAR stores: queued to the connection without
   * waiting (in order with every other call); errors only reach the server's log.
   */
  postRegionWrite(index: number, offset: number, buf: Uint8Array): void {
    if (this.isClosed) throw new VfioError('EBADF', 'the device handle is closed');
    this.calls.postMessage({ op: 'postRegionWrite', args: [index, offset, buf.slice()] } satisfies SyncCall);
  }

  /** Nothing is mappable over vfio-user: always EINVAL (use trapped portal writes). */
  mmap(pos: number, length: number): never {
    throw new VfioError('EINVAL', `mmap of 0x${length.toString(16)} bytes at 0x${pos.toString(16)}: no region is mappable over vfio-user`);
  }

  /** VFIO_DEVICE_RESET. */
  reset(): void {
    this.call('reset');
  }

  /** VFIO_DEVICE_FEATURE (see `VfioUserClient.feature`). */
  feature(flags: number, data: Uint8Array = new Uint8Array(0), replyData = data.length): Uint8Array {
    return this.call('feature', flags, data, replyData) as Uint8Array;
  }

  /** MIGRATION GET (see `VfioUserClient.migrationFlags`). */
  migrationFlags(): number {
    return decodeFeatureU64(this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, new Uint8Array(8)));
  }

  /** MIG_DEVICE_STATE GET. */
  migrationState(): number {
    return decodeMigState(this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, new Uint8Array(8))).deviceState;
  }

  /** MIG_DEVICE_STATE SET (see `VfioUserClient.setMigrationState`). */
  setMigrationState(state: number): void {
    this.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, encodeMigState({ deviceState: state, dataFd: -1 }));
  }

  /** MIG_DATA_SIZE GET. */
  migrationDataSize(): number {
    return decodeFeatureU64(this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, new Uint8Array(8)));
  }

  /** MIG_DATA_READ until a short read (see `VfioUserClient.migrationReadAll`). */
  migrationReadAll(): Uint8Array {
    return this.call('migrationReadAll') as Uint8Array;
  }

  /** MIG_DATA_WRITE of `bytes` (see `VfioUserClient.migrationWrite`). */
  migrationWrite(bytes: Uint8Array): void {
    this.call('migrationWrite', bytes.slice());
  }

  /** DMA_LOGGING_START (see `VfioUserClient.dmaLoggingStart`); returns the page size used. */
  dmaLoggingStart(pageSize: number, ranges: readonly { readonly iova: number; readonly length: number }[]): number {
    return decodeFeatureU64(this.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, encodeDmaLoggingStart(pageSize, ranges)));
  }

  /** DMA_LOGGING_STOP. */
  dmaLoggingStop(): void {
    this.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP);
  }

  /** DMA_LOGGING_REPORT (see `VfioUserClient.dmaLoggingReport`): the bitmap. */
  dmaLoggingReport(iova: number, length: number, pageSize: number): Uint8Array {
    return this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, encodeDmaLoggingReport(iova, length, pageSize)).subarray(DMA_LOGGING_REPORT_SIZE);
  }

  /** DMA_MAP of `[offset, offset + size)` of {@link memory} at `iova` (by fd in fd mode unless `noFd`). */
  dmaMap(m: { readonly iova: number; readonly size: number; readonly offset: number; readonly flags: number; readonly noFd?: boolean }): void {
    this.call('dmaMap', { ...m });
  }

  /** DMA_UNMAP; returns the size the server echoed. */
  dmaUnmap(req: { readonly iova: number; readonly size: number; readonly flags?: number }): number {
    return this.call('dmaUnmap', { ...req }) as number;
  }

  /** Disconnects and stops the worker. */
  close(): void {
    if (this.isClosed) return;
    try {
      this.call('close');
    } finally {
      this.isClosed = true;
      this.triggers.clear();
      this.irqPort.close();
      void this.worker.terminate();
    }
  }

  private call(op: string, ...args: unknown[]): unknown {
    if (this.isClosed) throw new VfioError('EBADF', 'the device handle is closed');
    const a = this.caller.call<SyncAnswer & BlockingCallSeq>({ op, args } satisfies SyncCall, `vfio-user ${op}`);
    if (a.ok) return a.value;
    const code = (a.code in ERRNO ? a.code : 'EIO') as ErrnoName;
    throw new VfioError(code, a.message.replace(/^E[A-Z0-9]+: /, ''));
  }
}
