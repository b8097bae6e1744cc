/**
 * fd mode (the addon): guest memory shared by memfd and mapped zero-copy into the server's IOAS,
 * interrupts written to the client's eventfds, fds on messages that take none closed, DATA_BOOL with
 * fds refused, a DMA map larger than its file refused — and no fd leaks.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  encodeIrqSet,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
} from '../../src/vfio/index.js';
import { FLAG_ERROR, FLAG_TYPE_REPLY, loadNative, VfioUserClient, VfioUserCommand as Cmd } from '../../src/vfio-user/index.js';
import { cat, RawClient, serveVdev, u32le, u64le } from './wire.js';

const native = loadNative();
const openFds = (): number => readdirSync('/proc/self/fd').length;
const settle = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe.runIf(native !== null)('fd mode', () => {
  it('maps a shared memfd into the IOAS: the device and the client see the same bytes, with no copy', async () => {
    const s = await serveVdev('fd');
    const c = await VfioUserClient.connect(s.path, { transport: 'fd' });
    const mem = c.allocMemory(0x8000);
    await c.dmaMap({ iova: 0x40000, size: 0x4000, memory: mem, offset: 0x4000, flags: 3 });
    const m = s.server.ioas.listMappings();
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ iova: 0x40000, size: 0x4000, offset: 0 });
    mem.bytes[0x4000 + 5] = 0xa5;
    expect(m[0]?.memory?.bytes[5]).toBe(0xa5);
    (m[0]?.memory?.bytes as Uint8Array)[6] = 0x5a;
    expect(mem.bytes[0x4000 + 6]).toBe(0x5a);
    expect(s.events.some((e) => e.kind === 'map' && e.message.includes('shared by fd'))).toBe(true);
    expect(await c.dmaUnmap({ iova: 0x40000, size: 0x4000 })).toBe(0x4000);
    expect(s.server.ioas.count).toBe(0);
    await c.close();
    await s.server.close();
  });

  it('delivers interrupts to the client eventfds (loopback through SET_IRQS) and closes replaced ones', async () => {
    const s = await serveVdev('fd');
    const c = await VfioUserClient.connect(s.path, { transport: 'fd' });
    const fired: number[] = [];
    await c.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2, data: [() => fired.push(0), () => fired.push(1)] });
    await c.setIrqs({ flags: VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2, data: new Uint8Array([0, 1]) });
    await settle(() => fired.length > 0);
    expect(fired).toEqual([1]);
    const before = openFds();
    // Replacing vector 1's trigger closes the old eventfd on both sides; de-assigning vector 0 too.
    await c.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 1, count: 1, data: [() => fired.push(11)] });
    await c.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 1, data: [null] });
    expect(openFds()).toBe(before - 2);
    await c.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2 });
    await settle(() => fired.length > 1);
    expect(fired).toEqual([1, 11]);
    await c.close();
    await s.server.close();
  });

  it('closes fds attached to messages that take none, refuses DATA_BOOL and DATA_NONE with fds, and leaks nothing', async () => {
    const nat = native as NonNullable<typeof native>;
    const s = await serveVdev('fd');
    const base = openFds();
    const c = await RawClient.connect(s.path, true);
    await c.version();
    const e1 = nat.eventfd();
    const e2 = nat.eventfd();
    const r = await c.request(Cmd.REGION_READ, cat(u64le(0), u32le(7, 2)), 0, [e1, e2]);
    expect([...r.payload.subarray(16)]).toEqual([0x86, 0x80]);
    const bools = encodeIrqSet({ flags: VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 1, bools: [1] });
    expect((await c.request(Cmd.DEVICE_SET_IRQS, bools, 0, [e1])).header).toMatchObject({ flags: FLAG_TYPE_REPLY | FLAG_ERROR, error: 22 });
    const none = encodeIrqSet({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: 4, start: 0, count: 1 });
    expect((await c.request(Cmd.DEVICE_SET_IRQS, none, 0, [e1])).header.error).toBe(22);
    const few = encodeIrqSet({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2 });
    expect((await c.request(Cmd.DEVICE_SET_IRQS, few, 0, [e1])).header.error).toBe(22);
    const version = await c.request(Cmd.VERSION, new Uint8Array(4), 0, [e2]);
    expect(version.header.error).toBe(22);
    // Only our two eventfds and the two ends of the connection are open (the server kept none of the copies).
    expect(openFds()).toBe(base + 4);
    c.close();
    nat.close(e1);
    nat.close(e2);
    await settle(() => !s.server.connected);
    expect(openFds()).toBe(base);
    await s.server.close();
  });

  it('refuses a DMA map with more than one fd, an unaligned fd offset, or a range beyond the end of the file (which would fault the server)', async () => {
    const nat = native as NonNullable<typeof native>;
    const s = await serveVdev('fd');
    const c = await RawClient.connect(s.path, true);
    await c.version();
    const fd = nat.memfd('t', 0x2000);
    const map = (offset: number, size: number): Uint8Array => cat(u32le(32, 3), u64le(offset), u64le(0x10000), u64le(size));
    expect((await c.request(Cmd.DMA_MAP, map(0, 0x4000), 0, [fd])).header.error).toBe(22);
    expect((await c.request(Cmd.DMA_MAP, map(0x800, 0x1000), 0, [fd])).header.error).toBe(22);
    expect((await c.request(Cmd.DMA_MAP, map(0, 0x1000), 0, [fd, fd])).header.error).toBe(22);
    expect((await c.request(Cmd.DMA_MAP, map(0x1000, 0x1000), 0, [fd])).header.flags).toBe(FLAG_TYPE_REPLY);
    expect(s.server.ioas.count).toBe(1);
    nat.close(fd);
    c.close();
    await s.server.close();
  });
});
