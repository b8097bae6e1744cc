/**
 * The vfio-user wire fuzzer: a hostile client against a server session over a served vdev (automatic
 * DSA model), seeded and deterministic. Each step sends one message — well-formed or mutated: wrong
 * lengths, wrong argsz, unknown commands, replies nobody asked for, bad flags, NO_REPLY — or raw
 * garbage, an oversized header or a header below 16 bytes, cut into random chunks; sometimes the client
 * goes and another comes. Invariants, checked after every step:
 *
 * - nothing escapes: the session never throws;
 * - memory stays bounded: at most one message is held (≤ the 1 MiB + 32 limit), and the replies to one
 *   step never exceed what its requests can ask for;
 * - the server's own output is well framed: every reply's size is its length, an error reply is the
 *   16-byte header with flags reply|error and a non-zero errno;
 * - on a connection that was never desynchronized, every reply answers a command the client sent,
 *   without NO_REPLY, once (or is the EINVAL for a reply nobody asked for);
 * - the server is never wedged: after each client, a well-behaved client negotiates and reads the
 *   device info and the vendor id correctly.
 */
import { DEMO_CONFIG } from '../../src/cli/system.js';
import { DsaDevice } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { encodeIrqSet } from '../../src/vfio/index.js';
import {
  type Channel,
  encodeMessage,
  encodeVersion,
  FLAG_ERROR,
  FLAG_NO_REPLY,
  FLAG_TYPE_MASK,
  FLAG_TYPE_REPLY,
  HEADER_SIZE,
  MAX_MESSAGE_SIZE,
  MessageReader,
  type MessageHeader,
  Session,
  VfioUserCommand as Cmd,
  VfioUserServer,
} from '../../src/vfio-user/index.js';
import { DEDICATED_TYPE, SHARED_TYPE, VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { Prng } from '../util/prng.js';
import { Tally } from './stats.js';

/** What a wire fuzz run reports. */
export interface WireFuzzResult {
  /** Steps done. */
  readonly steps: number;
  /** Sessions opened (hostile ones; each followed by a well-behaved check). */
  readonly sessions: number;
  /** Messages by what was sent. */
  readonly sent: Tally;
  /** Replies by outcome (`ok <command>`, or the errno name of an error reply). */
  readonly answers: Tally;
  /** The first broken invariant, or null. */
  readonly violation: { readonly step: number; readonly invariant: string; readonly message: string; readonly last: readonly string[] } | null;
}

/** A channel in memory: the server's replies are parsed and kept for the fuzzer. */
class MemoryChannel implements Channel {
  readonly fdPassing = false;
  isClosed = false;
  queued = 0;
  readonly replies: { header: MessageHeader; size: number; payload: number }[] = [];
  framingErrors: string[] = [];
  onClose: (reason: string) => void = () => undefined;
  private readonly reader = new MessageReader(MAX_MESSAGE_SIZE + 64, {
    message: (header, payload) => this.replies.push({ header, size: header.size, payload: payload.length }),
    oversize: (h) => this.framingErrors.push(`server sent a ${h.size}-byte message`),
    malformed: (h) => this.framingErrors.push(`server sent a header of size ${h.size}`),
  });

  send(bytes: Uint8Array): void {
    if (this.isClosed) return;
    const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    if (size !== bytes.length) this.framingErrors.push(`reply header says ${size} bytes, ${bytes.length} sent`);
    this.reader.push(bytes);
  }

  close(reason = 'closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onClose(reason);
  }
}

const COMMANDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18] as const;

