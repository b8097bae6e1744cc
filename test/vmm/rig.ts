/**
 * The real-VMM rig: runs `vidxd serve` (this repository's build) on the host and QEMU (from the
 * provisioned Debian chroot, see provision.sh) with a Linux guest attached to its socket, and reads the
 * guest's verdicts from its serial console. The guest's /init and program print every outcome as
 * `@vidxd result NAME pass|fail key=value …`, blocks of text between `@vidxd begin X` / `@vidxd end X`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The provisioning cache (provision.sh): $VIDXD_VMM_CACHE or ~/.cache/vidxd-vmm. */
export const CACHE = process.env.VIDXD_VMM_CACHE ?? join(homedir(), '.cache', 'vidxd-vmm');
/** The chroot QEMU runs in. */
export const ROOT = join(CACHE, 'root');
/** This repository's build of the `vidxd` command. */
export const REPO_CLI = join(REPO, 'dist', 'cli', 'main.js');
/** The `vidxd` command whose `serve` is under test: $VIDXD_VMM_CLI, or this repository's build. */
export const VIDXD_CLI = process.env.VIDXD_VMM_CLI ?? REPO_CLI;

/** What provision.sh recorded about the base. */
export interface Stamp {
  /** QEMU version in the chroot. */
  readonly qemu: string;
  /** Guest kernel release. */
  readonly kernel: string;
  /** Seconds the base took to provision. */
  readonly seconds: string;
}

/** Reads the base's stamp; throws with what to do when the cache is not provisioned. */
export function readStamp(): Stamp {
  const file = join(CACHE, 'base.stamp');
  if (!existsSync(file) || !existsSync(join(ROOT, 'vmm', 'initrd.cpio'))) {
    throw new Error(`${CACHE} is not provisioned: run npm run test:vmm (it runs test/vmm/provision.sh first)`);
  }
  const kv = new Map(readFileSync(file, 'utf8').split('\n').map((l) => l.split('=', 2) as [string, string]));
  return { qemu: kv.get('qemu') ?? '?', kernel: kv.get('kernel') ?? '?', seconds: kv.get('seconds') ?? '?' };
}

/** The directory of this run's logs (created by the global setup, passed in the environment). */
export function runDir(): string {
  const dir = process.env.VIDXD_VMM_RUN_DIR ?? join(CACHE, 'logs', 'adhoc');
  mkdirSync(dir, { recursive: true });
  return dir;
}

const tailOf = (lines: readonly string[], n: number): string => lines.slice(-n).join('\n');

// ---------------------------------------------------------------------------------------------------
// vidxd serve

/** A running `vidxd serve`. */
export interface Server {
  /** Its output, line by line (standard output and error). */
  readonly log: string[];
  /** The socket directory on the host (inside the chroot tree). */
  readonly hostDir: string;
  /** The same directory as QEMU in the chroot sees it. */
  readonly chrootDir: string;
  /** The last `n` lines of its output. */
  tail(n?: number): string;
  /** Where its log is written. */
  readonly logFile: string;
  /** SIGTERM, then waits for it to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/**
 * Starts `vidxd serve` with `args`, in which `{dir}` stands for a fresh socket directory inside the
 * chroot tree; resolves once a line matching `ready` appeared (rejects if it exits first or after 30 s).
 */
export async function startServer(name: string, args: readonly string[], ready: RegExp): Promise<Server> {
  const runRoot = join(ROOT, 'run');
  mkdirSync(runRoot, { recursive: true });
  const hostDir = mkdtempSync(join(runRoot, 'vidxd-'));
  const chrootDir = `/${relative(ROOT, hostDir)}`;
  const logFile = join(runDir(), `${name}.server.log`);
  writeFileSync(logFile, `$ vidxd serve ${args.join(' ')}\n`);
  const argv = [VIDXD_CLI, 'serve', ...args.map((a) => a.replaceAll('{dir}', hostDir))];
  const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  let exited = false;
  const exit = new Promise<void>((res) => child.once('exit', () => { exited = true; res(); }));
  const seen = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`vidxd serve printed no line matching ${ready} within 30 s:\n${tailOf(log, 40)}`)), 30_000);
    const onLine = (line: string): void => {
      log.push(line);
      appendFileSync(logFile, `${line}\n`);
      if (ready.test(line)) { clearTimeout(timer); res(); }
    };
    lines(child, 'stdout', onLine);
    lines(child, 'stderr', onLine);
    void exit.then(() => { clearTimeout(timer); rej(new Error(`vidxd serve exited (status ${child.exitCode}) before it was ready:\n${tailOf(log, 40)}`)); });
  });
  const server: Server = {
    log, hostDir, chrootDir, logFile,
    tail: (n = 40) => tailOf(log, n),
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(t);
      }
      rmSync(hostDir, { recursive: true, force: true });
    },
  };
  try {
    await seen;
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

function lines(child: ChildProcess, stream: 'stdout' | 'stderr', onLine: (line: string) => void): void {
  let rest = '';
  child[stream]?.setEncoding('utf8');
  child[stream]?.on('data', (chunk: string) => {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, nl).replace(/\r$/, ''));
      rest = rest.slice(nl + 1);
    }
  });
  child[stream]?.on('end', () => { if (rest !== '') onLine(rest); });
}

