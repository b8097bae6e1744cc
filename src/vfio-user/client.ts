/**
 * `VfioUserClient`: a JavaScript VMM's side of vfio-user. It attaches to a remote device and offers the
 * device calls of a local `VfioDevice` — region info and access, IRQ info and SET_IRQS with triggers,
 * reset, device features — plus DMA maps of its own memory, as promises (every call is a round trip).
 * `postRegionWrite` is the posted write QEMU uses for BAR stores (NO_REPLY). The client answers the
 * server's DMA_READ / DMA_WRITE from the memory it mapped, and in fd mode shares memory it allocated
 * with {@link VfioUserClient.allocMemory} by file descriptor and turns each installed trigger into an
 * eventfd it watches.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { GuestMemory } from '../memory/index.js';
import {
  decodeDeviceInfo,
  decodeIrqInfo,
  decodeRegionInfo,
  type DeviceInfo,
  encodeIrqSet,
  fireTrigger,
  reportEmbedderError,
  type IrqInfo,
  type IrqSetRequest,
  type IrqTrigger,
  isIrqTrigger,
  type RegionInfo,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  VfioError,
  errnoName,
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
import { type Channel, FdChannel, NetChannel } from './channel.js';
import {
  decodeDmaAccess,
  decodeDmaUnmapMessage,
  decodeRegionAccess,
  decodeVersion,
  DMA_ACCESS_SIZE,
  encodeDmaMapMessage,
  encodeDmaUnmapMessage,
  encodeVersion,
  type PeerCapabilities,
  REGION_ACCESS_SIZE,
  writeRegionAccess,
} from './messages.js';
import { loadNative, type NativeFd, type NativeWatch, nativeUnavailableReason } from './native.js';
import {
  encodeErrorReply,
  FLAG_ERROR,
  FLAG_NO_REPLY,
  FLAG_TYPE_COMMAND,
  FLAG_TYPE_MASK,
  FLAG_TYPE_REPLY,
  HEADER_SIZE,
  MAX_DATA_XFER_SIZE,
  MAX_MESSAGE_SIZE,
  type MessageHeader,
  VfioUserCommand as Cmd,
  writeHeader,
} from './protocol.js';
import { MessageReader } from './reader.js';
import type { TransportChoice } from './server.js';

/** Options of {@link VfioUserClient.connect}. */
export interface VfioUserClientOptions {
  /** Transport mode (default `'auto'`: fd mode when the addon loads). */
  readonly transport?: TransportChoice;
  /** The client's `max_data_xfer_size` proposal (default 1 MiB): the largest DMA_READ/WRITE the server may send. */
  readonly maxDataXferSize?: number;
  /** Propose `write_multiple` (default false). */
  readonly writeMultiple?: boolean;
  /** Told once when the connection ends (with the reason). */
  readonly onDisconnect?: (reason: string) => void;
}

/** A DMA map of the client's memory. */
export interface ClientDmaMap {
  /** First IOVA (4 KiB aligned). */
  readonly iova: number;
  /** Length in bytes (a multiple of 4 KiB). */
  readonly size: number;
  /** The memory (from {@link VfioUserClient.allocMemory} to be shared by fd in fd mode; any other is served by messages). */
  readonly memory: GuestMemory;
  /** Byte offset in `memory` of `iova`. */
  readonly offset: number;
  /** VFIO_DMA_MAP_FLAG_READ | _WRITE. */
  readonly flags: number;
  /** Send the map without an fd even when the memory could be shared (default false). */
  readonly noFd?: boolean;
}

interface Waiter {
  readonly command: number;
  readonly resolve: (r: { header: MessageHeader; payload: Uint8Array }) => void;
  readonly reject: (e: Error) => void;
}

interface ClientTrigger {
  readonly fd: number;
  readonly watch: NativeWatch;
}

/** Queued bytes that are sent at once rather than at the end of the turn. */
const OUTBOX_FLUSH = 64 * 1024;

