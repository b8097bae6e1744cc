/**
 * How the check starts `vidxd serve` and finds its sockets: `--transport net` (plain: no fds, DMA by
 * messages, no interrupts) or `--transport fd` (the fd-passing addon: mapped guest memory, eventfd
 * interrupts); the sockets are read from the readiness line the server prints once every socket
 * listens (`vidxd serve: ready, N socket(s): PATH ...`).
 */
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, type Server, startServer, VIDXD_CLI } from './rig.js';

/** The line `vidxd serve` prints once every socket listens. */
export const READY = /^vidxd serve: ready, \d+ socket\(s\): /;

/** Transport: plain (no fds) or fd (SCM_RIGHTS). */
export type Transport = 'plain' | 'fd';

/** Starts one device of `type` with the given transport. */
export function serveOne(name: string, type: string, transport: Transport): Promise<Server> {
  return startServer(name, ['--socket', '{dir}/vidxd.sock', '--type', type, ...transportArgs(transport)], READY);
}

/** Starts several vdevs of one parent (`spec` as --vdevs takes it, e.g. dsa-1swq-v1:2). */
export function serveMany(name: string, spec: string, transport: Transport): Promise<Server> {
  return startServer(name, ['--vdevs', spec, '--socket-dir', '{dir}', ...transportArgs(transport)], READY);
}

function transportArgs(t: Transport): string[] {
  return ['--transport', t === 'plain' ? 'net' : 'fd'];
}

/** The sockets of the readiness line, as QEMU in the chroot sees them, in order. */
export function chrootSockets(server: Server): string[] {
  const line = server.log.find((l) => READY.test(l));
  if (line === undefined) throw new Error(`vidxd serve printed no readiness line:\n${server.tail(40)}`);
  return line.replace(READY, '').trim().split(/\s+/).map((host) => {
    if (!host.startsWith(`${ROOT}/`)) throw new Error(`socket ${host} is outside the chroot ${ROOT}`);
    return host.slice(ROOT.length);
  });
}

/**
 * Whether the `vidxd serve` under test can run its fd transport here: its build's fd-passing addon
 * loads (`loadNative` of the same build's vfio-user layer), else the reason it does not.
 */
export async function fdSupport(): Promise<{ readonly available: boolean; readonly why: string }> {
  const url = pathToFileURL(join(dirname(VIDXD_CLI), '..', 'vfio-user', 'native.js')).href;
  try {
    const m = (await import(url)) as { loadNative(): unknown; nativeUnavailableReason(): string };
    return m.loadNative() !== null
      ? { available: true, why: 'the fd-passing addon loads' }
      : { available: false, why: `the fd-passing addon does not load: ${m.nativeUnavailableReason()}` };
  } catch (e) {
    return { available: false, why: `${url} cannot be loaded: ${e instanceof Error ? e.message : String(e)}` };
  }
}
