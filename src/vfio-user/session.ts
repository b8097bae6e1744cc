/**
 * One client connection of a {@link VfioUserServer}: version negotiation, every command of
 * `vfio-uapi.md` §11.3 against the served `VfioDevice`, the error replies of §11.11, DMA maps into the
 * server's IOAS (shared memory by fd, or remote memory reached by DMA_READ/DMA_WRITE), interrupts to
 * the client's eventfds, and the disconnect rule of §11.1.
 *
 * Requests are handled in arrival order, synchronously, each answered before the next is read —
 * except DMA_UNMAP of remote memory, whose reply waits until no DMA to the range is in flight (§11.8)
 * while later requests go on being served (a region access never waits on the server's own DMA,
 * §11.10). A message with NO_REPLY is never answered, not even with an error.
 */
import type { RemoteMemoryPort } from '../memory/index.js';
import { GuestMemory } from '../memory/index.js';
import {
  decodeIrqSet,
  encodeDeviceInfo,
  encodeIrqInfo,
  encodeRegionInfo,
  type IrqTrigger,
  type RegionInfo,
  type Signalable,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MASK,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_INFO_FLAG_MMAP,
  type VfioDevice,
  VfioError,
  type VfioIoas,
  type VfioMigrationStream,
} from '../vfio/index.js';
import type { Channel } from './channel.js';
import {
  decodeDmaMapMessage,
  decodeDmaUnmapMessage,
  decodeRegionAccess,
  decodeVersion,
  decodeWriteMultiCount,
  encodeDmaUnmapMessage,
  encodeVersion,
  type PeerCapabilities,
  REGION_ACCESS_SIZE,
  serverCapabilities,
  WRITE_MULTI_ENTRY_SIZE,
} from './messages.js';
import type { NativeFd } from './native.js';
import {
  commandName,
  encodeErrorReply,
  FLAG_NO_REPLY,
  FLAG_TYPE_COMMAND,
  FLAG_TYPE_MASK,
  FLAG_TYPE_REPLY,
  HEADER_SIZE,
  MAX_DATA_XFER_SIZE,
  MAX_MESSAGE_SIZE,
  type MessageHeader,
  PROTOCOL_MINOR,
  protocolError,
  VfioUserCommand as Cmd,
  writeHeader,
} from './protocol.js';
import { MessageReader } from './reader.js';
import { type PortLink, RemotePort } from './remote-port.js';

/** The kinds of event a server logs. */
export type ServerEventKind =
  | 'listen'
  | 'connect'
  | 'refuse'
  | 'version'
  | 'map'
  | 'unmap'
  | 'reset'
  | 'irqs'
  | 'error'
  | 'disconnect'
  | 'notice'
  | 'close';

/** One log event of a server. */
export interface ServerEvent {
  /** What happened. */
  readonly kind: ServerEventKind;
  /** A readable sentence. */
  readonly message: string;
  /** Extra fields for machine-readable logs (command, errno, addresses, ...). */
  readonly fields?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * An fd-less mapping reached through a port: the seam with remote memory (`VfioIoas.mapRemote` and
 * `unmapAsync`). The session uses them when the IOAS has them.
 */
interface RemoteCapableIoas {
  mapRemote(req: { readonly iova: number; readonly size: number; readonly flags: number; readonly port: RemoteMemoryPort }): void;
  unmapAsync(req: { readonly iova: number; readonly size: number; readonly flags: number }): Promise<number>;
}

function remoteCapable(ioas: VfioIoas): (VfioIoas & RemoteCapableIoas) | null {
  const r = ioas as VfioIoas & Partial<RemoteCapableIoas>;
  return typeof r.mapRemote === 'function' && typeof r.unmapAsync === 'function' ? (r as VfioIoas & RemoteCapableIoas) : null;
}

/** What a session needs from its server. */
export interface SessionHost {
  /** The served device. */
  readonly device: VfioDevice<unknown>;
  /** The server's IOAS (the device is attached to it). */
  readonly ioas: VfioIoas;
  /** The addon in fd mode, null in mode 1. */
  readonly native: NativeFd | null;
  /** Logs an event. */
  log(kind: ServerEventKind, message: string, fields?: Readonly<Record<string, string | number | boolean>>): void;
  /** Logs `message` once per server under `key`. */
  logOnce(key: string, kind: ServerEventKind, message: string): void;
}

interface SessionMap {
  readonly iova: number;
  readonly size: number;
  readonly flags: number;
  /** How the device reaches it: mmapped fd, remote port, or not at all (fd-less without remote support). */
  readonly kind: 'fd' | 'remote' | 'unreachable';
}

/** A trigger writing 1 to a client's eventfd (fd mode). */
class EventfdTrigger implements Signalable {
  closed = false;

