#!/usr/bin/env node
/**
 * The `vidxd` command: `demo` (the whole system at work, verified), `lspci` (a device's config space
 * as `lspci -F` reads it), `regs` (its BAR0 register map) and `serve` (devices over vfio-user). `--help` everywhere,
 * `--version`; a usage mistake prints a message and the usage line and exits with status 2.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type OptionSpec, optionHelp, type ParsedOptions, parseOptions, UsageError } from './args.js';
import { type DemoTimings, runDemo } from './demo.js';
import { lspciText, regsText } from './inspect.js';
import { renderReport } from './report.js';
import { READY_PREFIX, runServe, serveTargets } from './serve.js';
import { DEVICE_TYPES, type DeviceType } from './system.js';

/** Where the command writes. */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Standard error is a terminal (the demo's progress line then updates in place). */
  readonly errIsTty?: boolean;
}

/** One command: its help texts, its options and what it does. */
interface CommandDef {
  /** One line for `vidxd --help`. */
  readonly summary: string;
  /** The usage line. */
  readonly usage: string;
  /** What it does, for its `--help`. */
  readonly details: string;
  /** The options it takes. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Runs it; resolves to the exit status. */
  run(o: ParsedOptions, io: CliIo): Promise<number>;
}

const TYPE_OPTION: OptionSpec = { kind: 'choice', arg: 'TYPE', choices: DEVICE_TYPES, help: `device: ${DEVICE_TYPES.join(', ')} (default ${DEVICE_TYPES[0]})` };
const ENABLED_OPTION: OptionSpec = { kind: 'flag', help: 'show the device after the reference driver brought it up (default: at reset)' };

const SERVE: CommandDef = {
  summary: 'serve devices over vfio-user sockets for QEMU (vfio-user-pci) or any vfio-user client',
  usage: 'vidxd serve --socket PATH [--type TYPE] | --vdevs TYPE:N[,TYPE:N...] --socket-dir DIR  [--transport auto|fd|net] [--json]',
  details: `Builds the default DSA model (running descriptors as they arrive), its host driver configured with a
dedicated and a shared mediated WQ, and the vidxd mdev parent; creates and opens the device (a vdev, or with
--type pf the whole DSA PF) and serves it on an AF_UNIX socket. --vdevs serves several vdevs of the one parent
from this process, one socket each (DIR/<type>-<i>.sock): several VMs sharing one DSA. For each socket it
prints the QEMU option to attach it:
-device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"PATH"}}'
and, in fd mode, the shared guest memory that makes DMA zero-copy and interrupts possible:
-m SIZE -object memory-backend-memfd,id=mem,size=SIZE,share=on -machine memory-backend=mem
Then one log line per event (connect, version, maps, IRQs, resets, errors, disconnect; --json: one JSON object
per line) and, once every socket listens, the line
${READY_PREFIX}, N socket(s): PATH...          (--json: {"kind":"ready","sockets":[...]})
SIGINT or SIGTERM closes every connection and removes the sockets. fd mode needs the fd-passing addon (built
at npm install); without it the devices are served without fds: DMA by messages and no interrupts.`,
  options: {
    socket: { kind: 'string', arg: 'PATH', help: 'the socket to serve one device on' },
    type: TYPE_OPTION,
    vdevs: { kind: 'string', arg: 'LIST', help: 'vdevs to serve, e.g. dsa-1swq-v1:2,dsa-1dwq-v1:1 (needs --socket-dir)' },
    'socket-dir': { kind: 'string', arg: 'DIR', help: 'where --vdevs puts its sockets' },
    transport: { kind: 'choice', arg: 'MODE', choices: ['auto', 'fd', 'net'], help: 'fd passing: auto (default: when the addon is built), fd, or net (none)' },
    json: { kind: 'flag', help: 'one JSON object per log line' },
  },
  async run(o, io) {
    const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
    const targets = serveTargets({ socket: str('socket'), type: str('type'), vdevs: str('vdevs'), socketDir: str('socket-dir') });
    const transport = (str('transport') ?? 'auto') as 'auto' | 'fd' | 'net';
    return runServe({ targets, json: o.json === true, transport }, io);
  },
};

