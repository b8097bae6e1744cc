/**
 * The server's side of DMA without file descriptors (`vfio-uapi.md` §11.8): a {@link RemoteMemoryPort}
 * that reads and writes the client's memory with DMA_READ / DMA_WRITE commands, each at most the
 * client's `max_data_xfer_size` (larger transfers are split), sent in order and matched with their
 * replies by msg_id. It also orders interrupts after data: a trigger raised while DMA_WRITEs are
 * unacknowledged is held until every DMA_WRITE sent before it was acknowledged, so a guest never sees
 * an interrupt before the bytes it reports.
 */
import type { RemoteMemoryPort } from '../memory/index.js';
import { decodeDmaAccess, DMA_ACCESS_SIZE, writeDmaAccess } from './messages.js';
import { FLAG_ERROR, FLAG_TYPE_COMMAND, HEADER_SIZE, type MessageHeader, VfioUserCommand, writeHeader } from './protocol.js';

/** How the port reaches the client. */
export interface PortLink {
  /** Sends one message. */
  send(bytes: Uint8Array): void;
  /** True while the connection is up. */
  readonly connected: boolean;
  /** The client's largest transfer. */
  readonly maxTransfer: number;
  /** Tells the owner about a client that answered badly (for the log). */
  complain(message: string): void;
}

type ReplyHandler = (header: MessageHeader, payload: Uint8Array) => void;

interface HeldIrq {
  readonly before: number;
  readonly fire: () => void;
}

/** Most server→client requests in flight (the msg_id space). */
const MAX_IN_FLIGHT = 0x10000;

/** DMA_READ / DMA_WRITE to one client, and interrupt ordering behind them. */
export class RemotePort implements RemoteMemoryPort {
  private readonly pending = new Map<number, { readonly command: number; readonly onReply: ReplyHandler }>();
  private nextId = 0;
  /** Serials of DMA_WRITE messages not yet answered, oldest first. */
  private readonly writesInFlight: number[] = [];
  private readonly writesDone = new Set<number>();
  private writeSerial = 0;
  private readonly heldIrqs: HeldIrq[] = [];
  /** Bytes read from and written to the client (for logs and tests). */
  readonly stats = { reads: 0, writes: 0, readBytes: 0, writtenBytes: 0 };

  /** A port over `link`. */
  constructor(private readonly link: PortLink) {}

