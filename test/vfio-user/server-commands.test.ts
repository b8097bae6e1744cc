/**
 * Protocol conformance of the server, command by command, over the plain transport (`vfio-uapi.md`
 * §11.3–11.8): the exact reply bytes of the spec's examples, argsz growth, NO_REPLY, pipelining.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLAG_ERROR, FLAG_NO_REPLY, FLAG_TYPE_REPLY, VfioUserCommand as Cmd } from '../../src/vfio-user/index.js';
import { cat, RawClient, type Served, serveVdev, u32le, u64le } from './wire.js';
import { elem } from '../util/bytes.js';

let s: Served;
let c: RawClient;

beforeEach(async () => {
  s = await serveVdev('net');
  c = await RawClient.connect(s.path);
  await c.version();
});

afterEach(async () => {
  c.close();
  await s.server.close();
});

const ERR = FLAG_TYPE_REPLY | FLAG_ERROR;
const regionAccess = (region: number, offset: number, count: number): Uint8Array => cat(u64le(offset), u32le(region, count));

describe('DEVICE_GET_INFO', () => {
  it('answers the 16 bytes of §2 with argsz 16, whatever argsz the client gave', async () => {
    const r = await c.request(Cmd.DEVICE_GET_INFO, u32le(24, 0, 0, 0));
    expect(r.header).toMatchObject({ command: Cmd.DEVICE_GET_INFO, flags: FLAG_TYPE_REPLY, size: 32 });
    expect([...r.payload]).toEqual([0x10, 0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0]);
  });

  it('refuses a payload other than 16 bytes and argsz < 16 with EINVAL', async () => {
    expect((await c.request(Cmd.DEVICE_GET_INFO, u32le(16, 0, 0))).header).toMatchObject({ flags: ERR, error: 22, size: 16 });
    expect((await c.request(Cmd.DEVICE_GET_INFO, u32le(12, 0, 0, 0))).header).toMatchObject({ flags: ERR, error: 22 });
    expect((await c.request(Cmd.DEVICE_GET_INFO, null)).header).toMatchObject({ flags: ERR, error: 22 });
  });
});

describe('DEVICE_GET_REGION_INFO', () => {
  const info = (argsz: number, index: number): Uint8Array => cat(u32le(argsz, 0, index, 0), u64le(0), u64le(0));

  it('reports BAR2 trapped (R|W, no MMAP, no capabilities, argsz 32) and offset 0: nothing is mappable over the wire', async () => {
    const r = await c.request(Cmd.DEVICE_GET_REGION_INFO, info(0x50, 2));
    expect(r.payload.length).toBe(32);
    const v = new DataView(r.payload.buffer);
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)]).toEqual([32, 0x3, 2, 0]);
    expect([v.getUint32(16, true), v.getUint32(24, true)]).toEqual([0x2000, 0]);
  });

  it('reports BAR0 and the config region as in §3.3, absent regions with size 0, an index ≥ 9 as EINVAL', async () => {
    const bar0 = new DataView((await c.request(Cmd.DEVICE_GET_REGION_INFO, info(32, 0))).payload.buffer);
    expect([bar0.getUint32(4, true), bar0.getUint32(16, true)]).toEqual([3, 0x2000]);
    const cfg = new DataView((await c.request(Cmd.DEVICE_GET_REGION_INFO, info(32, 7))).payload.buffer);
    expect([cfg.getUint32(4, true), cfg.getUint32(16, true)]).toEqual([3, 0x1000]);
    const rom = new DataView((await c.request(Cmd.DEVICE_GET_REGION_INFO, info(32, 6))).payload.buffer);
    expect([rom.getUint32(4, true), rom.getUint32(16, true)]).toEqual([0, 0]);
    expect((await c.request(Cmd.DEVICE_GET_REGION_INFO, info(32, 9))).header).toMatchObject({ flags: ERR, error: 22 });
  });

  it('refuses argsz < 32 and a payload that is not 32 bytes', async () => {
    expect((await c.request(Cmd.DEVICE_GET_REGION_INFO, info(31, 0))).header.error).toBe(22);
    expect((await c.request(Cmd.DEVICE_GET_REGION_INFO, info(32, 0).subarray(0, 28))).header.error).toBe(22);
  });
});

describe('DEVICE_GET_IRQ_INFO', () => {
  it('answers the §5.1 values per index and EINVAL for index 5', async () => {
    const want = [
      [0, 0x7, 0],
      [1, 0x9, 0],
      [2, 0x9, 2],
      [3, 0x9, 1],
      [4, 0x9, 1],
    ];
    for (const [index, flags, count] of want) {
      const r = await c.request(Cmd.DEVICE_GET_IRQ_INFO, u32le(16, 0, index as number, 0));
      expect([...new Uint32Array(r.payload.slice().buffer)]).toEqual([16, flags, index, count]);
    }
    expect((await c.request(Cmd.DEVICE_GET_IRQ_INFO, u32le(16, 0, 5, 0))).header.error).toBe(22);
    expect((await c.request(Cmd.DEVICE_GET_IRQ_INFO, u32le(8, 0, 0, 0))).header.error).toBe(22);
  });
});

describe('REGION_READ and REGION_WRITE', () => {
  it('answers the §11.6 example byte for byte: 4 config bytes at 0', async () => {
    c.send(cat(new Uint8Array([1, 0, 9, 0]), u32le(32, 0, 0), regionAccess(7, 0, 4)));
    const r = await c.next();
    expect(r?.header).toEqual({ msgId: 1, command: 9, size: 36, flags: 1, error: 0 });
    expect([...(r?.payload ?? [])]).toEqual([...regionAccess(7, 0, 4), 0x86, 0x80, 0x25, 0x0b]);
  });

  it('echoes the 16-byte access header of a write and applies it (a config-space write read back)', async () => {
    const w = await c.request(Cmd.REGION_WRITE, cat(regionAccess(7, 4, 2), new Uint8Array([0x06, 0x00])));
    expect([...w.payload]).toEqual([...regionAccess(7, 4, 2)]);
    const r = await c.request(Cmd.REGION_READ, regionAccess(7, 4, 2));
    expect(elem(r.payload, 16) & 0x06).toBe(0x06);
  });

  it('never answers a NO_REPLY write, even a failing one, and still applies a good one', async () => {
    c.command(Cmd.REGION_WRITE, cat(regionAccess(7, 4, 2), new Uint8Array([0x02, 0x00])), FLAG_NO_REPLY);
    c.command(Cmd.REGION_WRITE, cat(regionAccess(0, 3, 4), new Uint8Array(4)), FLAG_NO_REPLY); // misaligned BAR0: refused silently
    const r = await c.request(Cmd.REGION_READ, regionAccess(7, 4, 2));
    expect(r.header.command).toBe(Cmd.REGION_READ);
    expect(elem(r.payload, 16) & 0x06).toBe(0x02);
    expect(s.events.some((e) => e.kind === 'error' && e.message.includes('REGION_WRITE'))).toBe(true);
  });

  it('applies §3.4: outside the region, a bad BAR0 width, a zero-size region → EINVAL', async () => {
    expect((await c.request(Cmd.REGION_READ, regionAccess(7, 0xffe, 4))).header.error).toBe(22);
    expect((await c.request(Cmd.REGION_READ, regionAccess(0, 0, 3))).header.error).toBe(22);
    expect((await c.request(Cmd.REGION_READ, regionAccess(6, 0, 4))).header.error).toBe(22);
    expect((await c.request(Cmd.REGION_READ, regionAccess(12, 0, 4))).header.error).toBe(22);
  });

  it('refuses a read whose payload carries data and a write whose data disagrees with count', async () => {
    expect((await c.request(Cmd.REGION_READ, cat(regionAccess(7, 0, 4), new Uint8Array(4)))).header.error).toBe(22);
    expect((await c.request(Cmd.REGION_WRITE, cat(regionAccess(7, 0, 4), new Uint8Array(2)))).header.error).toBe(22);
  });

  it('reads BAR2 as all ones and takes a trapped 64-byte portal write', async () => {
    const r = await c.request(Cmd.REGION_READ, regionAccess(2, 0, 8));
    expect([...r.payload.subarray(16)]).toEqual(new Array(8).fill(0xff));
    const w = await c.request(Cmd.REGION_WRITE, cat(regionAccess(2, 0, 64), new Uint8Array(64)));
    expect(w.header.flags).toBe(FLAG_TYPE_REPLY);
  });
});

describe('REGION_WRITE_MULTI', () => {
  const entry = (region: number, offset: number, data: number[]): Uint8Array => {
    const d = new Uint8Array(8);
    d.set(data);
    return cat(regionAccess(region, offset, data.length), d);
  };

  it('is refused unless write_multiple was negotiated', async () => {
    const r = await c.request(Cmd.REGION_WRITE_MULTI, cat(u64le(1), entry(7, 4, [2, 0])));
    expect(r.header.error).toBe(22);
  });

  it('applies every entry in order and answers wr_cnt when negotiated', async () => {
    // One client at a time: reconnect with write_multiple.
    c.close();
    for (let i = 0; i < 100 && s.server.connected; i++) await new Promise((r) => setTimeout(r, 5));
    const d = await RawClient.connect(s.path);
    const v = await d.version({ write_multiple: true });
    expect(JSON.parse(new TextDecoder().decode(v.payload.subarray(4, -1))).capabilities.write_multiple).toBe(true);
    const r = await d.request(Cmd.REGION_WRITE_MULTI, cat(u64le(2), entry(7, 4, [6, 0]), entry(7, 4, [2, 0])));
    expect([...r.payload]).toEqual([...u64le(2)]);
    const back = await d.request(Cmd.REGION_READ, regionAccess(7, 4, 2));
    expect(elem(back.payload, 16) & 0x06).toBe(0x02);
    expect((await d.request(Cmd.REGION_WRITE_MULTI, cat(u64le(2), entry(7, 4, [6, 0])))).header.error).toBe(22);
    d.close();
  });
});

describe('DEVICE_RESET, DEVICE_FEATURE, DEVICE_GET_REGION_IO_FDS', () => {
  it('resets with an empty reply and refuses a payload', async () => {
    await c.request(Cmd.REGION_WRITE, cat(regionAccess(7, 4, 2), new Uint8Array([0x06, 0])));
    const r = await c.request(Cmd.DEVICE_RESET, null);
    expect(r.header).toMatchObject({ flags: FLAG_TYPE_REPLY, size: 16 });
    const back = await c.request(Cmd.REGION_READ, regionAccess(7, 4, 2));
    expect(elem(back.payload, 16) & 0x06).toBe(0);
    expect(s.events.some((e) => e.kind === 'reset')).toBe(true);
    expect((await c.request(Cmd.DEVICE_RESET, new Uint8Array(4))).header.error).toBe(22);
  });

  it('forwards DEVICE_FEATURE to the device: MIGRATION GET answers the vdev\'s flags (STOP_COPY | PRE_COPY), bad flags EINVAL', async () => {
    const mig = await c.request(Cmd.DEVICE_FEATURE, cat(u32le(16, 1 | (1 << 16)), new Uint8Array(8)));
    expect([...mig.payload]).toEqual([...cat(u32le(16, 1 | (1 << 16)), u64le(5))]);
    expect((await c.request(Cmd.DEVICE_FEATURE, u32le(8, 1 << 20))).header.error).toBe(22);
    expect((await c.request(Cmd.DEVICE_FEATURE, u32le(4, 0))).header.error).toBe(22);
    expect((await c.request(Cmd.DEVICE_FEATURE, u32le(8))).header.error).toBe(22);
  });

  it('answers DEVICE_GET_REGION_IO_FDS with EINVAL', async () => {
    expect((await c.request(Cmd.DEVICE_GET_REGION_IO_FDS, u32le(16, 0, 0, 0))).header.error).toBe(22);
  });
});

describe('DMA_MAP and DMA_UNMAP', () => {
  const map = (iova: number, size: number, flags = 3, argsz = 32): Uint8Array => cat(u32le(argsz, flags), u64le(0), u64le(iova), u64le(size));
  const unmap = (iova: number, size: number, flags = 0): Uint8Array => cat(u32le(24, flags), u64le(iova), u64le(size));

  it('maps without an fd (empty reply), refuses overlaps with EEXIST, unmaps an exact map (echoed), ENOENT otherwise', async () => {
    expect((await c.request(Cmd.DMA_MAP, map(0x10000, 0x4000))).header).toMatchObject({ flags: FLAG_TYPE_REPLY, size: 16 });
    expect((await c.request(Cmd.DMA_MAP, map(0x12000, 0x4000))).header.error).toBe(17);
    expect((await c.request(Cmd.DMA_UNMAP, unmap(0x10000, 0x1000))).header.error).toBe(2);
    const r = await c.request(Cmd.DMA_UNMAP, unmap(0x10000, 0x4000));
    expect([...r.payload]).toEqual([...unmap(0x10000, 0x4000)]);
    expect((await c.request(Cmd.DMA_UNMAP, unmap(0x10000, 0x4000))).header.error).toBe(2);
  });

  it('unmaps every map with ALL (address = size = 0), EINVAL otherwise', async () => {
    await c.request(Cmd.DMA_MAP, map(0x0, 0x1000));
    await c.request(Cmd.DMA_MAP, map(0x4000, 0x1000, 1));
    expect((await c.request(Cmd.DMA_UNMAP, unmap(0x1000, 0, 2))).header.error).toBe(22);
    expect((await c.request(Cmd.DMA_UNMAP, unmap(0, 0, 2))).header.flags).toBe(FLAG_TYPE_REPLY);
    expect((await c.request(Cmd.DMA_UNMAP, unmap(0, 0x1000))).header.error).toBe(2);
  });

  it('refuses bad maps with EINVAL: flags, alignment, size 0, argsz and payload length', async () => {
    for (const p of [map(0, 0x1000, 0), map(0, 0x1000, 4), map(0x800, 0x1000), map(0, 0x800), map(0, 0), map(0, 0x1000, 3, 40), map(0, 0x1000).subarray(0, 24)]) {
      expect((await c.request(Cmd.DMA_MAP, p)).header.error).toBe(22);
    }
    expect((await c.request(Cmd.DMA_UNMAP, unmap(0, 0x1000, 1))).header.error).toBe(22);
    expect((await c.request(Cmd.DMA_UNMAP, cat(unmap(0, 0x1000), new Uint8Array(8)))).header.error).toBe(22);
  });
});

describe('ordering', () => {
  it('answers pipelined requests in arrival order, each with its own msg_id', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) ids.push(c.command(Cmd.REGION_READ, regionAccess(7, (i % 16) * 4, 4)));
    const got: number[] = [];
    for (let i = 0; i < 40; i++) got.push((await c.next())?.header.msgId ?? -1);
    expect(got).toEqual(ids);
  });
});