/** Memory shared by fd, per GuestMemory (fd mode). */
const SHARED = new WeakMap<GuestMemory, number>();

/** A connection to a vfio-user server, driving its device. */
export class VfioUserClient {
  /** The server's capabilities from its VERSION reply. */
  serverCaps: PeerCapabilities | null = null;
  /** The negotiated minor version. */
  minor = 0;
  private readonly reader: MessageReader;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private readonly maps: (ClientDmaMap & { readonly end: number })[] = [];
  private readonly triggers = new Map<string, ClientTrigger>();
  private ended: string | null = null;
  private channel!: Channel;
  private readonly outbox: Uint8Array[] = [];
  private outboxBytes = 0;
  private flushQueued = false;
  private postId = 0x8000;

  private constructor(
    /** The transport mode of this connection. */
    readonly mode: 'fd' | 'net',
    private readonly native: NativeFd | null,
    private readonly options: VfioUserClientOptions,
  ) {
    this.reader = new MessageReader(MAX_MESSAGE_SIZE, {
      message: (h, p, fds) => this.onMessage(h, p, fds),
      oversize: (h, fds) => {
        this.closeFds(fds);
        this.channel.close(`the server sent a ${h.size}-byte message`);
      },
      malformed: (_h, fds) => {
        this.closeFds(fds);
        this.channel.close('the server sent a malformed header');
      },
    });
  }

  /** Connects to the server at `path` and negotiates the version. */
  static async connect(path: string, options: VfioUserClientOptions = {}): Promise<VfioUserClient> {
    const choice = options.transport ?? 'auto';
    const native = choice === 'net' ? null : loadNative();
    if (choice === 'fd' && native === null) throw new Error(`vfio-user fd mode needs the fd-passing addon (${nativeUnavailableReason()})`);
    const client = new VfioUserClient(native === null ? 'net' : 'fd', native, options);
    const events = {
      data: (chunk: Uint8Array, fds: number[]) => client.closeFds(client.reader.push(chunk, fds)),
      closed: (reason: string) => client.onClosed(reason),
    };
    if (native !== null) {
      client.channel = new FdChannel(native, native.connect(path), events);
    } else {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = netConnect(path);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
      client.channel = new NetChannel(socket, events);
    }
    await client.negotiate();
    return client;
  }