/** A plausible payload for `cmd` (the fuzzer then maybe mutates it). */
function payloadFor(cmd: number, r: Prng): Uint8Array {
  const u32 = (...v: number[]): Uint8Array => {
    const out = new Uint8Array(4 * v.length);
    v.forEach((x, i) => new DataView(out.buffer).setUint32(4 * i, x >>> 0, true));
    return out;
  };
  const u64 = (v: number): Uint8Array => u32(v % 0x1_0000_0000, Math.floor(v / 0x1_0000_0000));
  const cat = (...p: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
    let at = 0;
    for (const x of p) {
      out.set(x, at);
      at += x.length;
    }
    return out;
  };
  const region = r.pick([0, 0, 2, 7, 7, 1, 6, 9]);
  const count = r.pick([1, 2, 4, 8, 64, r.below(5000)]);
  const offset = r.chance(0.8) ? r.below(0x2000) & ~(count >= 8 ? 7 : count - 1 >= 0 ? count - 1 : 0) : r.u32();
  switch (cmd) {
    case Cmd.VERSION:
      return encodeVersion(0, r.below(4), r.chance(0.5) ? { max_msg_fds: r.below(20), max_data_xfer_size: r.range(1, 1 << 20), write_multiple: r.chance(0.5) } : {});
    case Cmd.DMA_MAP:
      return cat(u32(32, r.pick([1, 2, 3, 0, 7])), u64(0), u64(r.below(64) * 0x1000), u64(r.range(0, 16) * 0x1000));
    case Cmd.DMA_UNMAP:
      return cat(u32(24, r.pick([0, 0, 2, 1])), u64(r.below(64) * 0x1000), u64(r.range(0, 16) * 0x1000));
    case Cmd.DEVICE_GET_INFO:
      return u32(r.pick([16, 24, 8]), 0, 0, 0);
    case Cmd.DEVICE_GET_REGION_INFO:
      return cat(u32(r.pick([32, 80, 16, 4096]), 0, r.below(11), 0), u64(0), u64(0));
    case Cmd.DEVICE_GET_IRQ_INFO:
    case Cmd.DEVICE_GET_REGION_IO_FDS:
      return u32(16, 0, r.below(6), 0);
    case Cmd.DEVICE_SET_IRQS: {
      const flags = r.pick([0x24, 0x21, 0x22, 0x29, 0x31, r.below(64)]);
      const n = r.below(3);
      return encodeIrqSet({ flags, index: r.below(6), start: r.below(3), count: n, ...((flags & 2) !== 0 ? { bools: new Array<number>(n).fill(1) } : {}) });
    }
    case Cmd.REGION_READ:
      return cat(u64(offset), u32(region, count));
    case Cmd.REGION_WRITE: {
      const data = new Uint8Array(Math.min(count, 256));
      r.fill(data);
      return cat(u64(offset), u32(region, data.length), data);
    }
    case Cmd.REGION_WRITE_MULTI: {
      const n = r.range(0, 3);
      const parts = [u64(n)];
      for (let i = 0; i < n; i++) parts.push(u64(r.below(0x1000) & ~3), u32(r.pick([0, 7]), r.pick([1, 2, 4, 8, 9])), new Uint8Array(8));
      return cat(...parts);
    }
    case Cmd.DMA_READ:
    case Cmd.DMA_WRITE:
      return cat(u64(r.below(0x100000)), u64(r.below(64)));
    case Cmd.DEVICE_FEATURE:
      return cat(u32(r.pick([16, 8, 4]), r.pick([0x10001, 0x20002, 0x40001, r.u32()])), new Uint8Array(r.pick([0, 8])));
    case Cmd.MIG_DATA_READ:
      return u32(8, r.below(64));
    case Cmd.MIG_DATA_WRITE:
      return u32(8, 0);
    default:
      return new Uint8Array(0);
  }
}

