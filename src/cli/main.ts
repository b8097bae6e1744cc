#!/usr/bin/env node
/**
 * The `vidxd` command. For now one subcommand: `demo` prints the lspci dump of a sample PCIe
 * function on stdout and how to decode it on stderr (so `npm run demo -s > d.txt` is a clean dump).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildDemoFunction } from './demo-device.js';

/** Where the command writes: standard output and standard error. */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
}

const USAGE = `usage: vidxd <command>

commands:
  demo      print the lspci dump of a sample PCI Express function (stdout)
            and how to decode it (stderr)
  --help    show this help
`;

const DECODE_NOTE = `
The dump above is in lspci's text format. Decode it with the real lspci (pciutils):
  npm run demo -s > d.txt && lspci -F d.txt -vvv -nn
`;

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs the command line `args` (without node and the script); returns the exit status. */
export function main(args: readonly string[], io: CliIo = processIo): number {
  const [command] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (command === 'demo') {
    io.out(buildDemoFunction().toLspciDump('00:01.0', 'System peripheral: vidxd sample function'));
    io.err(DECODE_NOTE);
    return 0;
  }
  io.err(`vidxd: unknown command '${command}'\n\n${USAGE}`);
  return 2;
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

if (invokedDirectly()) process.exitCode = main(process.argv.slice(2));
