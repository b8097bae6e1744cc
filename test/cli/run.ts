/** Runs the `vidxd` command in-process with captured output. */
import { main } from '../../src/cli/main.js';

/** Exit status and what went to stdout and stderr. */
export interface CliRun {
  readonly status: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `vidxd ...args`. */
export async function run(...args: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const status = await main(args, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { status, out, err };
}