  /** Requests still waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** See {@link RemoteMemoryPort.read}. */
  read(iova: number, length: number, done: (bytes: Uint8Array | null) => void): void {
    const out = new Uint8Array(length);
    let remaining = 0;
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      done(null);
    };
    const chunk = Math.max(1, this.link.maxTransfer);
    if (length === 0) {
      queueMicrotask(() => done(out));
      return;
    }
    for (let off = 0; off < length; off += chunk) {
      const n = Math.min(chunk, length - off);
      remaining++;
      const at = off;
      const ok = this.request(VfioUserCommand.DMA_READ, iova + off, n, null, (h, p) => {
        if ((h.flags & FLAG_ERROR) !== 0) return fail();
        try {
          const a = decodeDmaAccess(p, 'count', 'DMA_READ reply');
          if (a.address !== iova + at || a.count !== n) throw new Error(`answers [0x${a.address.toString(16)}, +${a.count}]`);
        } catch (e) {
          this.link.complain(`bad DMA_READ reply: ${e instanceof Error ? e.message : String(e)}`);
          return fail();
        }
        out.set(p.subarray(DMA_ACCESS_SIZE), at);
        this.stats.reads++;
        this.stats.readBytes += n;
        if (--remaining === 0 && !failed) done(out);
      });
      if (!ok) {
        queueMicrotask(fail);
        return;
      }
    }
  }

  /** See {@link RemoteMemoryPort.write}. */
  write(iova: number, bytes: Uint8Array, done: (ok: boolean) => void): void {
    let remaining = 0;
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      done(false);
    };
    if (bytes.length === 0) {
      queueMicrotask(() => done(true));
      return;
    }
    const chunk = Math.max(1, this.link.maxTransfer);
    for (let off = 0; off < bytes.length; off += chunk) {
      const n = Math.min(chunk, bytes.length - off);
      remaining++;
      const serial = this.writeSerial++;
      this.writesInFlight.push(serial);
      const addr = iova + off;
      const ok = this.request(VfioUserCommand.DMA_WRITE, addr, n, bytes.subarray(off, off + n), (h, p) => {
        this.writeAnswered(serial);
        if ((h.flags & FLAG_ERROR) !== 0) return fail();
        try {
          const a = decodeDmaAccess(p, 'none', 'DMA_WRITE reply');
          if (a.address !== addr || a.count !== n) throw new Error(`answers [0x${a.address.toString(16)}, +${a.count}]`);
        } catch (e) {
          this.link.complain(`bad DMA_WRITE reply: ${e instanceof Error ? e.message : String(e)}`);
          return fail();
        }
        this.stats.writes++;
        this.stats.writtenBytes += n;
        if (--remaining === 0 && !failed) done(true);
      });
      if (!ok) {
        this.writeAnswered(serial);
        queueMicrotask(fail);
        return;
      }
    }
  }

  /**
   * Runs `fire` (an interrupt delivery) now when no DMA_WRITE is unacknowledged, else once every
   * DMA_WRITE sent so far has been answered.
   */
  deliverAfterWrites(fire: () => void): void {
    if (this.writesInFlight.length === 0) fire();
    else this.heldIrqs.push({ before: this.writeSerial, fire });
  }

  /**
   * A reply from the client: true when it answered one of our requests (the handler ran), false when
   * nobody asked (the caller answers EINVAL).
   */
  reply(header: MessageHeader, payload: Uint8Array): boolean {
    const p = this.pending.get(header.msgId);
    if (p === undefined || p.command !== header.command) return false;
    this.pending.delete(header.msgId);
    p.onReply(header, payload);
    return true;
  }

  /** The connection ended: every request fails (asynchronously) and held interrupts are dropped. */
  disconnect(): void {
    const handlers = [...this.pending.values()];
    this.pending.clear();
    this.heldIrqs.length = 0;
    this.writesInFlight.length = 0;
    this.writesDone.clear();
    const failed: MessageHeader = { msgId: 0, command: 0, size: HEADER_SIZE, flags: FLAG_ERROR | 1, error: 104 };
    queueMicrotask(() => {
      for (const h of handlers) h.onReply(failed, new Uint8Array(0));
    });
  }

  private writeAnswered(serial: number): void {
    this.writesDone.add(serial);
    while (this.writesInFlight.length > 0 && this.writesDone.delete(this.writesInFlight[0] as number)) this.writesInFlight.shift();
    const oldest = this.writesInFlight.length > 0 ? (this.writesInFlight[0] as number) : Infinity;
    while (this.heldIrqs.length > 0 && (this.heldIrqs[0] as HeldIrq).before <= oldest) (this.heldIrqs.shift() as HeldIrq).fire();
  }

  /** Sends one request; false when it cannot be sent (disconnected, or every msg_id in flight). */
  private request(command: number, address: number, count: number, data: Uint8Array | null, onReply: ReplyHandler): boolean {
    if (!this.link.connected || this.pending.size >= MAX_IN_FLIGHT) return false;
    let id = this.nextId;
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    this.nextId = (id + 1) & 0xffff;
    const size = HEADER_SIZE + DMA_ACCESS_SIZE + (data === null ? 0 : data.length);
    const msg = new Uint8Array(size);
    writeHeader(new DataView(msg.buffer), 0, id, command, size, FLAG_TYPE_COMMAND);
    writeDmaAccess(msg.subarray(HEADER_SIZE), address, count);
    if (data !== null) msg.set(data, HEADER_SIZE + DMA_ACCESS_SIZE);
    this.pending.set(id, { command, onReply });
    this.link.send(msg);
    return true;
  }
}
