/**
 * The model makes progress: a few single steps, or a run until nothing can run. Every descriptor
 * goes through `Fuzzer.stepChecked` (attributed to its owner and checked alone).
 */
import type { Fuzzer } from '../fuzzer.js';
import type { ActionDef } from './common.js';

function steps(f: Fuzzer): void {
  const n = f.r.range(1, 4);
  let ran = 0;
  while (ran < n && f.stepChecked()) ran++;
  f.line = `model: ${ran} of ${n} steps ran`;
}

function runUntilIdle(f: Fuzzer): void {
  // Described before it runs too, so a violation inside names the action.
  f.line = 'model: run until idle';
  f.line = `model: run until idle (${f.runUntilIdle()} descriptors)`;
}

/** Model progress. */
export const MODEL_ACTIONS: readonly ActionDef[] = [
  { name: 'model step', weight: 120, run: steps },
  { name: 'model run until idle', weight: 50, run: runUntilIdle },
];
