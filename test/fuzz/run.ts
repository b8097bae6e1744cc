/**
 * One fuzz run as a function: the CLI (main.ts) and the vitest wrapper (fuzz.test.ts) both call it.
 * Returns the counters, and the first violation with its step and the last actions.
 */
import { Fuzzer } from './fuzzer.js';
import { FuzzStats } from './stats.js';
import { type InvariantName, Violation } from './violation.js';

/** What to run. */
export interface RunOptions {
  /** PRNG seed. */
  readonly seed: number;
  /** Steps. */
  readonly ops: number;
  /** vdev slots (default 4). */
  readonly vdevs?: number;
  /** Called every `progressEvery` steps with the steps done so far. */
  readonly onProgress?: (steps: number) => void;
  /** Steps between progress calls (default 1024). */
  readonly progressEvery?: number;
}

/** A violation as the report prints it. */
export interface ViolationReport {
  /** The broken invariant. */
  readonly invariant: InvariantName;
  /** What was seen. */
  readonly message: string;
  /** The step it happened at (0-based; replay with `--ops step + 1`). */
  readonly step: number;
  /** The last actions, oldest first. */
  readonly reproducer: readonly string[];
}

/** The outcome of a run. */
export interface RunResult {
  /** Steps done (all of them when there was no violation). */
  readonly steps: number;
  /** Counters. */
  readonly stats: FuzzStats;
  /** The first violation, if any. */
  readonly violation: ViolationReport | null;
}

/** Runs the fuzzer; a broken invariant ends the run and is returned, never thrown. */
export function runFuzz(o: RunOptions): RunResult {
  const every = o.progressEvery ?? 1024;
  let f: Fuzzer | null = null;
  try {
    f = new Fuzzer({ seed: o.seed, vdevs: o.vdevs ?? 4 });
    for (let done = 0; done < o.ops;) {
      const n = Math.min(every, o.ops - done);
      f.run(n);
      done += n;
      o.onProgress?.(done);
    }
    return { steps: f.step, stats: f.stats, violation: null };
  } catch (e) {
    const v = e instanceof Violation ? e : new Violation('exception', `setup threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const step = f?.step === undefined ? 0 : Math.max(0, f.step - 1);
    return {
      steps: f?.step ?? 0,
      stats: f?.stats ?? new FuzzStats(),
      violation: { invariant: v.invariant, message: v.detail, step, reproducer: f?.reproducer() ?? [] },
    };
  }
}
