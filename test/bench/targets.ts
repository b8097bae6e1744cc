/**
 * The goals of issues 3, 8, 17 and 19 per bench row (goals, not tests): each says in words what it asks
 * and whether a row meets it. Rows without a goal (MEMMOVE at 4 KiB) have none here.
 */
import type { BenchRow } from './timing.js';

/** A goal of one row. */
export interface Target {
  /** What the goal asks, as printed in the table. */
  readonly text: string;
  /** Whether `r` meets it. */
  readonly met: (r: BenchRow) => boolean;
}

const ratio = (r: BenchRow): number => r.ratio ?? 0;

const NOOP: Target = { text: '>= 10 M/s', met: (r) => r.value >= 10e6 };
const COPY: Target = { text: '>= 0.9x', met: (r) => ratio(r) >= 0.9 };
/** Issue 19: a 64 KiB MEMMOVE on the engine alone at memory speed, next to `copyWithin` in the same run. */
const ENGINE_COPY_64K: Target = { text: '>= 0.95x', met: (r) => ratio(r) >= 0.95 };
const TRAP: Target = { text: '<= 100 ns', met: (r) => r.value <= 100 };

/** Goals by row name. */
export const TARGETS: Readonly<Record<string, Target>> = {
  'engine.noop': NOOP,
  'engine.memmove.64k': ENGINE_COPY_64K,
  'engine.memmove.1m': COPY,
  'engine.crc32c': { text: '>= 1.0x', met: (r) => ratio(r) >= 1.0 },
  'engine.crc32c.js': { text: '>= 0.3x', met: (r) => ratio(r) >= 0.3 },
  'portal.noop': { text: '>= 10 M/s, >= 0.5x', met: (r) => r.value >= 10e6 && ratio(r) >= 0.5 },
  'portal.memmove.64k': COPY,
  'portal.memmove.1m': COPY,
  'trap.bar0.read': TRAP,
  'trap.bar0.write': TRAP,
  'trap.config.read': TRAP,
  'trap.config.write': TRAP,
  'trap.bar0.read.region': TRAP,
  'trap.bar0.write.region': TRAP,
  'trap.config.read.region': TRAP,
  'trap.config.write.region': TRAP,
  'scale.vdevs1000': { text: '< 1000 ms', met: (r) => r.value < 1000 },
  'scale.bytesPerVdev': { text: '<= 64 KiB', met: (r) => r.value <= 65536 },
  'vfio-user.region.read': { text: '>= 0.7x', met: (r) => ratio(r) >= 0.7 },
  'vfio-user.memmove.64k': { text: '>= 0.5x', met: (r) => ratio(r) >= 0.5 },
  'migration.downtime.idle': { text: '< 1 ms', met: (r) => r.value < 1 },
  'xthread.noop': { text: '>= 0.5x', met: (r) => ratio(r) >= 0.5 },
  'xthread.noop.batch': { text: '>= 0.5x', met: (r) => ratio(r) >= 0.5 },
};

/** The target cell of `r`: the goal and `met` or `MISSED`, or empty when the row has no goal. */
export function targetCell(r: BenchRow): string {
  const t = TARGETS[r.name];
  return t === undefined ? '' : `${t.text} ${t.met(r) ? 'met' : 'MISSED'}`;
}
