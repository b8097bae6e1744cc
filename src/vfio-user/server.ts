/**
 * `VfioUserServer`: serves one `VfioDevice` over an AF_UNIX stream socket to one vfio-user client at a
 * time (`vfio-uapi.md` §11). The transport mode is chosen at run time: fd mode through the optional
 * addon (SCM_RIGHTS: shared guest memory, interrupts to eventfds) or plain Node `net` without fds (DMA
 * by messages, no interrupts). A second client while one is connected is accepted and closed at once;
 * when a client goes, its maps and triggers go with it and the device keeps its state for the next.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { VfioIoas, type VfioDevice } from '../vfio/index.js';
import { type Channel, DEFAULT_SEND_QUEUE_LIMIT, FdChannel, NetChannel } from './channel.js';
import { loadNative, NATIVE_EAGAIN, type NativeFd, type NativeWatch, nativeUnavailableReason } from './native.js';
import { type ServerEvent, type ServerEventKind, Session, type SessionHost } from './session.js';

/** How a server carries messages: `'fd'` (the addon), `'net'` (no fds), or `'auto'` (fd when the addon loads). */
export type TransportChoice = 'auto' | 'fd' | 'net';

/** Options of a {@link VfioUserServer}. */
export interface VfioUserServerOptions {
  /** Transport mode (default `'auto'`). `'fd'` without the addon throws. */
  readonly transport?: TransportChoice;
  /** Receives every log event (default: none). */
  readonly log?: (event: ServerEvent) => void;
  /** Bytes queued for a client that stops reading before it is disconnected (default 4 MiB). */
  readonly sendQueueLimit?: number;
  /** The IOAS DMA maps go into (default: a new one). The device is attached to it. */
  readonly ioas?: VfioIoas;
}

/** A vfio-user server for one device. */
export class VfioUserServer implements SessionHost {
  /** The served device. */
  readonly device: VfioDevice<unknown>;
  /** The IOAS the client's DMA maps go into (the device is attached to it when it does DMA). */
  readonly ioas: VfioIoas;
  /** The addon in fd mode; null in `'net'` mode. */
  readonly native: NativeFd | null;
  /** The transport mode in use. */
  readonly mode: 'fd' | 'net';
  private readonly sink: ((e: ServerEvent) => void) | undefined;
  private readonly queueLimit: number;
  private readonly said = new Set<string>();
  private session: Session | null = null;
  private channel: Channel | null = null;
  private netServer: Server | null = null;
  private listenFd = -1;
  private listenWatch: NativeWatch | null = null;
  private socketPath: string | null = null;

  /** A server for `device` (not listening yet). */
  constructor(device: VfioDevice<unknown>, options: VfioUserServerOptions = {}) {
    this.device = device;
    this.sink = options.log;
    this.queueLimit = options.sendQueueLimit ?? DEFAULT_SEND_QUEUE_LIMIT;
    this.ioas = options.ioas ?? new VfioIoas();
    const choice = options.transport ?? 'auto';
    const native = choice === 'net' ? null : loadNative();
    if (choice === 'fd' && native === null) throw new Error(`vfio-user fd mode needs the fd-passing addon (${nativeUnavailableReason()})`);
    this.native = native;
    this.mode = native === null ? 'net' : 'fd';
    try {
      device.attachIoas(this.ioas);
    } catch {
      // A device without DMA (attach is ENOTTY): maps are still kept, nothing reaches them.
    }
  }

  /** True while a client is connected. */
  get connected(): boolean {
    return this.session !== null;
  }

  /** The session of the connected client (null when none), for tests and embedders. */
  get current(): Session | null {
    return this.session;
  }

  /** The socket path while listening. */
  get path(): string | null {
    return this.socketPath;
  }

  /**
   * Listens on the AF_UNIX socket `path`. A stale socket file there is removed first; any other file
   * is EEXIST. Resolves once the socket accepts connections.
   */
  async listen(path: string): Promise<void> {
    if (this.socketPath !== null) throw new Error(`already listening on ${this.socketPath}`);
    if (existsSync(path)) {
      if (!lstatSync(path).isSocket()) throw Object.assign(new Error(`${path} exists and is not a socket`), { code: 'EEXIST' });
      unlinkSync(path);
    }
    if (this.native !== null) {
      const native = this.native;
      this.listenFd = native.listen(path, 16);
      this.listenWatch = native.watch(this.listenFd, 1, () => this.acceptFd());
    } else {
      const server = createServer({ allowHalfOpen: false }, (s) => this.acceptNet(s));
      this.netServer = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => this.log('error', `listening socket: ${e.message}`));
    }
    this.socketPath = path;
    if (this.native === null) {
      this.logOnce('no-addon', 'notice', `vfio-user without fd passing (${this.mode === 'net' && nativeUnavailableReason() !== '' ? nativeUnavailableReason() : 'net transport chosen'}): DMA by messages, no interrupts, nothing mappable`);
    }
    this.log('listen', `listening on ${path} (${this.mode === 'fd' ? 'fd mode: shared memory and interrupts' : 'no-fd mode'})`, { path, mode: this.mode });
  }

  /** Stops listening, disconnects the client (§11.1 cleanup) and removes the socket file. */
  async close(): Promise<void> {
    this.channel?.close('server shutting down');
    if (this.listenWatch !== null && this.native !== null) {
      this.native.unwatch(this.listenWatch);
      this.native.close(this.listenFd);
      this.listenWatch = null;
      this.listenFd = -1;
    }
    if (this.netServer !== null) {
      const s = this.netServer;
      this.netServer = null;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    if (this.socketPath !== null) {
      try {
        if (existsSync(this.socketPath) && lstatSync(this.socketPath).isSocket()) unlinkSync(this.socketPath);
      } catch {
        // Already gone.
      }
      this.log('close', `stopped listening on ${this.socketPath}`);
      this.socketPath = null;
    }
  }

  /** See {@link SessionHost.log}. */
  log(kind: ServerEventKind, message: string, fields?: Readonly<Record<string, string | number | boolean>>): void {
    if (this.sink === undefined) return;
    try {
      this.sink(fields === undefined ? { kind, message } : { kind, message, fields });
    } catch {
      // A log sink that throws is contained here.
    }
  }

  /** See {@link SessionHost.logOnce}. */
  logOnce(key: string, kind: ServerEventKind, message: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.log(kind, message);
  }

  private acceptNet(socket: Socket): void {
    if (this.session !== null) {
      this.log('refuse', 'a second client was refused: one client at a time');
      socket.destroy();
      return;
    }
    this.start((events) => new NetChannel(socket, events, this.queueLimit));
  }

  private acceptFd(): void {
    const native = this.native as NativeFd;
    for (;;) {
      const fd = native.accept(this.listenFd);
      if (fd === NATIVE_EAGAIN || fd < 0) return;
      if (this.session !== null) {
        this.log('refuse', 'a second client was refused: one client at a time');
        native.close(fd);
        continue;
      }
      this.start((events) => new FdChannel(native, fd, events, this.queueLimit));
    }
  }

  private start(open: (events: { data(c: Uint8Array, f: number[]): void; closed(r: string): void }) => Channel): void {
    let session: Session | null = null;
    const channel = open({
      data: (chunk, fds) => session?.data(chunk, fds),
      closed: (reason) => session?.end(reason),
    });
    session = new Session(this, channel, () => {
      if (this.session === session) {
        this.session = null;
        this.channel = null;
      }
    });
    this.session = session;
    this.channel = channel;
    this.log('connect', `client connected (${this.mode === 'fd' ? 'fd mode' : 'no-fd mode'})`);
  }
}