// ---------------------------------------------------------------------------------------------------
// QEMU

/** How a VM is built. */
export interface VmOptions {
  /** Name in logs and reports. */
  readonly name: string;
  /** The vfio-user socket as QEMU in the chroot sees it. */
  readonly socket: string;
  /** What the guest expects to find. */
  readonly type: 'dsa-1dwq-v1' | 'dsa-1swq-v1' | 'pf';
  /** sysfs: no kernel driver, DMA to guest-physical addresses; vfio: vfio-pci behind a virtual IOMMU. */
  readonly access: 'sysfs' | 'vfio';
  /** Guest RAM as memory-backend-memfd,share=on (QEMU then passes its fds with DMA_MAP). */
  readonly sharedMemory: boolean;
  /** Further guest parameters (vidxd.NAME=VALUE on the kernel command line). */
  readonly params?: Readonly<Record<string, string | number>>;
  /** Kill the VM after this long (default {@link BOOT_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** One outcome the guest reported. */
export interface GuestResult {
  /** Check name. */
  readonly name: string;
  /** Whether the guest judged it passed. */
  readonly pass: boolean;
  /** The rest of the line (key=value pairs). */
  readonly detail: string;
  /** Milliseconds since the VM started when the line arrived. */
  readonly at: number;
}

/** A finished VM. */
export interface VmRun {
  /** Its options. */
  readonly options: VmOptions;
  /** Wall-clock milliseconds from QEMU's start to its exit. */
  readonly ms: number;
  /** Host time (ms since the epoch) QEMU started. */
  readonly startedAt: number;
  /** QEMU's exit status (null when killed). */
  readonly exitCode: number | null;
  /** Killed by the boot timeout. */
  readonly timedOut: boolean;
  /** The serial console, line by line. */
  readonly serial: readonly string[];
  /** QEMU's own standard error. */
  readonly stderr: string;
  /** `@vidxd result` lines by name (the last one wins). */
  readonly results: ReadonlyMap<string, GuestResult>;
  /** Text between `@vidxd begin X` and `@vidxd end X`, by X. */
  readonly blocks: ReadonlyMap<string, string>;
  /** Where the serial log is written. */
  readonly logFile: string;
}

/** Default boot timeout: $VIDXD_VMM_BOOT_TIMEOUT seconds, else 300 s. */
export const BOOT_TIMEOUT_MS = Number(process.env.VIDXD_VMM_BOOT_TIMEOUT ?? 300) * 1000;

/** Every VM the run booted (for the timing summary). */
export const BOOTS: VmRun[] = [];

/**
 * The guest kernel's command line: serial console, quiet, no reboot on panic (QEMU exits), two 2 MiB
 * huge pages for the guest program's DMA buffer, and no_timer_check (the kernel's check that the
 * timer interrupt works can fail on a loaded host under TCG and panic the guest).
 */
const KERNEL_ARGS = ['console=ttyS0', 'loglevel=4', 'panic=-1', 'hugepages=2', 'no_timer_check'];

/** The QEMU command line for `o` (QEMU runs with the chroot as its root). */
export function qemuArgs(o: VmOptions): string[] {
  const mem = 256;
  const params = { type: o.type, access: o.access, ...o.params };
  const append = [...KERNEL_ARGS, ...(o.access === 'vfio' ? ['intel_iommu=on'] : []),
    ...Object.entries(params).map(([k, v]) => `vidxd.${k}=${v}`)].join(' ');
  const device = JSON.stringify({ driver: 'vfio-user-pci', socket: { type: 'unix', path: o.socket } });
  return [
    '-nodefaults', '-no-user-config', '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', `${mem}M`,
    '-machine', o.sharedMemory ? 'q35,memory-backend=ram' : 'q35',
    ...(o.sharedMemory ? ['-object', `memory-backend-memfd,id=ram,size=${mem}M,share=on`] : []),
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', '/vmm/vmlinuz', '-initrd', '/vmm/initrd.cpio', '-append', append,
    // The guest IOMMU must exist before the device behind it; QEMU's vfio needs caching mode. Without
    // interrupt remapping (the guest's vfio is told to allow that) MSI-X messages are plain.
    ...(o.access === 'vfio' ? ['-device', 'intel-iommu,caching-mode=on,intremap=off'] : []),
    '-device', device,
  ];
}

/** Boots a VM, lets it run to its power-off (or the timeout) and collects what it printed. */
export async function runVm(o: VmOptions): Promise<VmRun> {
  const logFile = join(runDir(), `${o.name}.serial.log`);
  const args = qemuArgs(o);
  writeFileSync(logFile, `$ chroot ${ROOT} qemu-system-x86_64 ${args.map((a) => (/[\s"{]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  const startedAt = Date.now();
  const child = spawn('chroot', [ROOT, '/usr/bin/qemu-system-x86_64', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const serial: string[] = [];
  const results = new Map<string, GuestResult>();
  const blocks = new Map<string, string>();
  let stderr = '';
  let block: { name: string; lines: string[] } | null = null;
  lines(child, 'stdout', (line) => {
    serial.push(line);
    appendFileSync(logFile, `${line}\n`);
    const m = /^@vidxd (\S+) ?(\S*) ?(.*)$/.exec(line);
    if (m === null) {
      block?.lines.push(line);
      return;
    }
    const [, kind, name = '', rest = ''] = m;
    if (kind === 'begin') block = { name, lines: [] };
    else if (kind === 'end' && block !== null && block.name === name) {
      blocks.set(name, block.lines.join('\n'));
      block = null;
    } else if (kind === 'result') {
      const r = /^(pass|fail) ?(.*)$/.exec(rest);
      results.set(name, { name, pass: r?.[1] === 'pass', detail: r?.[2] ?? rest, at: Date.now() - startedAt });
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => { stderr += s; });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.timeoutMs ?? BOOT_TIMEOUT_MS);
  const exitCode = await new Promise<number | null>((res) => {
    child.once('error', (e) => { stderr += `spawn failed: ${e.message}\n`; res(null); });
    child.once('close', (code) => res(code));
  });
  clearTimeout(timer);
  if (stderr !== '') appendFileSync(logFile, `--- qemu stderr ---\n${stderr}`);
  const run: VmRun = { options: o, ms: Date.now() - startedAt, startedAt, exitCode, timedOut, serial, stderr, results, blocks, logFile };
  BOOTS.push(run);
  recordBoot(run);
  return run;
}

function recordBoot(run: VmRun): void {
  const r = [...run.results.values()];
  const line = {
    name: run.options.name, type: run.options.type, access: run.options.access, sharedMemory: run.options.sharedMemory,
    seconds: Math.round(run.ms / 100) / 10, passed: r.filter((x) => x.pass).length, failed: r.filter((x) => !x.pass).length,
    timedOut: run.timedOut, exitCode: run.exitCode,
  };
  appendFileSync(join(runDir(), 'boots.jsonl'), `${JSON.stringify(line)}\n`);
}

/** What to show when a check fails: the guest's serial tail, QEMU's stderr and the server's log tail. */
export function failureContext(vm: VmRun | undefined, server: Server | undefined): string {
  const parts: string[] = [];
  if (vm !== undefined) {
    parts.push(`--- guest serial (last 40 lines of ${vm.logFile}) ---`, tailOf(vm.serial, 40));
    if (vm.timedOut) parts.push(`(the VM was killed after ${vm.options.timeoutMs ?? BOOT_TIMEOUT_MS} ms)`);
    if (vm.stderr.trim() !== '') parts.push('--- qemu stderr ---', vm.stderr.trim().split('\n').slice(-20).join('\n'));
  }
  if (server !== undefined) parts.push(`--- vidxd serve (last 40 lines of ${server.logFile}) ---`, server.tail(40));
  return parts.join('\n');
}

/** The guest's result `name`, or an error naming what is missing or failed, with the logs' tails. */
export function guestResult(vm: VmRun | undefined, server: Server | undefined, name: string): GuestResult {
  const r = vm?.results.get(name);
  if (r === undefined) throw new Error(`the guest reported no result "${name}"\n${failureContext(vm, server)}`);
  if (!r.pass) throw new Error(`guest check "${name}" failed: ${r.detail}\n${failureContext(vm, server)}`);
  return r;
}

/** Parses `key=value` pairs (values may be "quoted"). */
export function fields(detail: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of detail.matchAll(/(\S+?)=("([^"]*)"|\S*)/g)) m.set(x[1] as string, x[3] ?? (x[2] as string));
  return m;
}
