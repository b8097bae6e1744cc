/**
 * A connected stream socket carrying vfio-user messages, in either transport mode: plain Node `net`
 * (mode 1: no file descriptors) or the addon's own socket (mode 2: SCM_RIGHTS both ways). Both hand
 * their bytes to the same {@link MessageReader}; both bound what they queue for a peer that stops
 * reading, and close the connection when the bound is passed.
 */
import type { Socket } from 'node:net';
import { NATIVE_EAGAIN, type NativeFd, type NativeWatch } from './native.js';

/** What a channel tells its owner. */
export interface ChannelEvents {
  /** Bytes arrived, with the fds their `recvmsg` returned (always none in mode 1). */
  data(chunk: Uint8Array, fds: number[]): void;
  /** The connection ended (peer closed, error, send queue overflow, or `close()`); `reason` for logs. Called once. */
  closed(reason: string): void;
}

/** One connection, whichever the mode. */
export interface Channel {
  /** True in fd mode (SCM_RIGHTS works). */
  readonly fdPassing: boolean;
  /** True once closed. */
  readonly isClosed: boolean;
  /** Bytes accepted by `send` and not yet handed to the kernel. */
  readonly queued: number;
  /**
   * Sends one message (and, in fd mode, `fds` with it; the caller keeps them open until the message
   * has gone, which is at once unless the socket is full). `bytes` must not be changed afterwards.
   * Passing the send-queue bound closes the channel.
   */
  send(bytes: Uint8Array, fds?: readonly number[]): void;
  /** Closes the connection (idempotent); `closed` is reported once. */
  close(reason?: string): void;
}

/** Default bound of the send queue: 4 MiB past what the kernel buffers. */
export const DEFAULT_SEND_QUEUE_LIMIT = 4 << 20;

/** Mode 1: a Node `net` socket. fds cannot travel; the kernel discards those a peer attaches. */
export class NetChannel implements Channel {
  /** Always false: `net` cannot pass fds. */
  readonly fdPassing = false;
  private done = false;

  /** Wraps a connected socket and starts reading. */
  constructor(
    private readonly socket: Socket,
    private readonly events: ChannelEvents,
    private readonly queueLimit = DEFAULT_SEND_QUEUE_LIMIT,
  ) {
    socket.on('data', (chunk: Buffer) => {
      // A plain Uint8Array view (a Buffer's slice() would not copy).
      if (!this.done) events.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), []);
    });
    socket.on('error', (e) => this.finish(`socket error: ${e.message}`));
    socket.on('close', () => this.finish('peer closed the connection'));
    socket.on('end', () => this.finish('peer closed the connection'));
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.done;
  }

  /** Bytes queued in the socket. */
  get queued(): number {
    return this.socket.writableLength;
  }

  /** See {@link Channel.send} (fds are ignored: this mode has none). */
  send(bytes: Uint8Array): void {
    if (this.done) return;
    if (this.socket.writableLength + bytes.length > this.queueLimit) {
      this.close(`the peer stopped reading (more than ${this.queueLimit} bytes queued)`);
      return;
    }
    this.socket.write(bytes);
  }

  /** See {@link Channel.close}. */
  close(reason = 'closed'): void {
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.events.closed(reason);
  }
}

interface Pending {
  bytes: Uint8Array;
  fds: Int32Array | null;
}

/** Bytes one `recvmsg` reads at most. */
const RECV_SIZE = 256 * 1024;
/** `recvmsg` calls per readable event before yielding to the event loop. */
const RECV_BURST = 64;
/** Readable / writable event bits of the addon's watch. */
const READABLE = 1;
const WRITABLE = 2;

/** Mode 2: a socket owned by the addon, with SCM_RIGHTS both ways. */
export class FdChannel implements Channel {
  /** Always true. */
  readonly fdPassing = true;
  private done = false;
  private readonly watch: NativeWatch;
  private readonly rbuf = new Uint8Array(RECV_SIZE);
  private readonly rfds = new Int32Array(33);
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;

  /** Takes ownership of the connected socket `fd` and starts reading. */
  constructor(
    private readonly native: NativeFd,
    private readonly fd: number,
    private readonly events: ChannelEvents,
    private readonly queueLimit = DEFAULT_SEND_QUEUE_LIMIT,
  ) {
    this.watch = native.watch(fd, READABLE, (ev) => this.onEvents(ev));
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.done;
  }

  /** Bytes waiting for the socket to drain. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** See {@link Channel.send}. */
  send(bytes: Uint8Array, fds: readonly number[] = []): void {
    if (this.done) return;
    const f = fds.length > 0 ? Int32Array.from(fds) : null;
    if (this.queue.length === 0) {
      const r = this.native.sendmsg(this.fd, bytes, f);
      if (r === bytes.length) return;
      if (r < 0 && r !== NATIVE_EAGAIN) {
        this.close(`send failed (errno ${-r})`);
        return;
      }
      // Partly sent (the fds went with the first byte) or not at all (they wait with the bytes).
      this.enqueue(r > 0 ? bytes.subarray(r) : bytes, r > 0 ? null : f);
      if (!this.done) this.native.rewatch(this.watch, READABLE | WRITABLE);
      return;
    }
    this.enqueue(bytes, f);
  }

  /** See {@link Channel.close}. */
  close(reason = 'closed'): void {
    if (this.done) return;
    this.done = true;
    this.native.unwatch(this.watch);
    this.native.close(this.fd);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.events.closed(reason);
  }

  private enqueue(bytes: Uint8Array, fds: Int32Array | null): void {
    if (this.queuedBytes + bytes.length > this.queueLimit) {
      this.close(`the peer stopped reading (more than ${this.queueLimit} bytes queued)`);
      return;
    }
    this.queue.push({ bytes, fds });
    this.queuedBytes += bytes.length;
  }

  private onEvents(ev: number): void {
    if (this.done) return;
    if ((ev & WRITABLE) !== 0) this.flush();
    if ((ev & READABLE) !== 0) this.read();
  }

  private flush(): void {
    while (!this.done && this.queue.length > 0) {
      const p = this.queue[0] as Pending;
      const r = this.native.sendmsg(this.fd, p.bytes, p.fds);
      if (r === NATIVE_EAGAIN) return;
      if (r < 0) {
        this.close(`send failed (errno ${-r})`);
        return;
      }
      this.queuedBytes -= r;
      if (r === p.bytes.length) this.queue.shift();
      else {
        p.bytes = p.bytes.subarray(r);
        p.fds = null;
      }
    }
    if (!this.done) this.native.rewatch(this.watch, READABLE);
  }

  private read(): void {
    for (let i = 0; i < RECV_BURST && !this.done; i++) {
      const n = this.native.recvmsg(this.fd, this.rbuf, this.rfds);
      const nfds = this.rfds[0] as number;
      const fds = nfds > 0 ? Array.from(this.rfds.subarray(1, 1 + nfds)) : [];
      if (n === NATIVE_EAGAIN) return;
      if (n <= 0) {
        for (const fd of fds) this.native.close(fd);
        this.close(n === 0 ? 'peer closed the connection' : `receive failed (errno ${-n})`);
        return;
      }
      this.events.data(this.rbuf.slice(0, n), fds);
    }
  }
}
