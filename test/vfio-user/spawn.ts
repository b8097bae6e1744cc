/** Runs `vidxd serve` in another process (compiled JavaScript) and waits for its readiness line. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from './build.js';

/** A `vidxd serve` process. */
export interface ServeProcess {
  /** The process. */
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Standard error so far. */
  readonly stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A fresh directory for sockets. */
export function socketDir(): string {
  return mkdtempSync(join(tmpdir(), 'vidxd-vu-'));
}

/** Starts `vidxd serve ...args` (with `env` added) and resolves once it printed its readiness line. */
export async function spawnServe(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<ServeProcess> {
  const cli = ensureBuilt();
  const child = spawn(process.execPath, [cli, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(l);
        if (l.startsWith('vidxd serve: ready') || l.includes('"kind":"ready"')) resolve();
      }
    });
    void exited.then((code) => reject(new Error(`vidxd serve exited (${code}) before it was ready: ${err}${lines.join('\n')}`)));
    setTimeout(() => reject(new Error(`vidxd serve was not ready in 20 s: ${err}${lines.join('\n')}`)), 20_000).unref();
  });
  await ready;
  return {
    child,
    lines,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
