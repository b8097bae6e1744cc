/** Version negotiation (`vfio-uapi.md` §11.4): the reply, the capabilities, and every malformed VERSION. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeVersion, FLAG_ERROR, FLAG_TYPE_REPLY, VfioUserCommand as Cmd } from '../../src/vfio-user/index.js';
import { cat, RawClient, type Served, serveVdev, u32le } from './wire.js';

let s: Served;
let c: RawClient;

beforeEach(async () => {
  s = await serveVdev('net');
  c = await RawClient.connect(s.path);
});

afterEach(async () => {
  c.close();
  await s.server.close();
});

const json = (p: Uint8Array): { capabilities: Record<string, unknown> } => {
  expect(p[p.length - 1]).toBe(0);
  return JSON.parse(new TextDecoder().decode(p.subarray(4, p.length - 1))) as { capabilities: Record<string, unknown> };
};
const raw = (major: number, minor: number, text: string | null, nul = true): Uint8Array => {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint16(0, major, true);
  new DataView(head.buffer).setUint16(2, minor, true);
  if (text === null) return head;
  return cat(head, new TextEncoder().encode(text), nul ? new Uint8Array([0]) : new Uint8Array(0));
};

describe('a valid VERSION', () => {
  it("accepts QEMU 11.1's proposal and answers 0.0 with max_msg_fds 8, max_data_xfer_size 1 MiB, migration.pgsize 4096 and write_multiple (proposed)", async () => {
    const qemu = {
      pgsizes: 4096,
      max_msg_fds: 16,
      max_dma_maps: 65535,
      max_data_xfer_size: 1048576,
      migration: { max_bitmap_size: 268435456, pgsize: 4096 },
      write_multiple: true,
    };
    const r = await c.request(Cmd.VERSION, encodeVersion(0, 0, qemu));
    expect(r.header).toMatchObject({ command: Cmd.VERSION, flags: FLAG_TYPE_REPLY });
    expect([...r.payload.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    // The vdev migrates (vidxd-device.md §10): the migration capability is offered back with the 4 KiB page size.
    expect(json(r.payload).capabilities).toEqual({ max_msg_fds: 8, max_data_xfer_size: 1048576, migration: { pgsize: 4096 }, write_multiple: true });
    expect(s.events.some((e) => e.kind === 'version')).toBe(true);
  });

  it('answers minor = min(proposed, 2) and no write_multiple when not proposed; JSON-less proposals are fine', async () => {
    const r = await c.request(Cmd.VERSION, raw(0, 7, null));
    expect(new DataView(r.payload.buffer).getUint16(2, true)).toBe(2);
    expect(json(r.payload).capabilities).toEqual({ max_msg_fds: 8, max_data_xfer_size: 1048576 });
  });

  it('refuses a second VERSION with EINVAL and keeps serving', async () => {
    await c.request(Cmd.VERSION, raw(0, 1, '{}'));
    expect((await c.request(Cmd.VERSION, raw(0, 1, '{}'))).header).toMatchObject({ flags: FLAG_TYPE_REPLY | FLAG_ERROR, error: 22 });
    expect((await c.request(Cmd.DEVICE_GET_INFO, u32le(16, 0, 0, 0))).header.flags).toBe(FLAG_TYPE_REPLY);
  });
});

describe('a malformed VERSION is answered EINVAL and the connection closed', () => {
  const cases: readonly (readonly [string, Uint8Array])[] = [
    ['a payload shorter than 4 bytes', new Uint8Array([0, 0])],
    ['major 1', raw(1, 0, null)],
    ['JSON without its NUL', raw(0, 0, '{}', false)],
    ['JSON that does not parse', raw(0, 0, '{"capabilities":')],
    ['JSON that is not an object', raw(0, 0, '[1]')],
    ['capabilities not an object', raw(0, 0, '{"capabilities":3}')],
    ['max_msg_fds negative', raw(0, 0, '{"capabilities":{"max_msg_fds":-1}}')],
    ['max_msg_fds a string', raw(0, 0, '{"capabilities":{"max_msg_fds":"8"}}')],
    ['max_msg_fds fractional', raw(0, 0, '{"capabilities":{"max_msg_fds":1.5}}')],
    ['max_data_xfer_size 0', raw(0, 0, '{"capabilities":{"max_data_xfer_size":0}}')],
    ['write_multiple not a boolean', raw(0, 0, '{"capabilities":{"write_multiple":1}}')],
    ['migration not an object', raw(0, 0, '{"capabilities":{"migration":true}}')],
    ['a migration pgsize that is no page size', raw(0, 0, '{"capabilities":{"migration":{"pgsize":4097}}}')],
    ['twin_socket.supported not a boolean', raw(0, 0, '{"capabilities":{"twin_socket":{"supported":"yes"}}}')],
    ['invalid UTF-8', cat(raw(0, 0, null), new Uint8Array([0xff, 0xfe, 0]))],
  ];
  for (const [what, payload] of cases) {
    it(what, async () => {
      const r = await c.request(Cmd.VERSION, payload);
      expect(r.header).toMatchObject({ command: Cmd.VERSION, flags: FLAG_TYPE_REPLY | FLAG_ERROR, error: 22, size: 16 });
      await c.closed;
      expect(s.events.some((e) => e.kind === 'disconnect')).toBe(true);
    });
  }

  it('any other first command', async () => {
    const r = await c.request(Cmd.DEVICE_GET_INFO, u32le(16, 0, 0, 0));
    expect(r.header).toMatchObject({ command: Cmd.DEVICE_GET_INFO, flags: FLAG_TYPE_REPLY | FLAG_ERROR, error: 22 });
    await c.closed;
  });

  it('and a new client is served normally afterwards', async () => {
    await c.request(Cmd.VERSION, raw(2, 0, null));
    await c.closed;
    for (let i = 0; i < 100 && s.server.connected; i++) await new Promise((r) => setTimeout(r, 5));
    const d = await RawClient.connect(s.path);
    expect((await d.version()).header.flags).toBe(FLAG_TYPE_REPLY);
    d.close();
  });
});