  /**
   * Memory the client can share with the server: in fd mode a sealed memfd mapped into this process
   * (a DMA map of it carries the fd, so the device reaches it with no copy); otherwise plain memory
   * (a SharedArrayBuffer when `shared`).
   */
  allocMemory(size: number, shared = false): GuestMemory {
    if (this.native === null) return new GuestMemory(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
    const fd = this.native.memfd('vidxd-guest', size);
    const memory = new GuestMemory(this.native.mmap(fd, 0, size, true));
    SHARED.set(memory, fd);
    return memory;
  }

  /** The memfd behind memory from {@link allocMemory} (fd mode), or −1. */
  sharedFd(memory: GuestMemory): number {
    return SHARED.get(memory) ?? -1;
  }

  /** True once the connection ended. */
  get closed(): boolean {
    return this.ended !== null;
  }

  /** VFIO_DEVICE_GET_INFO. */
  async getInfo(): Promise<DeviceInfo> {
    const p = new Uint8Array(16);
    view(p).setUint32(0, 16, true);
    const r = await this.call(Cmd.DEVICE_GET_INFO, p);
    return decodeDeviceInfo(r);
  }

  /** VFIO_DEVICE_GET_REGION_INFO with the capability chain (asks again with the size the server needs). */
  async getRegionInfo(index: number): Promise<RegionInfo> {
    let argsz = 32;
    for (let i = 0; i < 3; i++) {
      const p = new Uint8Array(32);
      view(p).setUint32(0, argsz, true);
      view(p).setUint32(8, index, true);
      const r = await this.call(Cmd.DEVICE_GET_REGION_INFO, p);
      const info = decodeRegionInfo(r);
      if (info.caps.length > 0 || info.argsz <= argsz) return strip(info);
      argsz = info.argsz;
    }
    throw new VfioError('EIO', `GET_REGION_INFO ${index}: the server keeps asking for more room`);
  }

  /** VFIO_DEVICE_GET_IRQ_INFO. */
  async getIrqInfo(index: number): Promise<IrqInfo> {
    const p = new Uint8Array(16);
    view(p).setUint32(0, 16, true);
    view(p).setUint32(8, index, true);
    const r = await this.call(Cmd.DEVICE_GET_IRQ_INFO, p);
    const info = decodeIrqInfo(r);
    return { index: info.index, flags: info.flags, count: info.count };
  }

  /**
   * VFIO_DEVICE_SET_IRQS. EVENTFD data is triggers (or null): in fd mode each trigger becomes an
   * eventfd sent with the message, watched here, firing the trigger when the device signals it; in
   * mode 1 no fd can travel, so the server de-assigns the range (the device cannot interrupt).
   */
  async setIrqs(req: IrqSetRequest): Promise<void> {
    const dataType = req.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
    if (dataType !== VFIO_IRQ_SET_DATA_EVENTFD) {
      const bools = req.data instanceof Uint8Array ? req.data : undefined;
      await this.call(Cmd.DEVICE_SET_IRQS, encodeIrqSet({ flags: req.flags, index: req.index, start: req.start, count: req.count, ...(bools ? { bools } : {}) }));
      if (req.count === 0) this.dropTriggers(req.index, 0, Number.MAX_SAFE_INTEGER);
      return;
    }
    const slots = Array.isArray(req.data) ? (req.data as readonly unknown[]) : [];
    const wanted: (IrqTrigger | null)[] = slots.map((s) => (isIrqTrigger(s) ? s : null));
    const created: ClientTrigger[] = [];
    const native = this.native;
    // vfio-user sends fds for every vector, or none (de-assign): a mixed request is split like QEMU does.
    const runs: { start: number; items: (IrqTrigger | null)[] }[] = [];
    for (let i = 0; i < wanted.length; i++) {
      const t = wanted[i] ?? null;
      const last = runs.at(-1);
      if (last !== undefined && (last.items[0] === null) === (t === null)) last.items.push(t);
      else runs.push({ start: i, items: [t] });
    }
    if (runs.length === 0) runs.push({ start: 0, items: [] });
    for (const run of runs) {
      const fds: number[] = [];
      if (native !== null && run.items[0] !== null && run.items.length > 0) {
        for (const t of run.items) {
          const fd = native.eventfd();
          const trigger = t as IrqTrigger;
          const watch = native.watch(fd, 1, () => {
            const n = native.eventfdRead(fd);
            for (let k = 0; k < n; k++) {
              try {
                fireTrigger(trigger);
              } catch (e) {
                reportEmbedderError(e, 'interrupt-trigger');
              }
            }
          });
          created.push({ fd, watch });
          fds.push(fd);
        }
      }
      const head = encodeIrqSet({ flags: req.flags, index: req.index, start: req.start + run.start, count: run.items.length });
      try {
        await this.call(Cmd.DEVICE_SET_IRQS, head, this.mode === 'fd' ? fds : []);
      } catch (e) {
        for (const c of created.splice(created.length - fds.length)) this.releaseTrigger(c);
        throw e;
      }
      const mine = created.slice(created.length - fds.length);
      for (let i = 0; i < run.items.length; i++) {
        const key = `${req.index}:${req.start + run.start + i}`;
        const old = this.triggers.get(key);
        if (old !== undefined) this.releaseTrigger(old);
        const now = mine[i];
        if (now !== undefined) this.triggers.set(key, now);
        else this.triggers.delete(key);
      }
    }
  }

  /** Reads `buf.length` bytes of region `index` at `offset` (REGION_READ); returns the count. */
  async readRegion(index: number, offset: number, buf: Uint8Array): Promise<number> {
    const p = new Uint8Array(REGION_ACCESS_SIZE);
    writeRegionAccess(p, offset, index, buf.length);
    const r = await this.call(Cmd.REGION_READ, p);
    const a = decodeRegionAccess(r, true, 'REGION_READ reply');
    if (a.count > buf.length) throw new VfioError('EIO', `REGION_READ: the server answered ${a.count} bytes for ${buf.length}`);
    buf.set(r.subarray(REGION_ACCESS_SIZE));
    return a.count;
  }

  /** Writes `buf` to region `index` at `offset` (REGION_WRITE, answered); returns the count. */
  async writeRegion(index: number, offset: number, buf: Uint8Array): Promise<number> {
    await this.call(Cmd.REGION_WRITE, regionWrite(index, offset, buf));
    return buf.length;
  }

  /** A posted REGION_WRITE (NO_REPLY): sent now, never answered, errors only in the server's log. */
  postRegionWrite(index: number, offset: number, buf: Uint8Array): void {
    this.check();
    const msg = new Uint8Array(HEADER_SIZE + REGION_ACCESS_SIZE + buf.length);
    writeHeader(view(msg), 0, this.postId, Cmd.REGION_WRITE, msg.length, FLAG_TYPE_COMMAND | FLAG_NO_REPLY);
    // Never answered: its msg_id need not be unique among the requests awaiting replies.
    this.postId = (this.postId + 1) & 0xffff;
    writeRegionAccess(msg.subarray(HEADER_SIZE), offset, index, buf.length);
    msg.set(buf, HEADER_SIZE + REGION_ACCESS_SIZE);
    this.send(msg);
  }

  /** VFIO_DEVICE_RESET. */
  async reset(): Promise<void> {
    await this.call(Cmd.DEVICE_RESET, null);
  }

  /**
   * VFIO_DEVICE_FEATURE: `data` is the bytes after the 8-byte header. GET returns up to `replyData`
   * bytes of data (default `data.length`); SET and PROBE return the echoed data.
   */
  async feature(flags: number, data: Uint8Array = new Uint8Array(0), replyData = data.length): Promise<Uint8Array> {
    const p = new Uint8Array(8 + data.length);
    view(p).setUint32(0, 8 + Math.max(data.length, replyData), true);
    view(p).setUint32(4, flags, true);
    p.set(data, 8);
    const r = await this.call(Cmd.DEVICE_FEATURE, p);
    return r.subarray(8);
  }

  // ---------------------------------------------------------------- migration (vfio-uapi.md §11.9)

  /** MIGRATION GET: the device's migration flags (ENOTTY without migration). */
  async migrationFlags(): Promise<number> {
    return decodeFeatureU64(await this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, new Uint8Array(8)));
  }

