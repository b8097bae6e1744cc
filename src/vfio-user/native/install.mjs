#!/usr/bin/env node
// The package's `install` script: builds the optional native addon with node-gyp from the local Node
// headers: vidxd_fd.node (fd passing for vfio-user) and vidxd_crc.node (CRC-32C with the CPU's CRC
// instruction for the DSA engine). It never fails the install: when the build cannot run (no compiler,
// no headers, no node-gyp) it prints one line, vidxd runs its vfio-user transport without fds and
// computes CRC-32C in JavaScript.
// Set VIDXD_SKIP_ADDON=1 to skip the build.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const notice = (why) =>
  console.log(`vidxd: the native addon was not built (${why}); vfio-user runs without fd passing (no shared guest memory, no interrupts) and CRC-32C runs in JavaScript`);

function nodeGyp() {
  // npm puts its bundled node-gyp in npm_config_node_gyp for lifecycle scripts.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  // Run by hand: the node-gyp bundled with the npm installed next to this node.
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

/** The most telling line of node-gyp's complaint. */
function buildFailure(stderr, status) {
  if (/ERR! find Python/.test(stderr)) return 'no Python for node-gyp';
  const lines = stderr.split('\n').map((l) => l.replace(/^gyp (ERR!|info) /, '').trim());
  const pick = (re) => lines.find((l) => re.test(l));
  const line = pick(/not found|No such file|command not found/i) ?? pick(/error:/i) ?? pick(/^stack Error:/) ?? `node-gyp exited ${status}`;
  return line.replace(/^stack Error: /, '').slice(0, 160);
}

function main() {
  if (process.env.VIDXD_SKIP_ADDON === '1') return notice('VIDXD_SKIP_ADDON=1');
  if (process.platform !== 'linux') return notice(`${process.platform} is not Linux`);
  const [cmd, ...pre] = nodeGyp();
  const args = [...pre, 'rebuild', `--directory=${here}`];
  // Build against the local headers when they are there (Debian's nodejs ships them in /usr/include/node): nothing is downloaded.
  const local = join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
  if (!process.env.npm_config_nodedir && existsSync(local)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 300_000 });
  if (r.error !== undefined || r.status !== 0) {
    rmSync(join(here, 'build'), { recursive: true, force: true });
    return notice(r.error !== undefined ? r.error.message : buildFailure(r.stderr, r.status));
  }
  console.log('vidxd: built the native addon (vfio-user fd mode available, native CRC-32C)');
}

try {
  main();
} catch (e) {
  notice(e instanceof Error ? e.message : String(e));
}
process.exitCode = 0;
