/**
 * `vidxd serve`: options and usage errors (exit 2 with the usage line), the attach options it prints,
 * the readiness line, log lines (text and --json), several vdevs of one parent on one socket each, and
 * a clean shutdown on SIGTERM and SIGINT that removes the sockets.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuDeviceOption, serveTargets } from '../../src/cli/serve.js';
import { VfioUserClient } from '../../src/vfio-user/index.js';
import { socketDir, spawnServe } from '../vfio-user/spawn.js';
import { run } from './run.js';

describe('vidxd serve options', () => {
  it('--help shows the usage, the QEMU options and the readiness line, and exits 0', async () => {
    const r = await run('serve', '--help');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^usage: vidxd serve --socket PATH/m);
    expect(r.out).toContain('"driver":"vfio-user-pci"');
    expect(r.out).toContain('memory-backend-memfd,id=mem,size=SIZE,share=on');
    expect(r.out).toContain('vidxd serve: ready, N socket(s): PATH');
    expect((await run('--help')).out).toMatch(/^ {2}serve /m);
  });

  it.each([
    [['serve'], /--socket PATH \(or --vdevs \.\.\. --socket-dir DIR\) is required/],
    [['serve', '--socket'], /--socket needs a value/],
    [['serve', '--socket', '/tmp/x', '--type', 'gpu'], /--type must be one of/],
    [['serve', '--vdevs', 'dsa-1swq-v1:2'], /--vdevs needs --socket-dir DIR/],
    [['serve', '--vdevs', 'dsa-1swq-v1:2', '--socket-dir', '/tmp', '--socket', '/tmp/x'], /cannot be combined/],
    [['serve', '--vdevs', 'gpu:1', '--socket-dir', '/tmp'], /is not TYPE:COUNT/],
    [['serve', '--vdevs', 'dsa-1swq-v1:0', '--socket-dir', '/tmp'], /is not TYPE:COUNT/],
    [['serve', '--socket-dir', '/tmp', '--socket', '/tmp/x'], /--socket-dir goes with --vdevs/],
    [['serve', '--socket', '/tmp/x', '--transport', 'carrier-pigeon'], /--transport must be one of auto, fd, net/],
  ])('%j exits 2 with the usage line', async (args, message) => {
    const r = await run(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.err).toMatch(message as RegExp);
    expect(r.err).toMatch(/^usage: vidxd serve /m);
  });

  it('names one socket per vdev in the socket directory', () => {
    expect(serveTargets({ vdevs: 'dsa-1swq-v1:2,dsa-1dwq-v1:1', socketDir: '/run/v' })).toEqual([
      { type: 'dsa-1swq-v1', socket: '/run/v/dsa-1swq-v1-0.sock' },
      { type: 'dsa-1swq-v1', socket: '/run/v/dsa-1swq-v1-1.sock' },
      { type: 'dsa-1dwq-v1', socket: '/run/v/dsa-1dwq-v1-0.sock' },
    ]);
    expect(qemuDeviceOption('/run/v.sock')).toBe('{"driver":"vfio-user-pci","socket":{"type":"unix","path":"/run/v.sock"}}');
  });
});

describe('vidxd serve at work', () => {
  it('serves three vdevs of one parent, prints each attach option and then the readiness line, and removes the sockets on SIGTERM', async () => {
    const dir = socketDir();
    const p = await spawnServe(['--vdevs', 'dsa-1swq-v1:2,dsa-1dwq-v1:1', '--socket-dir', dir, '--transport', 'net']);
    const sockets = ['dsa-1swq-v1-0', 'dsa-1swq-v1-1', 'dsa-1dwq-v1-0'].map((n) => join(dir, `${n}.sock`));
    const ready = p.lines.at(-1) as string;
    expect(ready).toBe(`vidxd serve: ready, 3 socket(s): ${sockets.join(' ')}`);
    for (const s of sockets) {
      expect(existsSync(s)).toBe(true);
      expect(p.lines.some((l) => l.includes(`-device '${qemuDeviceOption(s)}'`))).toBe(true);
    }
    // Each socket serves its own vdev: two shared-WQ vdevs and a dedicated one.
    const clients = await Promise.all(sockets.map((s) => VfioUserClient.connect(s, { transport: 'net' })));
    const ids = await Promise.all(clients.map(async (c) => {
      const b = new Uint8Array(4);
      await c.readRegion(7, 0, b);
      return new DataView(b.buffer).getUint32(0, true);
    }));
    expect(ids).toEqual([0x0b258086, 0x0b258086, 0x0b258086]);
    for (const c of clients) await c.close();
    expect(await p.stop('SIGTERM')).toBe(0);
    for (const s of sockets) expect(existsSync(s)).toBe(false);
    expect(p.lines.some((l) => l.includes('client connected'))).toBe(true);
    expect(p.lines.at(-1)).toBe('vidxd serve: SIGTERM, sockets removed');
  }, 60_000);

  it('prints one JSON object per line with --json, the ready object last, and stops on SIGINT', async () => {
    const dir = socketDir();
    const sock = join(dir, 'pf.sock');
    const p = await spawnServe(['--socket', sock, '--type', 'pf', '--json']);
    const objs = p.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs.at(-1)).toMatchObject({ kind: 'ready', sockets: [sock] });
    const attach = objs.find((o) => o.kind === 'attach');
    expect(attach).toMatchObject({ socket: sock, device: qemuDeviceOption(sock) });
    const c = await VfioUserClient.connect(sock);
    expect((await c.getInfo()).numRegions).toBe(9);
    await c.close();
    expect(await p.stop('SIGINT')).toBe(0);
    expect(existsSync(sock)).toBe(false);
    const tail = JSON.parse(p.lines.at(-1) as string) as Record<string, unknown>;
    expect(tail).toMatchObject({ kind: 'exit' });
    expect(p.lines.map((l) => (JSON.parse(l) as { kind: string }).kind)).toContain('version');
  }, 60_000);
});