const COMMANDS: Readonly<Record<string, CommandDef>> = {
  demo: {
    summary: 'run three VMs on vdevs of one DSA model and verify every result',
    usage: 'vidxd demo [--json] [--seed N]',
    details: `Builds the default DSA model, configures it through the host driver (one group with a dedicated and a
shared mediated WQ), creates one dsa-1dwq-v1 and two dsa-1swq-v1 vdevs, each opened by a VM with its own
guest memory and IOAS, and runs the reference guest driver in each through memmove, fill, CRC-32C, compare,
a batch, DIF insert/check/strip and a page fault the VMM resolves. Every result is checked against a
plain-JS computation. The report ends with each guest's config space as an lspci dump
(vidxd demo | lspci -F /dev/stdin -vv) and the verdict. Exit status 0 only when every check passed.`,
    options: {
      json: { kind: 'flag', help: 'print the report as JSON' },
      seed: { kind: 'integer', arg: 'N', help: 'seed of the test data (default 1)' },
    },
    async run(o, io) {
      const seed = typeof o.seed === 'number' ? o.seed : 1;
      const t0 = performance.now();
      const progress = progressLine(io);
      const timings: DemoTimings = { migrationDowntimeMs: null };
      const report = await runDemo(seed, progress.update, timings);
      progress.end();
      io.out(o.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report, performance.now() - t0, timings));
      return report.ok ? 0 : 1;
    },
  },
  lspci: {
    summary: 'print a device\'s config space in the format lspci -F reads',
    usage: 'vidxd lspci [--type TYPE] [--enabled]',
    details: `Reads the 4 KiB config space through the VFIO config region and prints it as lspci -xxxx does.
Decode it with the real lspci:  vidxd lspci > d.txt && lspci -F d.txt -vvv -nn`,
    options: { type: TYPE_OPTION, enabled: ENABLED_OPTION },
    async run(o, io) {
      io.out(await lspciText(deviceType(o), o.enabled === true));
      return 0;
    },
  },
  regs: {
    summary: 'print a device\'s BAR0 register map with values and fields',
    usage: 'vidxd regs [--type TYPE] [--enabled] [--all]',
    details: `Reads every register of the device's register tables through the VFIO BAR0 region and decodes its
fields. Blocks of more than 16 instances (the PF's interrupt-handle table) show two unless --all.`,
    options: { type: TYPE_OPTION, enabled: ENABLED_OPTION, all: { kind: 'flag', help: 'list every instance of every block' } },
    async run(o, io) {
      io.out(await regsText(deviceType(o), o.enabled === true, o.all === true));
      return 0;
    },
  },
  serve: SERVE,
};

function deviceType(o: ParsedOptions): DeviceType {
  return (typeof o.type === 'string' ? o.type : DEVICE_TYPES[0]) as DeviceType;
}

/** The demo's progress line: rewritten in place on a terminal; one line per finished VM otherwise. */
function progressLine(io: CliIo): { update: (vm: number, step: string, checks: number) => void; end: () => void } {
  const steps = ['…', '…', '…'];
  let shown = false;
  return {
    update(vm, step, checks) {
      steps[vm] = step;
      if (io.errIsTty === true) {
        io.err(`\r\x1b[Kvidxd demo: ${steps.map((s, i) => `vdev ${i + 1} ${s}`).join(' · ')} · ${checks} checks`);
        shown = true;
      } else if (step === 'done') {
        io.err(`vidxd demo: vdev ${vm + 1} done (${checks} checks so far)\n`);
      }
    },
    end() {
      if (shown) io.err('\r\x1b[K');
    },
  };
}

/** The package's version, read from its package.json (two levels above both src/cli and dist/cli). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The top-level usage line. */
const TOP_USAGE = 'vidxd <command> [options] | vidxd --help | vidxd --version';

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`);
  return `usage: ${TOP_USAGE}

vidxd emulates an Intel DSA (idxd) device as a mediated device behind a VFIO-like API.

commands:
${lines.join('\n')}

Run 'vidxd <command> --help' for a command's options.
`;
}

function commandHelp(c: CommandDef): string {
  return `usage: ${c.usage}\n\n${c.details}\n\noptions:\n${optionHelp(c.options)}\n`;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTty: process.stderr.isTTY === true,
};

/** Runs the command line `args` (without node and the script); resolves to the exit status. */
export async function main(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    if (rest.length > 0) {
      io.err(`vidxd: --version takes no argument\nusage: ${TOP_USAGE}\nTry 'vidxd --help'.\n`);
      return 2;
    }
    io.out(`vidxd ${version()}\n`);
    return 0;
  }
  if (name === undefined) {
    io.err(`vidxd: a command is required\n\n${usage()}`);
    return 2;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    io.err(`vidxd: unknown ${name.startsWith('-') ? 'option' : 'command'} '${name}'\nusage: ${TOP_USAGE}\nTry 'vidxd --help'.\n`);
    return 2;
  }
  let opts: ParsedOptions;
  try {
    opts = parseOptions(rest, cmd.options);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`vidxd ${name}: ${e.message}\nusage: ${cmd.usage}\nTry 'vidxd ${name} --help'.\n`);
    return 2;
  }
  if (opts.help === true) {
    io.out(commandHelp(cmd));
    return 0;
  }
  try {
    return await cmd.run(opts, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`vidxd ${name}: ${e.message}\nusage: ${cmd.usage}\nTry 'vidxd ${name} --help'.\n`);
      return 2;
    }
    io.err(`vidxd ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** True when this file is the script node was started with (also through the npm bin symlink). */
function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