  /** MIG_DEVICE_STATE GET: the current migration state. */
  async migrationState(): Promise<number> {
    return decodeMigState(await this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, new Uint8Array(8))).deviceState;
  }

  /**
   * MIG_DEVICE_STATE SET: moves the device to `state` (every arc on the way; `data_fd` is unused over
   * the wire: the stream travels in {@link migrationRead} and {@link migrationWrite}).
   */
  async setMigrationState(state: number): Promise<void> {
    await this.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, encodeMigState({ deviceState: state, dataFd: -1 }));
  }

  /** MIG_DATA_SIZE GET: the device's estimate of its STOP_COPY stream, in bytes. */
  async migrationDataSize(): Promise<number> {
    return decodeFeatureU64(await this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, new Uint8Array(8)));
  }

  /**
   * MIG_DATA_READ of at most `max` bytes (default and limit: the transfer size) of the saving stream
   * (PRE_COPY, STOP_COPY). Fewer bytes than asked for mark the end of the data available now: in
   * STOP_COPY, the end of the stream.
   */
  async migrationRead(max = MAX_DATA_XFER_SIZE): Promise<Uint8Array> {
    const p = new Uint8Array(8);
    view(p).setUint32(0, 8 + max, true);
    view(p).setUint32(4, Math.min(max, MAX_DATA_XFER_SIZE), true);
    const r = await this.call(Cmd.MIG_DATA_READ, p);
    if (r.length < 8 || view(r).getUint32(4, true) !== r.length - 8) throw new VfioError('EIO', 'MIG_DATA_READ: the reply disagrees with its size');
    return r.subarray(8);
  }

  /** Reads the saving stream until a short read (all the data available now; in STOP_COPY, the whole stream). */
  async migrationReadAll(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const b = await this.migrationRead();
      parts.push(b);
      if (b.length < MAX_DATA_XFER_SIZE) break;
    }
    const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of parts) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  /** MIG_DATA_WRITE of `bytes` to the loading stream (RESUMING), in pieces of at most the transfer size. */
  async migrationWrite(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; at += MAX_DATA_XFER_SIZE) {
      const piece = bytes.subarray(at, Math.min(bytes.length, at + MAX_DATA_XFER_SIZE));
      const p = new Uint8Array(8 + piece.length);
      view(p).setUint32(0, p.length, true);
      view(p).setUint32(4, piece.length, true);
      p.set(piece, 8);
      await this.call(Cmd.MIG_DATA_WRITE, p);
    }
  }

  /** DMA_LOGGING_START over `ranges` at `pageSize`; resolves with the page size the device uses. */
  async dmaLoggingStart(pageSize: number, ranges: readonly { readonly iova: number; readonly length: number }[]): Promise<number> {
    return decodeFeatureU64(await this.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, encodeDmaLoggingStart(pageSize, ranges)));
  }

  /** DMA_LOGGING_STOP. */
  async dmaLoggingStop(): Promise<void> {
    await this.feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP);
  }

  /**
   * DMA_LOGGING_REPORT of `[iova, iova + length)` at `pageSize`: resolves with the bitmap (bit u = the
   * unit at `iova + u·pageSize` was written since the last report; those pages are clean again).
   */
  async dmaLoggingReport(iova: number, length: number, pageSize: number): Promise<Uint8Array> {
    const req = encodeDmaLoggingReport(iova, length, pageSize);
    const r = await this.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, req);
    return r.subarray(DMA_LOGGING_REPORT_SIZE);
  }

  /**
   * DMA_MAP of the client's memory: with the fd of memory from {@link allocMemory} in fd mode (the
   * device reaches it directly), otherwise without (the server reads and writes it with DMA_READ /
   * DMA_WRITE, which this client answers from `memory`).
   */
  async dmaMap(m: ClientDmaMap): Promise<void> {
    if (!(m.memory instanceof GuestMemory) || m.offset < 0 || m.offset + m.size > m.memory.size) {
      throw new VfioError('EINVAL', `DMA map [0x${m.iova.toString(16)}, +0x${m.size.toString(16)}): outside its memory`);
    }
    const fd = this.mode === 'fd' && m.noFd !== true ? SHARED.get(m.memory) : undefined;
    const p = encodeDmaMapMessage({ flags: m.flags, offset: fd === undefined ? 0 : m.offset, address: m.iova, size: m.size });
    const entry = { ...m, end: m.iova + m.size };
    this.maps.push(entry);
    try {
      await this.call(Cmd.DMA_MAP, p, fd === undefined ? [] : [fd]);
    } catch (e) {
      this.maps.splice(this.maps.indexOf(entry), 1);
      throw e;
    }
  }

  /** DMA_UNMAP of an exact earlier map (flags 0) or of every map (ALL with iova = size = 0); resolves with the size echoed. */
  async dmaUnmap(req: { readonly iova: number; readonly size: number; readonly flags?: number }): Promise<number> {
    const flags = req.flags ?? 0;
    const r = await this.call(Cmd.DMA_UNMAP, encodeDmaUnmapMessage({ flags, address: req.iova, size: req.size }));
    const echo = decodeDmaUnmapMessage(r);
    for (let i = this.maps.length - 1; i >= 0; i--) {
      const m = this.maps[i] as ClientDmaMap;
      if (flags !== 0 || (m.iova === req.iova && m.size === req.size)) this.maps.splice(i, 1);
    }
    return echo.size;
  }

  /** Closes the connection (the server drops our maps and triggers). */
  async close(): Promise<void> {
    this.flush();
    this.channel.close('client closed');
    await Promise.resolve();
  }

  /** Sends a raw command and resolves with the reply payload (error replies reject with a VfioError). */
  call(command: number, payload: Uint8Array | null, fds: readonly number[] = []): Promise<Uint8Array> {
    return this.request(command, payload, fds).then((r) => r.payload);
  }

  private request(command: number, payload: Uint8Array | null, fds: readonly number[] = []): Promise<{ header: MessageHeader; payload: Uint8Array }> {
    if (this.ended !== null) return Promise.reject(new VfioError('ENODEV', `vfio-user: disconnected (${this.ended})`));
    const id = this.id();
    const n = payload === null ? 0 : payload.length;
    const msg = new Uint8Array(HEADER_SIZE + n);
    writeHeader(view(msg), 0, id, command, msg.length, FLAG_TYPE_COMMAND);
    if (payload !== null) msg.set(payload, HEADER_SIZE);
    return new Promise((resolve, reject) => {
      this.waiters.set(id, { command, resolve, reject });
      this.send(msg, fds);
    });
  }

  /**
   * Queues a message for the socket. Messages sent in one turn of the event loop leave together, in
   * order, with one system call (posted portal writes in a loop cost one `sendmsg`, not one each); a
   * message with fds flushes what is queued and goes on its own, so its fds stay with it.
   */
  private send(msg: Uint8Array, fds: readonly number[] = []): void {
    if (fds.length > 0) {
      this.flush();
      this.channel.send(msg, fds);
      return;
    }
    this.outbox.push(msg);
    this.outboxBytes += msg.length;
    if (this.outboxBytes >= OUTBOX_FLUSH) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
  }

  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  private flush(): void {
    const n = this.outbox.length;
    if (n === 0) return;
    if (n === 1) this.channel.send(this.outbox[0] as Uint8Array);
    else {
      const all = new Uint8Array(this.outboxBytes);
      let at = 0;
      for (const m of this.outbox) {
        all.set(m, at);
        at += m.length;
      }
      this.channel.send(all);
    }
    this.outbox.length = 0;
    this.outboxBytes = 0;
  }

  private async negotiate(): Promise<void> {
    const caps: Record<string, unknown> = {
      max_msg_fds: 8,
      max_data_xfer_size: this.options.maxDataXferSize ?? MAX_DATA_XFER_SIZE,
      max_dma_maps: 65535,
      pgsizes: 4096,
    };
    if (this.options.writeMultiple === true) caps.write_multiple = true;
    const r = await this.call(Cmd.VERSION, encodeVersion(0, 0, caps));
    const v = decodeVersion(r);
    this.serverCaps = v.caps;
    this.minor = v.minor;
  }

  private id(): number {
    let id = this.nextId;
    while (this.waiters.has(id)) id = (id + 1) & 0xffff;
    this.nextId = (id + 1) & 0xffff;
    return id;
  }

  private onMessage(h: MessageHeader, p: Uint8Array, fds: number[]): void {
    this.closeFds(fds);
    if ((h.flags & FLAG_TYPE_MASK) === FLAG_TYPE_REPLY) {
      const w = this.waiters.get(h.msgId);
      if (w === undefined || w.command !== h.command) return;
      this.waiters.delete(h.msgId);
      if ((h.flags & FLAG_ERROR) !== 0) {
        const name = errnoName(h.error) ?? 'EIO';
        w.reject(new VfioError(name, `vfio-user ${h.command}: the server answered errno ${h.error}`));
      } else w.resolve({ header: h, payload: p });
      return;
    }
    // Server→client commands: DMA_READ / DMA_WRITE against our maps.
    try {
      if (h.command === Cmd.DMA_READ) {
        const a = decodeDmaAccess(p, 'none', 'DMA_READ');
        const src = this.resolve(a.address, a.count, false);
        const out = new Uint8Array(HEADER_SIZE + DMA_ACCESS_SIZE + a.count);
        writeHeader(view(out), 0, h.msgId, h.command, out.length, FLAG_TYPE_REPLY);
        out.set(p.subarray(0, DMA_ACCESS_SIZE), HEADER_SIZE);
        out.set(src, HEADER_SIZE + DMA_ACCESS_SIZE);
        this.send(out);
      } else if (h.command === Cmd.DMA_WRITE) {
        const a = decodeDmaAccess(p, 'count', 'DMA_WRITE');
        this.resolve(a.address, a.count, true).set(p.subarray(DMA_ACCESS_SIZE));
        const out = new Uint8Array(HEADER_SIZE + DMA_ACCESS_SIZE);
        writeHeader(view(out), 0, h.msgId, h.command, out.length, FLAG_TYPE_REPLY);
        out.set(p.subarray(0, DMA_ACCESS_SIZE), HEADER_SIZE);
        this.send(out);
      } else throw new VfioError('EINVAL', `unexpected command ${h.command} from the server`);
    } catch (e) {
      if ((h.flags & FLAG_NO_REPLY) === 0) this.send(encodeErrorReply(h.msgId, h.command, e instanceof VfioError ? e.errno : 22));
    }
  }

  /** The bytes of `[iova, iova + count)` inside one map with the needed permission (EFAULT otherwise). */
  private resolve(iova: number, count: number, write: boolean): Uint8Array {
    const m = this.maps.find((x) => iova >= x.iova && iova + count <= x.end);
    if (m === undefined) throw new VfioError('EFAULT', `DMA to [0x${iova.toString(16)}, +${count}) outside every map`);
    if (write && (m.flags & VFIO_DMA_MAP_FLAG_WRITE) === 0) throw new VfioError('EFAULT', 'DMA_WRITE to a read-only map');
    const at = m.offset + (iova - m.iova);
    return m.memory.bytes.subarray(at, at + count);
  }

  private onClosed(reason: string): void {
    if (this.ended !== null) return;
    this.ended = reason;
    for (const w of this.waiters.values()) w.reject(new VfioError('ENODEV', `vfio-user: disconnected (${reason})`));
    this.waiters.clear();
    for (const t of this.triggers.values()) this.releaseTrigger(t);
    this.triggers.clear();
    this.closeFds(this.reader.reset());
    this.options.onDisconnect?.(reason);
  }

  private dropTriggers(index: number, from: number, to: number): void {
    for (const [key, t] of [...this.triggers]) {
      const [i, v] = key.split(':').map(Number) as [number, number];
      if (i === index && v >= from && v < to) {
        this.releaseTrigger(t);
        this.triggers.delete(key);
      }
    }
  }

  private releaseTrigger(t: ClientTrigger): void {
    this.native?.unwatch(t.watch);
    this.native?.close(t.fd);
  }

  private closeFds(fds: readonly number[]): void {
    if (this.native !== null) for (const fd of fds) this.native.close(fd);
  }

  private check(): void {
    if (this.ended !== null) throw new VfioError('ENODEV', `vfio-user: disconnected (${this.ended})`);
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function regionWrite(index: number, offset: number, buf: Uint8Array): Uint8Array {
  const p = new Uint8Array(REGION_ACCESS_SIZE + buf.length);
  writeRegionAccess(p, offset, index, buf.length);
  p.set(buf, REGION_ACCESS_SIZE);
  return p;
}

function strip(info: RegionInfo & { readonly argsz?: number; readonly capOffset?: number }): RegionInfo {
  return { index: info.index, flags: info.flags, size: info.size, offset: info.offset, caps: info.caps };
}
