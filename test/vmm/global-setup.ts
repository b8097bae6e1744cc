/**
 * Global setup of the real-VMM check: refuses to start without root and a provisioned cache (npm run
 * test:vmm provisions before vitest starts), creates this run's log directory, and at the end prints
 * every boot with its time and its guest verdicts.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, readStamp, REPO_CLI } from './rig.js';

export default function setup(): () => void {
  if (process.getuid?.() !== 0) throw new Error('npm run test:vmm needs root (QEMU runs in a chroot)');
  if (!existsSync(REPO_CLI)) throw new Error(`${REPO_CLI} is missing: npm run build first (npm run test:vmm does)`);
  const stamp = readStamp();
  const dir = join(CACHE, 'logs', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  process.env.VIDXD_VMM_RUN_DIR = dir;
  console.log(`vmm: QEMU ${stamp.qemu}, guest kernel ${stamp.kernel}; logs in ${dir}`);
  return () => {
    const file = join(dir, 'boots.jsonl');
    if (!existsSync(file)) return;
    const boots = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    console.log('\nvmm boots (wall-clock seconds from QEMU start to power-off):');
    for (const b of boots) {
      const mode = `${b.sharedMemory === true ? 'fd (memfd, shared)' : 'plain'} · ${String(b.access)}`;
      const end = b.timedOut === true ? 'TIMED OUT' : `exit ${String(b.exitCode)}`;
      console.log(`  ${String(b.name).padEnd(28)} ${mode.padEnd(28)} ${String(b.seconds).padStart(6)} s  guest checks ${String(b.passed)} passed, ${String(b.failed)} failed  (${end})`);
    }
  };
}
