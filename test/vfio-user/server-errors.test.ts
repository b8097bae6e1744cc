/**
 * The error replies of `vfio-uapi.md` §11.11 and hostile input: bad headers, oversized messages
 * (refused without being buffered), unknown commands, unsolicited replies, SET_IRQS misuse, a client
 * that stops reading — and after each, a well-behaved client is served normally.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeIrqSet,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
} from '../../src/vfio/index.js';
import {
  encodeMessage,
  FLAG_ERROR,
  FLAG_NO_REPLY,
  FLAG_TYPE_REPLY,
  MAX_MESSAGE_SIZE,
  MessageReader,
  VfioUserCommand as Cmd,
} from '../../src/vfio-user/index.js';
import { cat, RawClient, type Served, serveVdev, u32le, u64le } from './wire.js';

const ERR = FLAG_TYPE_REPLY | FLAG_ERROR;
let s: Served | null = null;

afterEach(async () => {
  await s?.server.close();
  s = null;
});

async function ready(): Promise<RawClient> {
  s = await serveVdev('net');
  const c = await RawClient.connect(s.path);
  await c.version();
  return c;
}

/** A well-behaved client after `c` went: negotiates and reads the vendor id. */
async function servedAfter(srv: Served): Promise<void> {
  for (let i = 0; i < 200 && srv.server.connected; i++) await new Promise((r) => setTimeout(r, 5));
  const d = await RawClient.connect(srv.path);
  await d.version();
  const r = await d.request(Cmd.REGION_READ, cat(u64le(0), u32le(7, 2)));
  expect([...r.payload.subarray(16)]).toEqual([0x86, 0x80]);
  d.close();
}

describe('§11.11 error replies', () => {
  it('header size < 16: EINVAL, then the connection is closed (the stream cannot be followed)', async () => {
    const c = await ready();
    const h = encodeMessage(7, Cmd.DEVICE_GET_INFO, 0, null);
    new DataView(h.buffer).setUint32(4, 12, true);
    c.send(h);
    expect((await c.next())?.header).toMatchObject({ msgId: 7, flags: ERR, error: 22, size: 16 });
    await c.closed;
    await servedAfter(s as Served);
  });

  it('header size > 1 MiB + 32: EINVAL at once, before the body arrives; its bytes are discarded as they stream; the next request is served', async () => {
    const c = await ready();
    const size = 3 * MAX_MESSAGE_SIZE;
    const h = encodeMessage(9, Cmd.REGION_WRITE, 0, null);
    new DataView(h.buffer).setUint32(4, size, true);
    c.send(h);
    expect((await c.next())?.header).toMatchObject({ msgId: 9, flags: ERR, error: 22 });
    const chunk = new Uint8Array(64 * 1024).fill(0x5a);
    for (let sent = 16; sent < size; sent += chunk.length) c.send(chunk.subarray(0, Math.min(chunk.length, size - sent)));
    const r = await c.request(Cmd.REGION_READ, cat(u64le(0), u32le(7, 2)));
    expect([...r.payload.subarray(16)]).toEqual([0x86, 0x80]);
    c.close();
  });

  it('an unknown command number, and DMA_READ/DMA_WRITE sent to the server: EINVAL', async () => {
    const c = await ready();
    for (const cmd of [0, 14, 19, 0xffff, Cmd.DMA_READ, Cmd.DMA_WRITE]) {
      expect((await c.request(cmd, new Uint8Array(16))).header).toMatchObject({ command: cmd, flags: ERR, error: 22 });
    }
    c.close();
  });

  it('a reply the server did not ask for: EINVAL; a message of type 2..15: EINVAL', async () => {
    const c = await ready();
    expect((await c.request(Cmd.DMA_READ, cat(u64le(0), u64le(4), new Uint8Array(4)), FLAG_TYPE_REPLY)).header).toMatchObject({ flags: ERR, error: 22 });
    expect((await c.request(Cmd.DEVICE_GET_INFO, u32le(16, 0, 0, 0), 5)).header).toMatchObject({ flags: ERR, error: 22 });
    c.close();
  });

  it('SET_IRQS: no payload, argsz that disagrees, bool bytes that disagree with count, data bytes without DATA_BOOL: EINVAL', async () => {
    const c = await ready();
    expect((await c.request(Cmd.DEVICE_SET_IRQS, null)).header.error).toBe(22);
    expect((await c.request(Cmd.DEVICE_SET_IRQS, new Uint8Array(12))).header.error).toBe(22);
    const bad = encodeIrqSet({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2 });
    new DataView(bad.buffer).setUint32(0, 24, true);
    expect((await c.request(Cmd.DEVICE_SET_IRQS, bad)).header.error).toBe(22);
    const bools = encodeIrqSet({ flags: VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2, bools: [1] });
    expect((await c.request(Cmd.DEVICE_SET_IRQS, bools)).header.error).toBe(22);
    const extra = cat(encodeIrqSet({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 1 }), new Uint8Array(4));
    new DataView(extra.buffer).setUint32(0, 24, true);
    expect((await c.request(Cmd.DEVICE_SET_IRQS, extra)).header.error).toBe(22);
    c.close();
  });

  it('SET_IRQS without fds: EVENTFD with 0 fds is a de-assignment answered with success; the §5.3 checklist still applies', async () => {
    const c = await ready();
    const srv = s as Served;
    const set = (flags: number, index: number, start: number, count: number): Uint8Array => encodeIrqSet({ flags, index, start, count });
    expect((await c.request(Cmd.DEVICE_SET_IRQS, set(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 2, 0, 2))).header.flags).toBe(FLAG_TYPE_REPLY);
    expect(srv.device.irqStatus(2)).toMatchObject({ enabled: true, size: 2, triggers: [null, null] });
    // Loopback on the enabled index signals nothing (no trigger), disable returns it to off.
    expect((await c.request(Cmd.DEVICE_SET_IRQS, set(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 2, 0, 2))).header.flags).toBe(FLAG_TYPE_REPLY);
    expect((await c.request(Cmd.DEVICE_SET_IRQS, set(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 2, 0, 0))).header.flags).toBe(FLAG_TYPE_REPLY);
    expect(srv.device.irqStatus(2).enabled).toBe(false);
    // Check 7 (INTx has count 0), check 4 (index 5), MSI-X MASK (ENOTTY).
    expect((await c.request(Cmd.DEVICE_SET_IRQS, set(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 0))).header.error).toBe(22);
    expect((await c.request(Cmd.DEVICE_SET_IRQS, set(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 5, 0, 1))).header.error).toBe(22);
    expect((await c.request(Cmd.DEVICE_SET_IRQS, set(VFIO_IRQ_SET_DATA_NONE | (1 << 3), 2, 0, 1))).header.error).toBe(25);
    expect(srv.events.filter((e) => e.message.includes('cannot interrupt'))).toHaveLength(1);
    c.close();
  });
});

