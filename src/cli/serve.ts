/**
 * `vidxd serve`: builds the DSA model (automatic execution), its host driver and the vidxd mdev parent,
 * creates and opens the requested devices and serves each over its own vfio-user socket, so QEMU's
 * `vfio-user-pci` (or any vfio-user client) can attach. Prints the QEMU options to use, logs what
 * happens on each socket, prints one readiness line once every socket listens, and on SIGINT/SIGTERM
 * closes every server and removes the sockets.
 */
import { join } from 'node:path';
import { DsaDevice } from '../dsa/index.js';
import { VfioDevice } from '../vfio/index.js';
import { type ServerEvent, type TransportChoice, VfioUserServer } from '../vfio-user/index.js';
import { DEDICATED_TYPE, pfVfioOps, SHARED_TYPE, type VdevTypeName } from '../vidxd/index.js';
import { UsageError } from './args.js';
import { buildHost, type DeviceType } from './system.js';

/** One device to serve. */
export interface ServeTarget {
  /** `dsa-1dwq-v1`, `dsa-1swq-v1` or `pf`. */
  readonly type: DeviceType;
  /** Its socket path. */
  readonly socket: string;
}

/** What `vidxd serve` was asked for. */
export interface ServeRequest {
  /** The devices, one socket each. */
  readonly targets: readonly ServeTarget[];
  /** One JSON object per line instead of readable lines. */
  readonly json: boolean;
  /** Transport mode. */
  readonly transport: TransportChoice;
}