  constructor(
    private readonly session: Session,
    readonly fd: number,
  ) {}

  signal(): void {
    if (!this.closed) this.session.raise(this);
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const PAGE = 4096;
const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/** One client connection. */
export class Session {
  private readonly reader: MessageReader;
  private negotiated = false;
  private caps: PeerCapabilities | null = null;
  private readonly maps: SessionMap[] = [];
  private readonly triggers = new Map<string, EventfdTrigger>();
  private stream: VfioMigrationStream | null = null;
  private ended = false;
  /** The client's memory reached by messages (§11.8). */
  readonly port: RemotePort;

  /** Serves the client on `channel`; `onEnd` runs once the session is over and cleaned up. */
  constructor(
    private readonly host: SessionHost,
    private readonly channel: Channel,
    private readonly onEnd: () => void,
  ) {
    const session = this;
    const link: PortLink = {
      send: (bytes) => channel.send(bytes),
      get connected() {
        return !session.ended && !channel.isClosed;
      },
      get maxTransfer() {
        return Math.min(session.caps?.maxDataXferSize ?? MAX_DATA_XFER_SIZE, MAX_DATA_XFER_SIZE);
      },
      complain: (m) => host.log('error', m),
    };
    this.port = new RemotePort(link);
    this.reader = new MessageReader(MAX_MESSAGE_SIZE, {
      message: (h, p, fds) => this.dispatch(h, p, fds),
      oversize: (h, fds) => {
        this.closeFds(fds);
        this.fail(h, protocolError(`message of ${h.size} bytes exceeds the ${MAX_MESSAGE_SIZE}-byte limit (discarded)`));
      },
      malformed: (h, fds) => {
        this.closeFds(fds);
        this.fail(h, protocolError(`header size ${h.size} < 16: the stream cannot be followed`));
        this.channel.close('malformed header');
      },
    });
  }

  /** Bytes held for a message still arriving (at most the 1 MiB + 32 message limit). */
  get buffered(): number {
    return this.reader.buffered;
  }

  /** DMA maps the client holds. */
  get mapCount(): number {
    return this.maps.length;
  }

  /** Bytes and fds from the channel. */
  data(chunk: Uint8Array, fds: number[]): void {
    if (this.ended) {
      this.closeFds(fds);
      return;
    }
    this.closeFds(this.reader.push(chunk, fds));
  }

  /** The channel closed: drop every map and trigger, keep the device state (§11.1). */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.port.disconnect();
    this.closeFds(this.reader.reset());
    const remote = remoteCapable(this.host.ioas);
    for (const m of this.maps) {
      if (m.kind === 'unreachable') continue;
      try {
        const req = { iova: m.iova, size: m.size, flags: 0 };
        if (m.kind === 'remote' && remote !== null) void remote.unmapAsync(req).catch(() => undefined);
        else this.host.ioas.unmap(req);
      } catch (e) {
        this.host.log('error', `disconnect: unmapping [${hex(m.iova)}, +${hex(m.size)}) failed: ${errText(e)}`);
      }
    }
    const dropped = this.maps.length;
    this.maps.length = 0;
    const device = this.host.device;
    if (!device.closed) {
      const irqs = device.getInfo().numIrqs;
      for (let i = 0; i < irqs; i++) {
        if (device.getIrqInfo(i).count === 0) continue;
        try {
          device.setIrqs({ flags: 0x21, index: i, start: 0, count: 0 });
        } catch (e) {
          this.host.log('error', `disconnect: disabling IRQ index ${i} failed: ${errText(e)}`);
        }
      }
    }
    for (const t of this.triggers.values()) this.closeTrigger(t);
    this.triggers.clear();
    this.stream = null;
    this.host.log('disconnect', `client disconnected (${reason}); ${dropped} DMA map(s) dropped, triggers removed, device state kept`);
    this.onEnd();
  }

  /** Delivers an interrupt to `t`'s eventfd once every earlier DMA_WRITE was acknowledged. */
  raise(t: EventfdTrigger): void {
    this.port.deliverAfterWrites(() => {
      if (!t.closed) this.host.native?.eventfdWrite(t.fd, 1);
    });
  }

  private dispatch(h: MessageHeader, payload: Uint8Array, fds: number[]): void {
    if (this.ended) return this.closeFds(fds);
    const type = h.flags & FLAG_TYPE_MASK;
    if (type === FLAG_TYPE_REPLY) {
      this.closeFds(fds);
      if (!this.port.reply(h, payload)) this.fail(h, protocolError(`a reply (msg_id ${h.msgId}, ${commandName(h.command)}) nobody asked for`));
      return;
    }
    if (type !== FLAG_TYPE_COMMAND) {
      this.closeFds(fds);
      return this.fail(h, protocolError(`message type ${type} is neither command nor reply`));
    }
    if (!this.negotiated) return this.version(h, payload, fds);
    try {
      this.command(h, payload, fds);
    } catch (e) {
      this.fail(h, e);
    }
  }

  /** §11.4: the first message must be a valid VERSION; anything else is EINVAL and the end of the connection. */
  private version(h: MessageHeader, payload: Uint8Array, fds: number[]): void {
    try {
      if (h.command !== Cmd.VERSION) throw protocolError(`the first message must be VERSION, not ${commandName(h.command)}`);
      if (fds.length > 0) throw protocolError('VERSION carries no fds');
      const v = decodeVersion(payload);
      const caps = serverCapabilities(v, this.deviceMigrates());
      const minor = Math.min(v.minor, PROTOCOL_MINOR);
      this.caps = v.caps;
      this.negotiated = true;
      this.reply(h, encodeVersion(0, minor, caps));
      this.host.log('version', `version 0.${minor} negotiated (client proposed 0.${v.minor}; max_data_xfer_size ${v.caps.maxDataXferSize}, max_msg_fds ${v.caps.maxMsgFds}${v.caps.writeMultiple ? ', write_multiple' : ''})`, {
        minor,
        maxDataXferSize: v.caps.maxDataXferSize,
      });
    } catch (e) {
      this.closeFds(fds);
      this.fail(h, e);
      this.channel.close('version negotiation failed');
    }
  }

  private command(h: MessageHeader, p: Uint8Array, fds: number[]): void {
    const dev = this.host.device;
    switch (h.command) {
      case Cmd.DEVICE_GET_INFO: {
        this.noFds(fds);
        if (p.length !== 16) throw protocolError(`DEVICE_GET_INFO: payload of ${p.length} bytes, 16 expected`);
        const argsz = u32(p, 0);
        if (argsz < 16) throw protocolError(`DEVICE_GET_INFO: argsz ${argsz} < 16`);
        // The vfio-user reply is the 16-byte structure with argsz 16 (§2).
        return this.reply(h, encodeDeviceInfo(dev.getInfo(), 16));
      }
      case Cmd.DEVICE_GET_REGION_INFO: {
        this.noFds(fds);
        if (p.length !== 32) throw protocolError(`DEVICE_GET_REGION_INFO: payload of ${p.length} bytes, 32 expected`);
        const argsz = u32(p, 0);
        if (argsz < 32) throw protocolError(`DEVICE_GET_REGION_INFO: argsz ${argsz} < 32`);
        return this.reply(h, encodeRegionInfo(wireRegionInfo(dev.getRegionInfo(u32(p, 8))), argsz, 'reply'));
      }
      case Cmd.DEVICE_GET_REGION_IO_FDS:
        this.closeFds(fds);
        throw protocolError('DEVICE_GET_REGION_IO_FDS is not supported');
      case Cmd.DEVICE_GET_IRQ_INFO: {
        this.noFds(fds);
        if (p.length !== 16) throw protocolError(`DEVICE_GET_IRQ_INFO: payload of ${p.length} bytes, 16 expected`);
        const argsz = u32(p, 0);
        if (argsz < 16) throw protocolError(`DEVICE_GET_IRQ_INFO: argsz ${argsz} < 16`);
        return this.reply(h, encodeIrqInfo(dev.getIrqInfo(u32(p, 8)), 16));
      }
      case Cmd.DEVICE_SET_IRQS:
        return this.setIrqs(h, p, fds);
      case Cmd.REGION_READ: {
        this.noFds(fds);
        const a = decodeRegionAccess(p, false, 'REGION_READ');
        const out = new Uint8Array(HEADER_SIZE + REGION_ACCESS_SIZE + a.count);
        out.set(p, HEADER_SIZE);
        dev.readRegion(a.region, a.offset, out.subarray(HEADER_SIZE + REGION_ACCESS_SIZE));
        return this.replyRaw(h, out);
      }
      case Cmd.REGION_WRITE: {
        this.noFds(fds);
        const a = decodeRegionAccess(p, true, 'REGION_WRITE');
        dev.writeRegion(a.region, a.offset, p.subarray(REGION_ACCESS_SIZE));
        return this.reply(h, p.subarray(0, REGION_ACCESS_SIZE));
      }
      case Cmd.REGION_WRITE_MULTI: {
        this.noFds(fds);
        if (this.caps?.writeMultiple !== true) throw protocolError('REGION_WRITE_MULTI was not negotiated (write_multiple)');
        const n = decodeWriteMultiCount(p);
        for (let i = 0; i < n; i++) {
          const e = p.subarray(8 + WRITE_MULTI_ENTRY_SIZE * i, 8 + WRITE_MULTI_ENTRY_SIZE * (i + 1));
          const a = decodeRegionAccess(e.subarray(0, REGION_ACCESS_SIZE), false, `REGION_WRITE_MULTI entry ${i}`);
          dev.writeRegion(a.region, a.offset, e.subarray(REGION_ACCESS_SIZE, REGION_ACCESS_SIZE + a.count));
        }
        return this.reply(h, p.subarray(0, 8));
      }
      case Cmd.DEVICE_RESET:
        this.noFds(fds);
        if (p.length !== 0) throw protocolError(`DEVICE_RESET: payload of ${p.length} bytes, none expected`);
        dev.reset();
        this.host.log('reset', 'device reset by the client');
        return this.reply(h, null);
      case Cmd.DEVICE_FEATURE:
        this.noFds(fds);
        return this.feature(h, p);
      case Cmd.DMA_MAP:
        return this.dmaMap(h, p, fds);
      case Cmd.DMA_UNMAP:
        this.noFds(fds);
        return this.dmaUnmap(h, p);
      case Cmd.MIG_DATA_READ:
        this.noFds(fds);
        return this.migRead(h, p);
      case Cmd.MIG_DATA_WRITE:
        this.noFds(fds);
        return this.migWrite(h, p);
      case Cmd.VERSION:
        this.closeFds(fds);
        throw protocolError('VERSION was already negotiated');
      default:
        this.closeFds(fds);
        throw protocolError(`unknown command ${h.command}${h.command === Cmd.DMA_READ || h.command === Cmd.DMA_WRITE ? ' (a server-to-client command)' : ''}`);
    }
  }

  /** SET_IRQS with the eventfds as SCM_RIGHTS fds (§11.7): fds = count, or 0 to de-assign. */
  private setIrqs(h: MessageHeader, p: Uint8Array, fds: number[]): void {
    let installed: EventfdTrigger[] = [];
    try {
      if (p.length < 20) throw protocolError(`DEVICE_SET_IRQS: payload of ${p.length} bytes, at least 20 needed`);
      const s = decodeIrqSet(p);
      if (s.argsz !== p.length) throw protocolError(`DEVICE_SET_IRQS: argsz ${s.argsz} disagrees with the ${p.length}-byte payload`);
      const dataType = s.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
      if (dataType === VFIO_IRQ_SET_DATA_BOOL && fds.length > 0) throw protocolError('DEVICE_SET_IRQS: DATA_BOOL with fds attached');
      if (dataType !== VFIO_IRQ_SET_DATA_BOOL && p.length !== 20) throw protocolError(`DEVICE_SET_IRQS: ${p.length - 20} data bytes without DATA_BOOL`);
      if (fds.length > 0 && dataType !== VFIO_IRQ_SET_DATA_EVENTFD) throw protocolError('DEVICE_SET_IRQS: fds attached without DATA_EVENTFD (check 13)');
      let data: Uint8Array | (IrqTrigger | null)[] | undefined;
      if (dataType === VFIO_IRQ_SET_DATA_BOOL) data = s.payload;
      else if (dataType === VFIO_IRQ_SET_DATA_EVENTFD) {
        if (fds.length !== 0 && fds.length !== s.count) throw protocolError(`DEVICE_SET_IRQS: ${fds.length} fds for count ${s.count} (check 14)`);
        installed = fds.map((fd) => new EventfdTrigger(this, fd));
        // 0 fds de-assigns the range. A count beyond the index fails the checklist (check 8) before the
        // slots are looked at: never allocate for a hostile count.
        const fits = s.index < this.host.device.getInfo().numIrqs && s.count <= this.host.device.getIrqInfo(s.index).count;
        data = fds.length > 0 ? installed : fits ? new Array<null>(s.count).fill(null) : [];
      }
      this.host.device.setIrqs({ flags: s.flags, index: s.index, start: s.start, count: s.count, ...(data !== undefined ? { data } : {}) });
      // Replaced or removed triggers close their fds; the new ones are remembered.
      if ((s.flags & VFIO_IRQ_SET_ACTION_TRIGGER) !== 0 && (dataType === VFIO_IRQ_SET_DATA_EVENTFD || s.count === 0)) {
        const vectors = s.count === 0 ? this.host.device.getIrqInfo(s.index).count : s.count;
        for (let i = 0; i < vectors; i++) {
          const key = `${s.index}:${s.start + i}`;
          const old = this.triggers.get(key);
          if (old !== undefined) this.closeTrigger(old);
          const t = s.count === 0 ? undefined : installed[i];
          if (t === undefined) this.triggers.delete(key);
          else this.triggers.set(key, t);
        }
      }
      installed = [];
      if (dataType === VFIO_IRQ_SET_DATA_EVENTFD && s.count > 0) {
        const what = fds.length === 0 ? 'de-assigned' : 'installed';
        this.host.log('irqs', `IRQ index ${s.index} vectors ${s.start}..${s.start + s.count - 1}: ${fds.length} eventfd(s) ${what}`, { index: s.index, start: s.start, count: s.count, fds: fds.length });
        if (!this.channel.fdPassing && s.index === VFIO_PCI_MSIX_IRQ_INDEX) {
          this.host.logOnce(
            'no-irq',
            'notice',
            'the client enabled MSI-X, but this transport cannot pass file descriptors: its eventfds were discarded and the device cannot interrupt (build the fd-passing addon for interrupts)',
          );
        }
      }
      this.reply(h, null);
    } catch (e) {
      for (const t of installed) this.closeTrigger(t);
      if (installed.length === 0) this.closeFds(fds);
      throw e;
    }
  }

  private feature(h: MessageHeader, p: Uint8Array): void {
    if (p.length < 8) throw protocolError(`DEVICE_FEATURE: payload of ${p.length} bytes, at least 8 needed`);
    const argsz = u32(p, 0);
    const flags = u32(p, 4);
    if (argsz < 8) throw protocolError(`DEVICE_FEATURE: argsz ${argsz} < 8`);
    const get = (flags & VFIO_DEVICE_FEATURE_GET) !== 0 && (flags & VFIO_DEVICE_FEATURE_PROBE) === 0;
    if (get ? argsz < p.length : argsz !== p.length) throw protocolError(`DEVICE_FEATURE: argsz ${argsz} disagrees with the ${p.length}-byte payload`);
    // GET answers up to argsz bytes (the request's data is the input); SET and PROBE echo the request.
    const size = get ? Math.min(argsz, MAX_DATA_XFER_SIZE) : p.length;
    const out = new Uint8Array(size);
    out.set(p.subarray(0, Math.min(p.length, size)));
    const stream = this.host.device.feature(flags, out.subarray(8));
    if (stream !== null && (flags & VFIO_DEVICE_FEATURE_MASK) === VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE && (flags & VFIO_DEVICE_FEATURE_SET) !== 0) this.stream = stream;
    new DataView(out.buffer).setUint32(0, size, true);
    this.reply(h, out);
  }

  private migRead(h: MessageHeader, p: Uint8Array): void {
    if (p.length !== 8) throw protocolError(`MIG_DATA_READ: payload of ${p.length} bytes, 8 expected`);
    const size = u32(p, 4);
    if (size > MAX_DATA_XFER_SIZE) throw protocolError(`MIG_DATA_READ: size ${size} exceeds ${MAX_DATA_XFER_SIZE}`);
    // vfio-uapi.md §11.9: valid in PRE_COPY and STOP_COPY only, EINVAL elsewhere.
    const stream = this.stream;
    if (stream === null || !stream.valid || !stream.saving) throw protocolError('MIG_DATA_READ: no saving stream is open (the device is not in PRE_COPY or STOP_COPY)');
    const out = new Uint8Array(8 + size);
    let n = 0;
    try {
      n = stream.read(out.subarray(8));
    } catch (e) {
      // PRE_COPY with nothing new: a short read (here of 0 bytes) says so.
      if (!(e instanceof VfioError && e.code === 'ENOMSG')) throw e;
    }
    const v = new DataView(out.buffer);
    v.setUint32(0, 8 + n, true);
    v.setUint32(4, n, true);
    this.reply(h, out.subarray(0, 8 + n));
  }

  private migWrite(h: MessageHeader, p: Uint8Array): void {
    if (p.length < 8 || u32(p, 4) !== p.length - 8) throw protocolError(`MIG_DATA_WRITE: payload of ${p.length} bytes disagrees with its size`);
    const stream = this.stream;
    if (stream === null || !stream.valid || stream.saving) throw protocolError('MIG_DATA_WRITE: no loading stream is open (the device is not in RESUMING)');
    const data = p.subarray(8);
    for (let at = 0; at < data.length; ) at += Math.max(1, stream.write(data.subarray(at)));
    this.reply(h, null);
  }

  /** DMA_MAP (§11.8): with an fd, its pages are mapped shared (zero copy); without, the client's memory is reached by messages. */
  private dmaMap(h: MessageHeader, p: Uint8Array, fds: number[]): void {
    let fd = -1;
    try {
      if (fds.length > 1) throw protocolError(`DMA_MAP: ${fds.length} fds attached, at most 1`);
      fd = fds.length === 1 ? (fds[0] as number) : -1;
      const m = decodeDmaMapMessage(p);
      const where = `DMA_MAP [${hex(m.address)}, +${hex(m.size)})`;
      if ((m.flags & ~RW) !== 0 || (m.flags & RW) === 0) throw protocolError(`${where}: flags ${hex(m.flags)} (READ 1 and/or WRITE 2 only)`);
      if (m.size === 0 || m.address % PAGE !== 0 || m.size % PAGE !== 0) throw protocolError(`${where}: address and size must be non-zero multiples of 4 KiB`);
      if (m.address + m.size > 2 ** 53) throw protocolError(`${where}: ends beyond 2^53`);
      const clash = this.maps.find((x) => x.iova < m.address + m.size && m.address < x.iova + x.size);
      if (clash !== undefined) throw new VfioError('EEXIST', `${where}: overlaps [${hex(clash.iova)}, +${hex(clash.size)})`);
      if (this.maps.length >= this.host.ioas.maxMappings) throw new VfioError('ENOSPC', `${where}: ${this.host.ioas.maxMappings} maps already present`);
      let kind: SessionMap['kind'];
      const native = this.host.native;
      if (fd >= 0 && native !== null) {
        if (m.offset % PAGE !== 0) throw protocolError(`${where}: fd offset ${hex(m.offset)} is not page aligned`);
        let buffer: ArrayBuffer;
        try {
          buffer = native.mmap(fd, m.offset, m.size, (m.flags & VFIO_DMA_MAP_FLAG_WRITE) !== 0);
        } catch (e) {
          throw new VfioError('EINVAL', `${where}: cannot map the fd: ${errText(e)}`);
        }
        this.host.ioas.map({ iova: m.address, size: m.size, memory: new GuestMemory(buffer), offset: 0, flags: m.flags });
        kind = 'fd';
      } else {
        const remote = remoteCapable(this.host.ioas);
        if (remote !== null) {
          remote.mapRemote({ iova: m.address, size: m.size, flags: m.flags, port: this.port });
          kind = 'remote';
        } else {
          kind = 'unreachable';
          this.host.logOnce(
            'no-remote',
            'notice',
            'a DMA map arrived without shared memory, and this build has no remote-memory support: the device cannot reach such ranges (its DMA there faults); share guest memory (memory-backend-memfd,share=on) with the fd-passing addon',
          );
        }
      }
      this.maps.push({ iova: m.address, size: m.size, flags: m.flags, kind });
      this.host.log('map', `DMA map [${hex(m.address)}, +${hex(m.size)}) ${(m.flags & VFIO_DMA_MAP_FLAG_READ) !== 0 ? 'R' : ''}${(m.flags & VFIO_DMA_MAP_FLAG_WRITE) !== 0 ? 'W' : ''} ${kind === 'fd' ? 'shared by fd' : kind === 'remote' ? 'by messages' : 'unreachable'}`, {
        iova: m.address,
        size: m.size,
        flags: m.flags,
        via: kind,
      });
      this.reply(h, null);
    } finally {
      if (fd >= 0) this.host.native?.close(fd);
    }
  }

  /** DMA_UNMAP (§11.8): an exact previous map (ENOENT otherwise), or ALL; answered once no DMA to it is in flight. */
  private dmaUnmap(h: MessageHeader, p: Uint8Array): void {
    const u = decodeDmaUnmapMessage(p);
    const where = `DMA_UNMAP [${hex(u.address)}, +${hex(u.size)})`;
    let victims: SessionMap[];
    if (u.flags === VFIO_DMA_UNMAP_FLAG_ALL) {
      if (u.address !== 0 || u.size !== 0) throw protocolError(`${where}: ALL needs address = size = 0`);
      victims = [...this.maps];
    } else if (u.flags === 0) {
      const m = this.maps.find((x) => x.iova === u.address && x.size === u.size);
      if (m === undefined) throw new VfioError('ENOENT', `${where}: no map matches exactly`);
      victims = [m];
    } else throw protocolError(`${where}: flags ${hex(u.flags)} (0 or ALL only)`);
    const remote = remoteCapable(this.host.ioas);
    const waits: Promise<number>[] = [];
    for (const m of victims) {
      this.maps.splice(this.maps.indexOf(m), 1);
      const req = { iova: m.iova, size: m.size, flags: 0 };
      if (m.kind === 'remote' && remote !== null) waits.push(remote.unmapAsync(req));
      else if (m.kind === 'fd' || m.kind === 'remote') this.host.ioas.unmap(req);
    }
    this.host.log('unmap', `DMA unmap ${u.flags === VFIO_DMA_UNMAP_FLAG_ALL ? 'of every map' : `[${hex(u.address)}, +${hex(u.size)})`} (${victims.length} map(s))`, { iova: u.address, size: u.size });
    const echo = encodeDmaUnmapMessage({ flags: u.flags, address: u.address, size: u.size });
    if (waits.length === 0) return this.reply(h, echo);
    Promise.all(waits).then(
      () => {
        if (!this.ended) this.reply(h, echo);
      },
      (e: unknown) => {
        if (!this.ended) this.fail(h, e);
      },
    );
  }

  private deviceMigrates(): boolean {
    try {
      this.host.device.migrationFlags();
      return true;
    } catch {
      return false;
    }
  }

  /** Replies with `payload` (none when null), unless the request asked for no reply. */
  private reply(h: MessageHeader, payload: Uint8Array | null): void {
    if ((h.flags & FLAG_NO_REPLY) !== 0) return;
    const n = payload === null ? 0 : payload.length;
    const out = new Uint8Array(HEADER_SIZE + n);
    if (payload !== null) out.set(payload, HEADER_SIZE);
    this.replyRaw(h, out);
  }

  /** Replies with `out`, whose first 16 bytes are left for the header. */
  private replyRaw(h: MessageHeader, out: Uint8Array): void {
    if ((h.flags & FLAG_NO_REPLY) !== 0) return;
    writeHeader(new DataView(out.buffer, out.byteOffset, HEADER_SIZE), 0, h.msgId, h.command, out.length, FLAG_TYPE_REPLY);
    this.channel.send(out);
  }

  /** Logs a failed request and answers it with an error reply (unless NO_REPLY). */
  private fail(h: MessageHeader, e: unknown): void {
    const errno = e instanceof VfioError ? e.errno : 5;
    const text = e instanceof VfioError ? e.message : `internal error: ${errText(e)}`;
    this.host.log('error', `msg ${h.msgId} ${commandName(h.command)}: ${text}`, { msgId: h.msgId, command: h.command, errno });
    if ((h.flags & FLAG_NO_REPLY) !== 0 || this.channel.isClosed) return;
    this.channel.send(encodeErrorReply(h.msgId, h.command, errno));
  }

  private noFds(fds: number[]): void {
    if (fds.length > 0) {
      this.host.log('notice', `${fds.length} fd(s) attached to a message that takes none were closed`);
      this.closeFds(fds);
    }
  }

  private closeFds(fds: readonly number[]): void {
    const native = this.host.native;
    if (native !== null) for (const fd of fds) native.close(fd);
  }

  private closeTrigger(t: EventfdTrigger): void {
    if (t.closed) return;
    t.closed = true;
    this.host.native?.close(t.fd);
  }
}

/** Region info as the wire shows it: nothing is mappable over vfio-user (no MMAP, no sparse areas), offset 0. */
function wireRegionInfo(info: RegionInfo): RegionInfo {
  return {
    index: info.index,
    flags: info.flags & ~VFIO_REGION_INFO_FLAG_MMAP,
    size: info.size,
    offset: 0,
    caps: info.caps.filter((c) => c.id === VFIO_REGION_INFO_CAP_TYPE),
  };
}

function u32(p: Uint8Array, at: number): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(at, true);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
