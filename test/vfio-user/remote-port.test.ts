/**
 * DMA without fds, the server's side (`vfio-uapi.md` §11.8): the session's RemoteMemoryPort reads and
 * writes the client's memory with DMA_READ/DMA_WRITE of at most the client's max_data_xfer_size,
 * in order, matched by msg_id; a failure or a disconnect answers null/false, never synchronously; an
 * interrupt raised behind unacknowledged DMA_WRITEs waits for them.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/index.js';
import {
  decodeDmaAccess,
  FLAG_ERROR,
  FLAG_TYPE_REPLY,
  HEADER_SIZE,
  type MessageHeader,
  readHeader,
  RemotePort,
  VfioUserClient,
  VfioUserCommand as Cmd,
} from '../../src/vfio-user/index.js';
import { serveVdev } from './wire.js';

const settle = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('the remote port over a real connection (no-fd maps served by the client)', () => {
  it('reads and writes the client memory in chunks of the client max_data_xfer_size, in order', async () => {
    const s = await serveVdev('net');
    const c = await VfioUserClient.connect(s.path, { transport: 'net', maxDataXferSize: 4096 });
    const mem = new GuestMemory(0x10000);
    for (let i = 0; i < mem.size; i++) mem.bytes[i] = (i * 7) & 0xff;
    await c.dmaMap({ iova: 0x80000, size: 0x10000, memory: mem, offset: 0, flags: 3 });
    const port = s.server.current?.port as RemotePort;
    let sync = true;
    const got = await new Promise<Uint8Array | null>((resolve) => {
      port.read(0x80000 + 100, 10_000, (b) => {
        expect(sync).toBe(false);
        resolve(b);
      });
      sync = false;
    });
    expect(got).not.toBeNull();
    expect([...(got as Uint8Array)]).toEqual([...mem.bytes.subarray(100, 10_100)]);
    expect(port.stats.reads).toBe(3);
    // Two overlapping writes land in order; the second wins where they overlap.
    const results: boolean[] = [];
    port.write(0x80000, new Uint8Array(9000).fill(1), (ok) => results.push(ok));
    port.write(0x80000 + 8000, new Uint8Array(2000).fill(2), (ok) => results.push(ok));
    await settle(() => results.length === 2);
    expect(results).toEqual([true, true]);
    expect(mem.bytes[7999]).toBe(1);
    expect(mem.bytes[8000]).toBe(2);
    expect(mem.bytes[9999]).toBe(2);
    expect(mem.bytes[10_000]).toBe((10_000 * 7) & 0xff);
    expect(port.stats.writes).toBe(4);
    await c.close();
    await s.server.close();
  });

  it('answers null / false when the client refuses (outside its maps, a read-only map) or goes away', async () => {
    const s = await serveVdev('net');
    const c = await VfioUserClient.connect(s.path, { transport: 'net' });
    await c.dmaMap({ iova: 0x80000, size: 0x1000, memory: new GuestMemory(0x1000), offset: 0, flags: 1 });
    const port = s.server.current?.port as RemotePort;
    const out: unknown[] = [];
    port.read(0x90000, 16, (b) => out.push(b));
    port.write(0x80000, new Uint8Array(4), (ok) => out.push(ok));
    await settle(() => out.length === 2);
    expect(out).toEqual([null, false]);
    port.read(0x80000, 16, (b) => out.push(b === null ? 'lost' : 'read'));
    await c.close();
    await settle(() => out.length === 3);
    expect(out[2]).toMatch(/lost|read/);
    port.write(0x80000, new Uint8Array(4), (ok) => out.push(ok));
    await settle(() => out.length === 4);
    expect(out[3]).toBe(false);
    await s.server.close();
  });
});

describe('the remote port alone', () => {
  function rig(): { port: RemotePort; sent: Uint8Array[]; answer(i: number, error?: boolean): void } {
    const sent: Uint8Array[] = [];
    const port = new RemotePort({ send: (b) => sent.push(b), connected: true, maxTransfer: 1 << 20, complain: () => undefined });
    return {
      port,
      sent,
      answer(i, error = false) {
        const m = sent[i] as Uint8Array;
        const h = readHeader(m);
        const a = decodeDmaAccess(m.subarray(HEADER_SIZE), h.command === Cmd.DMA_WRITE ? 'count' : 'none', 'x');
        const hdr: MessageHeader = { msgId: h.msgId, command: h.command, size: 32, flags: FLAG_TYPE_REPLY | (error ? FLAG_ERROR : 0), error: error ? 14 : 0 };
        port.reply(hdr, error ? new Uint8Array(0) : m.subarray(HEADER_SIZE, HEADER_SIZE + 16));
        expect(a.count).toBeGreaterThan(0);
      },
    };
  }

  it('holds an interrupt raised behind unacknowledged DMA_WRITEs until every one of them is answered', () => {
    const { port, answer } = rig();
    const fired: string[] = [];
    port.deliverAfterWrites(() => fired.push('early'));
    expect(fired).toEqual(['early']);
    port.write(0x1000, new Uint8Array(8), () => undefined);
    port.write(0x2000, new Uint8Array(8), () => undefined);
    port.deliverAfterWrites(() => fired.push('after two'));
    port.write(0x3000, new Uint8Array(8), () => undefined);
    port.deliverAfterWrites(() => fired.push('after three'));
    answer(1);
    expect(fired).toEqual(['early']);
    answer(0);
    expect(fired).toEqual(['early', 'after two']);
    answer(2, true);
    expect(fired).toEqual(['early', 'after two', 'after three']);
  });

  it('ignores a reply with a msg_id or command it did not send (the session answers EINVAL)', () => {
    const { port, sent } = rig();
    port.read(0x1000, 4, () => undefined);
    const h = readHeader(sent[0] as Uint8Array);
    expect(port.reply({ ...h, msgId: (h.msgId + 1) & 0xffff, flags: FLAG_TYPE_REPLY }, new Uint8Array(20))).toBe(false);
    expect(port.reply({ ...h, command: Cmd.DMA_WRITE, flags: FLAG_TYPE_REPLY }, new Uint8Array(20))).toBe(false);
    expect(port.inFlight).toBe(1);
  });
});
