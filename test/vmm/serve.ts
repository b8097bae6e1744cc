/**
 * How the check starts `vidxd serve` and finds its sockets: the server prints, for every device it
 * serves, the QEMU `-device` JSON to attach it; the socket paths are read from there.
 */
import { ROOT, type Server, startServer } from './rig.js';

/** A line `vidxd serve` prints once every socket listens. */
export const READY = /ready|listening/i;

/** Transport: plain (no fds: DMA by messages, no interrupts) or fd (SCM_RIGHTS: mapped DMA, eventfds). */
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
  return t === 'plain' ? ['--no-fd'] : [];
}

/** The sockets the server printed in its -device JSON, as QEMU in the chroot sees them, in order. */
export function chrootSockets(server: Server): string[] {
  const out: string[] = [];
  for (const line of server.log) {
    for (const m of line.matchAll(/"path"\s*:\s*"([^"]+)"/g)) {
      const host = m[1] as string;
      const p = host.startsWith(`${ROOT}/`) ? host.slice(ROOT.length) : host;
      if (!out.includes(p)) out.push(p);
    }
  }
  if (out.length === 0) throw new Error(`vidxd serve printed no -device JSON with a socket path:\n${server.tail(40)}`);
  return out;
}
