/** Vitest global setup: says once what a missing system tool costs, and fails a CI run that lacks one. */
import { HAS_LSPCI, isCi, LSPCI_MISSING } from './system-tools.js';

/** Runs once before every test file. */
export default function setup(): void {
  if (HAS_LSPCI) return;
  if (isCi()) throw new Error(`${LSPCI_MISSING}. CI requires it.`);
  process.stderr.write(`vidxd tests: ${LSPCI_MISSING}.\n`);
}