/** Runs the wire fuzzer; a broken invariant ends the run and is returned, never thrown. */
export function runWireFuzz(o: { readonly seed: number; readonly ops: number; readonly onProgress?: (steps: number) => void }): WireFuzzResult {
  const r = new Prng(o.seed ^ 0x5f17);
  const dev = new DsaDevice({ mode: 'automatic' });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(DEMO_CONFIG);
  const parent = new VidxdParent(host);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  const type = r.chance(0.5) ? DEDICATED_TYPE : SHARED_TYPE;
  bus.create(`${parent.name}-${type}`, '0f00f00f-0000-4000-8000-000000000001');
  const device = bus.open('0f00f00f-0000-4000-8000-000000000001');
  const server = new VfioUserServer(device, { transport: 'net' });
  const sent = new Tally();
  const answers = new Tally();
  const last: string[] = [];
  let sessions = 0;
  let step = 0;

  const note = (s: string): void => {
    last.push(s);
    if (last.length > 12) last.shift();
  };
  const fail = (invariant: string, message: string): WireFuzzResult => ({ steps: step, sessions, sent, answers, violation: { step, invariant, message, last: [...last] } });

  /** A session over a memory channel. */
  const open = (): { session: Session; channel: MemoryChannel } => {
    const channel = new MemoryChannel();
    const session = new Session(server, channel, () => undefined);
    channel.onClose = (reason) => session.end(reason);
    return { session, channel };
  };

  /** The well-behaved client: must be served exactly. */
  const probe = (): string | null => {
    const { session, channel } = open();
    const u = new Uint8Array(16);
    new DataView(u.buffer).setUint32(0, 16, true);
    const rd = new Uint8Array(16);
    new DataView(rd.buffer).setUint32(8, 7, true);
    new DataView(rd.buffer).setUint32(12, 4, true);
    session.data(encodeMessage(1, Cmd.VERSION, 0, encodeVersion(0, 0, {})), []);
    session.data(encodeMessage(2, Cmd.DEVICE_GET_INFO, 0, u), []);
    session.data(encodeMessage(3, Cmd.REGION_READ, 0, rd), []);
    channel.close('probe done');
    const [v, info, read] = channel.replies;
    if (channel.replies.length !== 3 || v?.header.flags !== FLAG_TYPE_REPLY || info?.header.flags !== FLAG_TYPE_REPLY || read?.header.flags !== FLAG_TYPE_REPLY) {
      return `a well-behaved client got ${JSON.stringify(channel.replies.map((x) => x.header))}`;
    }
    const cfg = new Uint8Array(4);
    device.readRegion(7, 0, cfg);
    if (cfg[0] !== 0x86 || cfg[1] !== 0x80) return 'the vendor id changed';
    return null;
  };

  try {
    let { session, channel } = open();
    sessions++;
    let clean = true;
    let negotiated = false;
    const expect = new Map<number, { noReply: boolean; reply: boolean; answered: boolean }>();
    let msgId = 0;
    for (; step < o.ops; step++) {
      if (step % 1024 === 0) o.onProgress?.(step);
      const before = channel.replies.length;
      let asked = 0;
      const action = r.below(100);
      const chunks: Uint8Array[] = [];
      if (channel.isClosed || action < 3) {
        // The client goes; the server must serve the next one.
        channel.close('fuzz: client leaves');
        const bad = probe();
        if (bad !== null) return fail('served-after', bad);
        ({ session, channel } = open());
        sessions++;
        clean = true;
        negotiated = false;
        expect.clear();
        note('reconnect');
        continue;
      } else if (action < 6) {
        const g = new Uint8Array(r.range(1, 200));
        r.fill(g);
        chunks.push(g);
        clean = false;
        sent.add('garbage');
        note(`garbage ${g.length} bytes`);
      } else if (action < 8) {
        const id = msgId++ & 0xffff;
        expect.set(id, { noReply: false, reply: false, answered: false });
        const h = encodeMessage(id, r.pick(COMMANDS), 0, null);
        const size = r.chance(0.5) ? r.below(16) : MAX_MESSAGE_SIZE + 1 + r.below(1 << 22);
        new DataView(h.buffer).setUint32(4, size, true);
        chunks.push(h);
        if (size < 16) clean = false;
        else {
          // Stream part of the oversized body: the server discards it.
          const body = Math.min(size - 16, r.below(3 << 20));
          chunks.push(new Uint8Array(body));
          if (body < size - 16) clean = false;
        }
        asked++;
        sent.add(size < 16 ? 'header<16' : 'oversize');
        note(`header size ${size}`);
      } else {
        const cmd = !negotiated && r.chance(0.8) ? Cmd.VERSION : r.chance(0.95) ? r.pick(COMMANDS) : r.below(0x10000);
        let p = payloadFor(cmd, r);
        const mutate = r.below(10);
        if (mutate === 0 && p.length > 0) p = p.subarray(0, r.below(p.length));
        else if (mutate === 1) {
          const q = new Uint8Array(p.length + r.range(1, 9));
          q.set(p);
          p = q;
        } else if (mutate === 2 && p.length > 0) p[r.below(p.length)] = r.below(256);
        let flags = 0;
        const f = r.below(20);
        if (f === 0) flags = FLAG_TYPE_REPLY;
        else if (f === 1) flags = r.below(16);
        else if (f < 5) flags = FLAG_NO_REPLY;
        else if (f === 5) flags = r.u32();
        const id = msgId++ & 0xffff;
        const msg = encodeMessage(id, cmd, flags, p);
        const type = flags & FLAG_TYPE_MASK;
        expect.set(id, { noReply: (flags & FLAG_NO_REPLY) !== 0, reply: type !== 0, answered: false });
        if (cmd === Cmd.VERSION && type === 0) negotiated = true;
        // Split into random chunks.
        let at = 0;
        while (at < msg.length) {
          const n = r.chance(0.7) ? msg.length - at : r.range(1, msg.length - at);
          chunks.push(msg.subarray(at, at + n));
          at += n;
        }
        asked++;
        sent.add(`cmd ${cmd <= 18 ? cmd : 'unknown'}${flags !== 0 ? ` flags ${flags & 0x3f}` : ''}`);
        note(`msg ${id} cmd ${cmd} flags 0x${(flags >>> 0).toString(16)} payload ${p.length}`);
      }
      for (const c of chunks) {
        try {
          session.data(c, []);
        } catch (e) {
          return fail('no-exception', `session.data threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
        if (session.buffered > MAX_MESSAGE_SIZE) return fail('bounded-memory', `${session.buffered} bytes held for one message`);
      }
      if (channel.framingErrors.length > 0) return fail('well-framed', channel.framingErrors.join('; '));
      const fresh = channel.replies.slice(before);
      const bytes = chunks.reduce((n, c) => n + c.length, 0);
      if (fresh.length > Math.max(asked, Math.floor(bytes / HEADER_SIZE)) + 1) return fail('bounded-replies', `${fresh.length} replies to ${asked} request(s) in ${bytes} bytes`);
      for (const rep of fresh) {
        const h = rep.header;
        if ((h.flags & FLAG_ERROR) !== 0) {
          if (rep.size !== HEADER_SIZE || h.flags !== (FLAG_TYPE_REPLY | FLAG_ERROR) || h.error === 0) return fail('well-framed', `error reply ${JSON.stringify(h)}`);
          answers.add(`errno ${h.error}`);
        } else answers.add(`ok cmd ${h.command}`);
        if (!clean) continue;
        const e = expect.get(h.msgId);
        if (e === undefined) return fail('answers-a-request', `reply to msg ${h.msgId}, which was never sent`);
        if (e.answered) return fail('answers-a-request', `msg ${h.msgId} answered twice`);
        if (e.noReply) return fail('no-reply-honoured', `msg ${h.msgId} had NO_REPLY and was answered`);
        if (e.reply && (h.flags & FLAG_ERROR) === 0) return fail('answers-a-request', `a reply-typed message ${h.msgId} got a success reply`);
        e.answered = true;
      }
    }
    channel.close('fuzz: done');
    const bad = probe();
    if (bad !== null) return fail('served-after', bad);
    o.onProgress?.(step);
    return { steps: step, sessions, sent, answers, violation: null };
  } catch (e) {
    return fail('no-exception', `the fuzzer's harness threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}
