/**
 * The native addon (fd passing, CRC-32C) is optional: its install script never fails (one line when it
 * cannot build), and without the addon a server in 'auto' mode runs without fds and says so once.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VfioUserClient } from '../../src/vfio-user/index.js';
import { ROOT } from './build.js';
import { socketDir, spawnServe } from './spawn.js';

/** A copy of the addon's sources, so a failed build never touches the real one. */
function copyNative(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vidxd-native-'));
  for (const f of ['install.mjs', 'binding.gyp', 'vidxd_fd.c', 'vidxd_crc.c']) copyFileSync(join(ROOT, 'src', 'vfio-user', 'native', f), join(dir, f));
  return dir;
}

describe('the optional addon', () => {
  it('install: VIDXD_SKIP_ADDON=1 prints one line and succeeds', () => {
    const dir = copyNative();
    const r = spawnSync(process.execPath, [join(dir, 'install.mjs')], { env: { ...process.env, VIDXD_SKIP_ADDON: '1' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^vidxd: the native addon was not built \(VIDXD_SKIP_ADDON=1\); vfio-user runs without fd passing .* and CRC-32C runs in JavaScript$/)]);
  });

  it('install: without a compiler on PATH it prints one line, succeeds, and leaves no build behind', () => {
    const dir = copyNative();
    const r = spawnSync(process.execPath, [join(dir, 'install.mjs')], { env: { ...process.env, PATH: '/nonexistent', CC: 'no-cc', CXX: 'no-cxx' }, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vidxd: the native addon was not built \(.+\); vfio-user runs without fd passing .* and CRC-32C runs in JavaScript$/);
    expect(existsSync(join(dir, 'build'))).toBe(false);
  }, 130_000);

  it('a server without the addon (VIDXD_NO_ADDON=1) serves without fds and says why, once', async () => {
    const sock = join(socketDir(), 'v.sock');
    const p = await spawnServe(['--socket', sock], { VIDXD_NO_ADDON: '1' });
    expect(p.lines.filter((l) => l.includes('without fd passing (VIDXD_NO_ADDON=1)'))).toHaveLength(1);
    expect(p.lines.some((l) => l.includes('(no-fd mode)'))).toBe(true);
    expect(p.lines.some((l) => l.includes('memory-backend-memfd'))).toBe(false);
    const c = await VfioUserClient.connect(sock, { transport: 'net' });
    expect((await c.getIrqInfo(2)).count).toBe(2);
    await c.close();
    expect(await p.stop()).toBe(0);
  }, 60_000);
});
