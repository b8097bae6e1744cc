/**
 * Shared timing helpers for the bench: run a body in growing batches until a time budget is spent
 * and report the rate. Not used by tests.
 */

/** One row of bench output. */
export interface BenchRow {
  /** Dotted row name, e.g. `engine.memmove.64k`. */
  readonly name: string;
  /** Measured value. */
  readonly value: number;
  /** Unit of `value` (and of `baseline`). */
  readonly unit: string;
  /** The comparison figure, when the row has one. */
  readonly baseline?: number;
  /** `value / baseline`, when the row has a baseline. */
  readonly ratio?: number;
}

/** A bench section: produces its rows. */
export type BenchSection = () => BenchRow[] | Promise<BenchRow[]>;

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/**
 * Calls `body(iterations)` in batches for about `budgetMs` (after a warm-up of a quarter of it)
 * and returns iterations per second. `body` must run `iterations` units of work.
 */
export function rate(body: (iterations: number) => void, budgetMs = 600): number {
  gc?.();
  let n = 1;
  const warmEnd = performance.now() + budgetMs / 4;
  while (performance.now() < warmEnd) {
    body(n);
    if (n < 1 << 20) n *= 2;
  }
  // Size batches to ~20 ms each.
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    body(batch);
    const dt = performance.now() - t0;
    if (dt >= 20 || batch >= 1 << 26) break;
    batch *= dt < 2 ? 8 : 2;
  }
  let best = 0;
  const end = performance.now() + budgetMs;
  while (performance.now() < end) {
    const t0 = performance.now();
    body(batch);
    const dt = performance.now() - t0;
    const r = (batch * 1000) / dt;
    if (r > best) best = r;
  }
  return best;
}

/**
 * Measures two bodies in alternating batches for about `budgetMs` in total, so both see the same
 * machine conditions; returns the best rate of each (iterations per second).
 */
export function ratePair(a: (iterations: number) => void, b: (iterations: number) => void, budgetMs = 1500): [number, number] {
  gc?.();
  // Warm both and size a batch to ~10 ms of `a`.
  let batch = 1;
  for (let k = 0; k < 3; k++) {
    a(batch);
    b(batch);
  }
  for (;;) {
    const t0 = performance.now();
    a(batch);
    const dt = performance.now() - t0;
    if (dt >= 10 || batch >= 1 << 26) break;
    batch *= dt < 1 ? 8 : 2;
  }
  let bestA = 0;
  let bestB = 0;
  const end = performance.now() + budgetMs;
  while (performance.now() < end) {
    let t0 = performance.now();
    a(batch);
    bestA = Math.max(bestA, (batch * 1000) / (performance.now() - t0));
    t0 = performance.now();
    b(batch);
    bestB = Math.max(bestB, (batch * 1000) / (performance.now() - t0));
  }
  return [bestA, bestB];
}

/** A row with its baseline and ratio. */
export function row(name: string, value: number, unit: string, baseline?: number): BenchRow {
  return baseline === undefined ? { name, value, unit } : { name, value, unit, baseline, ratio: value / baseline };
}