describe('hostile input never wedges the server', () => {
  it('garbage bytes that happen to frame as messages are answered, and a good client is served afterwards', async () => {
    const c = await ready();
    const junk = new Uint8Array(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
    c.send(junk);
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 300))]);
    c.close();
    await servedAfter(s as Served);
  });

  it('a client that stops reading is disconnected once its replies pass the send-queue bound', async () => {
    s = await serveVdev('net', undefined, { sendQueueLimit: 256 * 1024 });
    const sock = connect(s.path);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.pause();
    sock.on('error', () => undefined);
    sock.write(encodeMessage(1, Cmd.VERSION, 0, new Uint8Array(4)));
    const read = encodeMessage(2, Cmd.REGION_READ, 0, cat(u64le(0), u32le(7, 4096)));
    const burst = new Uint8Array(read.length * 256);
    for (let i = 0; i < 256; i++) burst.set(read, i * read.length);
    for (let i = 0; i < 16; i++) sock.write(burst);
    // The paused socket never reads its EOF: watch the server's log instead.
    const srv = s;
    for (let i = 0; i < 400 && !srv.events.some((e) => e.kind === 'disconnect'); i++) await new Promise((r) => setTimeout(r, 10));
    sock.destroy();
    expect(s.events.some((e) => e.kind === 'disconnect' && e.message.includes('stopped reading'))).toBe(true);
    await servedAfter(s);
  });

  it('an error in a NO_REPLY command is logged, never answered', async () => {
    const c = await ready();
    c.command(Cmd.DEVICE_GET_INFO, u32le(1, 0, 0, 0), FLAG_NO_REPLY);
    c.command(0x77, null, FLAG_NO_REPLY);
    expect(await c.next(200)).toBeNull();
    expect((s as Served).events.filter((e) => e.kind === 'error').length).toBeGreaterThanOrEqual(2);
    c.close();
  });
});

describe('the message reader', () => {
  it('cuts a stream fed one byte at a time, and hands fds to the message holding the chunk\'s last byte', () => {
    const got: { cmd: number; len: number; fds: number[] }[] = [];
    const r = new MessageReader(MAX_MESSAGE_SIZE, {
      message: (h, p, fds) => got.push({ cmd: h.command, len: p.length, fds }),
      oversize: () => undefined,
      malformed: () => undefined,
    });
    const a = encodeMessage(1, Cmd.REGION_READ, 0, new Uint8Array(16));
    const b = encodeMessage(2, Cmd.DMA_MAP, 0, new Uint8Array(32));
    for (const byte of a) r.push(new Uint8Array([byte]));
    // A chunk with the tail of nothing and the whole of b, with an fd: b takes it.
    expect(r.push(b, [42])).toEqual([]);
    // A chunk ending inside a message: the fd waits for it.
    r.push(a.subarray(0, 10), [43]);
    r.push(a.subarray(10));
    expect(got).toEqual([
      { cmd: Cmd.REGION_READ, len: 16, fds: [] },
      { cmd: Cmd.DMA_MAP, len: 32, fds: [42] },
      { cmd: Cmd.REGION_READ, len: 16, fds: [43] },
    ]);
  });

  it('discards an oversized message as it streams, holding at most the limit', () => {
    let oversize = 0;
    const got: number[] = [];
    const r = new MessageReader(1024, {
      message: (h) => got.push(h.msgId),
      oversize: () => oversize++,
      malformed: () => undefined,
    });
    const big = encodeMessage(1, Cmd.REGION_WRITE, 0, null);
    new DataView(big.buffer).setUint32(4, 1 << 30, true);
    r.push(big);
    const chunk = new Uint8Array(1 << 16);
    let fdsBack: number[] = [];
    for (let i = 0; i < (1 << 30) / chunk.length - 1; i++) {
      fdsBack = r.push(chunk, i === 3 ? [99] : []).concat(fdsBack);
      expect(r.buffered).toBeLessThanOrEqual(1024);
    }
    r.push(chunk.subarray(0, chunk.length - 16));
    r.push(encodeMessage(2, Cmd.DEVICE_RESET, 0, null));
    expect(oversize).toBe(1);
    expect(got).toEqual([2]);
    expect(fdsBack).toEqual([99]);
  });
});
