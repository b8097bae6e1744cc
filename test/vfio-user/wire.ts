/**
 * Test fixtures for the wire: a served vdev (automatic DSA model, in this process) and a raw client
 * that sends any bytes (and, with the addon, any fds) and reads back whole messages.
 */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_CONFIG } from '../../src/cli/system.js';
import { DsaDevice } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import type { VfioDevice } from '../../src/vfio/index.js';
import {
  type Channel,
  encodeMessage,
  encodeVersion,
  FdChannel,
  HEADER_SIZE,
  loadNative,
  MAX_MESSAGE_SIZE,
  MessageReader,
  type MessageHeader,
  NetChannel,
  type ServerEvent,
  VfioUserCommand,
  VfioUserServer,
  type VfioUserServerOptions,
} from '../../src/vfio-user/index.js';
import { DEDICATED_TYPE, VidxdParent, type Vdev, type VdevPortalMapping } from '../../src/vidxd/index.js';

/** A served vdev. */
export interface Served {
  readonly server: VfioUserServer;
  readonly device: VfioDevice<VdevPortalMapping>;
  readonly vdev: Vdev;
  readonly dev: DsaDevice;
  readonly path: string;
  readonly events: ServerEvent[];
}

let counter = 0;

/** A vdev of `type` on an automatic DSA model, served on a fresh socket (listening). */
export async function serveVdev(transport: 'net' | 'fd', type: string = DEDICATED_TYPE, options: VfioUserServerOptions = {}): Promise<Served> {
  const dev = new DsaDevice({ mode: 'automatic' });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(DEMO_CONFIG);
  const parent = new VidxdParent(host);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  const uuid = `7e570000-0000-4000-8000-${(++counter).toString(16).padStart(12, '0')}`;
  bus.create(`${parent.name}-${type}`, uuid);
  const device = bus.open(uuid);
  const vdev = parent.vdev(uuid) as Vdev;
  const events: ServerEvent[] = [];
  const server = new VfioUserServer(device, { transport, log: (e) => events.push(e), ...options });
  const path = join(mkdtempSync(join(tmpdir(), 'vidxd-wire-')), 'sock');
  await server.listen(path);
  return { server, device, vdev, dev, path, events };
}

/** One message read back. */
export interface Msg {
  readonly header: MessageHeader;
  readonly payload: Uint8Array;
  readonly fds: number[];
}

/** A client that speaks raw bytes. */
export class RawClient {
  private readonly inbox: Msg[] = [];
  private waiting: ((m: Msg | null) => void) | null = null;
  private ended = false;
  private readonly reader = new MessageReader(MAX_MESSAGE_SIZE * 2, {
    message: (header, payload, fds) => this.deliver({ header, payload: payload.slice(), fds }),
    oversize: () => undefined,
    malformed: () => undefined,
  });
  private nextId = 100;
  channel!: Channel;
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private constructor() {
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
  }

  /** Connects (fd mode when `fd` and the addon is there). */
  static async connect(path: string, fd = false): Promise<RawClient> {
    const c = new RawClient();
    const events = {
      data: (chunk: Uint8Array, fds: number[]) => c.reader.push(chunk, fds),
      closed: () => {
        c.ended = true;
        c.resolveClosed();
        c.waiting?.(null);
        c.waiting = null;
      },
    };
    const native = loadNative();
    if (fd) {
      if (native === null) throw new Error('no addon');
      c.channel = new FdChannel(native, native.connect(path), events);
    } else {
      const s = connect(path);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      c.channel = new NetChannel(s, events);
    }
    return c;
  }

  /** True once the server closed the connection. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Sends raw bytes. */
  send(bytes: Uint8Array, fds: readonly number[] = []): void {
    this.channel.send(bytes, fds);
  }

  /** Sends a message; returns its msg_id. */
  command(command: number, payload: Uint8Array | null, flags = 0, fds: readonly number[] = []): number {
    const id = this.nextId++ & 0xffff;
    this.send(encodeMessage(id, command, flags, payload), fds);
    return id;
  }

  /** The next message, or null when the connection closed (or nothing came within `ms`). */
  next(ms = 2000): Promise<Msg | null> {
    const m = this.inbox.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting = null;
        resolve(null);
      }, ms);
      this.waiting = (x) => {
        clearTimeout(t);
        resolve(x);
      };
    });
  }

  /** Sends a command and returns the next message (its reply). */
  async request(command: number, payload: Uint8Array | null, flags = 0, fds: readonly number[] = []): Promise<Msg> {
    this.command(command, payload, flags, fds);
    const m = await this.next();
    if (m === null) throw new Error('no reply');
    return m;
  }

  /** Negotiates with a plain proposal (0.0, max_data_xfer_size as given). */
  async version(caps: Record<string, unknown> = { max_msg_fds: 8, max_data_xfer_size: 1 << 20 }): Promise<Msg> {
    return this.request(VfioUserCommand.VERSION, encodeVersion(0, 0, caps));
  }

  /** Closes the connection. */
  close(): void {
    this.channel.close('test closed');
  }

  private deliver(m: Msg): void {
    if (this.waiting !== null) {
      const w = this.waiting;
      this.waiting = null;
      w(m);
    } else this.inbox.push(m);
  }
}

/** Little-endian helpers. */
export function u32le(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setUint32(4 * i, x >>> 0, true));
  return out;
}

/** Concatenates byte arrays. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A u64 as 8 little-endian bytes. */
export function u64le(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setUint32(0, value % 0x1_0000_0000, true);
  v.setUint32(4, Math.floor(value / 0x1_0000_0000), true);
  return out;
}

/** Header size (re-exported for tests). */
export const HDR = HEADER_SIZE;
