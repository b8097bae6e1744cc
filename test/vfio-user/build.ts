/**
 * Tests that start a server in another process need compiled JavaScript: `ensureBuilt()` runs
 * `tsc -p test` into build/ when a source file is newer than the last build (serialized by a lock
 * directory, so parallel test files build once), and returns the path of the compiled CLI.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, 'build');
const STAMP = join(BUILD, '.vfio-user-test-stamp');
const LOCK = join(BUILD, '.vfio-user-test-lock');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'build') t = Math.max(t, newest(p));
    } else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Compiles when stale; returns the compiled `vidxd` CLI. */
export function ensureBuilt(): string {
  mkdirSync(BUILD, { recursive: true });
  for (let i = 0; ; i++) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock older than two minutes was left by a killed run.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // Gone meanwhile.
      }
      if (i > 1200) throw new Error('timed out waiting for the test build lock');
      sleep(100);
    }
  }
  try {
    let built = 0;
    try {
      built = statSync(STAMP).mtimeMs;
    } catch {
      built = 0;
    }
    if (newest(join(ROOT, 'src')) > built || newest(join(ROOT, 'test', 'util')) > built) {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'test')], { cwd: ROOT, stdio: 'pipe' });
      writeFileSync(STAMP, '');
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
  return join(BUILD, 'src', 'cli', 'main.js');
}