/** Where the command writes. */
export interface ServeIo {
  /** Standard output. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
}

const VDEV_TYPES: readonly string[] = [DEDICATED_TYPE, SHARED_TYPE];

/**
 * Turns the options into targets: `--socket PATH [--type T]`, or `--vdevs T:N,... --socket-dir DIR`
 * (sockets `DIR/<type>-<i>.sock`). A UsageError for a bad combination or list.
 */
export function serveTargets(o: { readonly socket?: string | undefined; readonly type?: string | undefined; readonly vdevs?: string | undefined; readonly socketDir?: string | undefined }): ServeTarget[] {
  if (o.vdevs !== undefined) {
    if (o.socket !== undefined || o.type !== undefined) throw new UsageError('--vdevs cannot be combined with --socket or --type');
    if (o.socketDir === undefined) throw new UsageError('--vdevs needs --socket-dir DIR');
    const targets: ServeTarget[] = [];
    for (const item of o.vdevs.split(',')) {
      const m = /^([a-z0-9-]+):(\d+)$/.exec(item.trim());
      if (m === null || !VDEV_TYPES.includes(m[1] as string) || Number(m[2]) < 1 || Number(m[2]) > 64) {
        throw new UsageError(`--vdevs: '${item}' is not TYPE:COUNT with TYPE one of ${VDEV_TYPES.join(', ')} and COUNT 1..64`);
      }
      const type = m[1] as DeviceType;
      const already = targets.filter((t) => t.type === type).length;
      for (let i = 0; i < Number(m[2]); i++) targets.push({ type, socket: join(o.socketDir, `${type}-${already + i}.sock`) });
    }
    return targets;
  }
  if (o.socketDir !== undefined) throw new UsageError('--socket-dir goes with --vdevs');
  if (o.socket === undefined) throw new UsageError('--socket PATH (or --vdevs ... --socket-dir DIR) is required');
  return [{ type: (o.type ?? DEDICATED_TYPE) as DeviceType, socket: o.socket }];
}

/** The `-device` option QEMU needs for `socket` (the JSON form; the only one `vfio-user-pci` takes). */
export function qemuDeviceOption(socket: string): string {
  return JSON.stringify({ driver: 'vfio-user-pci', socket: { type: 'unix', path: socket } });
}

/** The shared guest memory fd mode needs (`SIZE` = the guest's RAM, as given to -m). */
export const QEMU_MEMORY_OPTIONS = '-object memory-backend-memfd,id=mem,size=SIZE,share=on -machine memory-backend=mem';

/** A running `vidxd serve`. */
export interface RunningServe {
  /** The servers, in target order. */
  readonly servers: readonly VfioUserServer[];
  /** Closes every server (sockets removed). */
  close(): Promise<void>;
}

/** The readiness line's prefix (text mode): `vidxd serve: ready, N socket(s): PATH ...`. */
export const READY_PREFIX = 'vidxd serve: ready';

/** Builds the system, listens on every socket and prints the attach options and the readiness line. */
export async function startServe(req: ServeRequest, io: ServeIo): Promise<RunningServe> {
  const line = (socket: string | null, kind: string, message: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (req.json) io.out(`${JSON.stringify({ time: new Date().toISOString(), ...(socket !== null ? { socket } : {}), kind, message, ...(fields ?? {}) })}\n`);
    else io.out(`vidxd serve${socket !== null ? ` [${socket}]` : ''} ${kind}: ${message}\n`);
  };
  const vdevTargets = req.targets.filter((t): t is ServeTarget & { readonly type: VdevTypeName } => t.type !== 'pf');
  const pfTargets = req.targets.filter((t) => t.type === 'pf');
  if (pfTargets.length > 1 || (pfTargets.length === 1 && vdevTargets.length > 0)) throw new UsageError('the PF is served alone (one --socket with --type pf)');
  const devices: { target: ServeTarget; device: VfioDevice<unknown>; what: string }[] = [];
  if (pfTargets.length === 1) {
    const pf = new DsaDevice({ mode: 'automatic' });
    devices.push({ target: pfTargets[0] as ServeTarget, device: new VfioDevice(pfVfioOps(pf)), what: 'the DSA PF (whole-function pass-through)' });
  } else {
    const { parent, bus } = buildHost('automatic');
    vdevTargets.forEach((t, i) => {
      const uuid = `3b0ad1a5-0000-4000-8000-${(i + 1).toString(16).padStart(12, '0')}`;
      bus.create(parent.typeId(t.type), uuid);
      devices.push({ target: t, device: bus.open(uuid), what: `${t.type} vdev ${uuid}` });
    });
  }
  const servers: VfioUserServer[] = [];
  const closeAll = async (): Promise<void> => {
    for (const s of servers) await s.close();
  };
  try {
    for (const d of devices) {
      const socket = d.target.socket;
      const server = new VfioUserServer(d.device, {
        transport: req.transport,
        log: (e: ServerEvent) => line(socket, e.kind, e.message, e.fields),
      });
      servers.push(server);
      await server.listen(socket);
      line(socket, 'attach', `${d.what}: QEMU -device '${qemuDeviceOption(socket)}'${server.mode === 'fd' ? ` with shared guest memory: -m SIZE ${QEMU_MEMORY_OPTIONS}` : ''}`, {
        device: qemuDeviceOption(socket),
        ...(server.mode === 'fd' ? { memory: QEMU_MEMORY_OPTIONS } : {}),
        mode: server.mode,
      });
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  const sockets = req.targets.map((t) => t.socket);
  if (req.json) io.out(`${JSON.stringify({ time: new Date().toISOString(), kind: 'ready', sockets, mode: servers[0]?.mode })}\n`);
  else io.out(`${READY_PREFIX}, ${sockets.length} socket(s): ${sockets.join(' ')}\n`);
  return { servers, close: closeAll };
}

/** `vidxd serve` until SIGINT or SIGTERM; resolves to the exit status. */
export async function runServe(req: ServeRequest, io: ServeIo): Promise<number> {
  const running = await startServe(req, io);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await running.close();
  if (req.json) io.out(`${JSON.stringify({ time: new Date().toISOString(), kind: 'exit', message: `${signal}: sockets removed` })}\n`);
  else io.out(`vidxd serve: ${signal}, sockets removed\n`);
  return 0;
}
