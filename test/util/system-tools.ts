/**
 * System tools some tests need (the real `lspci` of pciutils). A test that needs one runs when it is on
 * PATH; without it the test is skipped and the global setup prints one line naming the package to
 * install — except under CI (`CI` set to anything but `false`/`0`), where a missing tool fails the run,
 * because CI must check against the real tool.
 */
import { execFileSync } from 'node:child_process';

/** True when `command --version` runs. */
function runs(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The real `lspci` is on PATH. */
export const HAS_LSPCI = runs('lspci');

/** What is said when `lspci` is missing. */
export const LSPCI_MISSING =
  'lspci was not found on PATH: the tests that decode dumps with the real lspci did not run; install the package pciutils (Debian/Ubuntu: apt-get install pciutils)';

/** True when the environment says this is a CI run. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['CI'];
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}
