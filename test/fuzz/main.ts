/**
 * `npm run fuzz -- [--target device|vfio-user|migration] --seed S --ops N [--vdevs K]`, or `npm run fuzz -- --ci`
 * (the CI set: the device target with 4 fixed seeds × 50,000 steps, then the vfio-user wire target with
 * 4 fixed seeds × 50,000 steps, then the migration stream target with 4 fixed seeds × 5,000 streams).
 * The migration target loads 1,000,000 streams by default (`--ops` counts streams). Shows progress while it runs (one updating line on a terminal, a plain line
 * every ~2 s otherwise), then a summary of actions and answers by kind. On a broken invariant it
 * prints the seed, the step, the invariant, the last actions and how to replay, and exits 1.
 */
import { formatSummary, FuzzStats } from './stats.js';
import { runFuzz, type ViolationReport } from './run.js';
import { runMigrationFuzz } from './migration.js';
import { runWireFuzz } from './vfio-user.js';

/** The CI set: fixed seeds and steps per seed (200,000 steps in total). */
const CI_SEEDS = [1, 2, 3, 4];
const CI_OPS = 50_000;
/** Steps per seed of the vfio-user target in the CI set. */
const CI_WIRE_OPS = 50_000;
/** Streams per seed of the migration target in the CI set. */
const CI_MIGRATION_STREAMS = 5_000;
/** Streams of the migration target by default. */
const MIGRATION_STREAMS = 1_000_000;

/** What to fuzz: the device model and its VFIO API, the vfio-user wire protocol, or migration streams. */
type Target = 'device' | 'vfio-user' | 'migration';

interface Args {
  readonly targets: readonly Target[];
  readonly seeds: readonly number[];
  readonly ops: number;
  readonly vdevs: number;
}

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\nusage: npm run fuzz -- [--target device|vfio-user|migration] [--seed S] [--ops N] [--vdevs K] | --ci\n`);
  process.exit(2);
}

function parseCount(name: string, text: string | undefined, min: number): number {
  const n = text === undefined ? Number.NaN : Number(text);
  if (!Number.isSafeInteger(n) || n < min) usage(`${name} needs an integer ≥ ${min}, got ${String(text)}`);
  return n;
}

function parseArgs(argv: readonly string[]): Args {
  let seed = 1;
  let ops: number | null = null;
  let vdevs = 4;
  let ci = false;
  let target: Target = 'device';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ci') ci = true;
    else if (a === '--target') {
      const t = argv[++i];
      if (t !== 'device' && t !== 'vfio-user' && t !== 'migration') usage(`--target needs device, vfio-user or migration, got ${String(t)}`);
      target = t;
    }
    else if (a === '--seed') seed = parseCount('--seed', argv[++i], 0) >>> 0;
    else if (a === '--ops') ops = parseCount('--ops', argv[++i], 1);
    else if (a === '--vdevs') vdevs = parseCount('--vdevs', argv[++i], 1);
    else usage(`unknown argument ${String(a)}`);
  }
  if (ci) return { targets: ['device', 'vfio-user', 'migration'], seeds: CI_SEEDS, ops: CI_OPS, vdevs };
  return { targets: [target], seeds: [seed], ops: ops ?? (target === 'migration' ? MIGRATION_STREAMS : 100_000), vdevs };
}

/** Progress output: one updating line on a terminal, a plain line every ~2 s otherwise. */
class Progress {
  private readonly tty = process.stdout.isTTY === true;
  private last = 0;

  constructor(private readonly start: number, private readonly total: number) {}

  update(done: number, force = false): void {
    const now = performance.now();
    if (!force && now - this.last < (this.tty ? 200 : 2000)) return;
    this.last = now;
    const s = (now - this.start) / 1000;
    const line = `fuzz: ${done.toLocaleString('en-US')} / ${this.total.toLocaleString('en-US')} steps, ` +
      `${Math.round(done / Math.max(s, 1e-3)).toLocaleString('en-US')} steps/s, ${s.toFixed(1)} s`;
    if (this.tty) process.stdout.write(`\r${line}\x1b[K`);
    else process.stdout.write(`${line}\n`);
  }

  end(): void {
    if (this.tty) process.stdout.write('\n');
  }
}

function report(v: ViolationReport, seed: number, vdevs: number): void {
  const out = [
    `fuzz: VIOLATION of invariant "${v.invariant}" at step ${v.step} (seed ${seed})`,
    `  ${v.message}`,
    `last ${v.reproducer.length} actions (oldest first):`,
    ...v.reproducer.map((l) => `  ${l}`),
    `replay: npm run fuzz -- --seed ${seed} --ops ${v.step + 1}${vdevs === 4 ? '' : ` --vdevs ${vdevs}`}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The vfio-user wire target: a hostile client against a served vdev. */
function mainWire(seeds: readonly number[], ops: number): number {
  const total = ops * seeds.length;
  const start = performance.now();
  const progress = new Progress(start, total);
  let before = 0;
  let sessions = 0;
  const answers = new Map<string, number>();
  for (const seed of seeds) {
    const r = runWireFuzz({ seed, ops, onProgress: (n) => progress.update(before + n) });
    if (r.violation !== null) {
      progress.update(before + r.steps, true);
      progress.end();
      const v = r.violation;
      process.stdout.write(`${[
        `fuzz vfio-user: VIOLATION of invariant "${v.invariant}" at step ${v.step} (seed ${seed})`,
        `  ${v.message}`,
        `last ${v.last.length} actions (oldest first):`,
        ...v.last.map((l) => `  ${l}`),
        `replay: npm run fuzz -- --target vfio-user --seed ${seed} --ops ${v.step + 1}`,
      ].join('\n')}\n`);
      return 1;
    }
    before += r.steps;
    sessions += r.sessions;
    for (const [k, n] of r.answers.entries()) answers.set(k, (answers.get(k) ?? 0) + n);
  }
  progress.update(before, true);
  progress.end();
  const s = (performance.now() - start) / 1000;
  const list = seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds.join(', ')}`;
  process.stdout.write(`fuzz vfio-user: ${before.toLocaleString('en-US')} steps (${list}), ${sessions.toLocaleString('en-US')} hostile clients, in ${s.toFixed(1)} s, no invariant broken\n`);
  process.stdout.write(`  answers: ${[...answers.entries()].sort().map(([k, n]) => `${k} ×${n}`).join(', ')}\n`);
  return 0;
}

/** The migration target: seeded streams, mutated, loaded into destination vdevs. */
function mainMigration(seeds: readonly number[], streams: number): number {
  const total = streams * seeds.length;
  const start = performance.now();
  const progress = new Progress(start, total);
  let before = 0;
  const outcomes = new Map<string, number>();
  for (const seed of seeds) {
    const r = runMigrationFuzz({ seed, streams, onProgress: (n) => progress.update(before + n) });
    if (r.violation !== null) {
      progress.update(before + r.streams, true);
      progress.end();
      const v = r.violation;
      process.stdout.write(`${[
        `fuzz migration: VIOLATION of invariant "${v.invariant}" at stream ${v.stream} (seed ${seed}, mutation ${v.mutation})`,
        `  ${v.message}`,
        `replay: npm run fuzz -- --target migration --seed ${seed} --ops ${v.stream + 1}`,
      ].join('\n')}\n`);
      return 1;
    }
    before += r.streams;
    for (const [k, n] of r.outcomes.entries()) outcomes.set(k, (outcomes.get(k) ?? 0) + n);
  }
  progress.update(before, true);
  progress.end();
  const s = (performance.now() - start) / 1000;
  const list = seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds.join(', ')}`;
  process.stdout.write(`fuzz migration: ${before.toLocaleString('en-US')} streams (${list}) in ${s.toFixed(1)} s, no invariant broken\n`);
  process.stdout.write(`  outcomes: ${[...outcomes.entries()].sort().map(([k, n]) => `${k} ×${n}`).join(', ')}\n`);
  return 0;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const ci = args.targets.length > 1;
  if (args.targets.includes('device')) {
    const status = mainDevice(args);
    if (status !== 0) return status;
  }
  if (args.targets.includes('vfio-user')) {
    const status = mainWire(args.seeds, ci ? CI_WIRE_OPS : args.ops);
    if (status !== 0) return status;
  }
  return args.targets.includes('migration') ? mainMigration(args.seeds, ci ? CI_MIGRATION_STREAMS : args.ops) : 0;
}

function mainDevice(args: Args): number {
  const total = args.ops * args.seeds.length;
  const start = performance.now();
  const progress = new Progress(start, total);
  const stats = new FuzzStats();
  let before = 0;
  for (const seed of args.seeds) {
    const result = runFuzz({ seed, ops: args.ops, vdevs: args.vdevs, onProgress: (n) => progress.update(before + n) });
    stats.merge(result.stats);
    if (result.violation !== null) {
      progress.update(before + result.steps, true);
      progress.end();
      report(result.violation, seed, args.vdevs);
      return 1;
    }
    before += result.steps;
  }
  progress.update(before, true);
  progress.end();
  const s = (performance.now() - start) / 1000;
  const seeds = args.seeds.length === 1 ? `seed ${args.seeds[0]}` : `seeds ${args.seeds.join(', ')}`;
  process.stdout.write(`fuzz: ${before.toLocaleString('en-US')} steps (${seeds}, ${args.vdevs} vdev slots) in ${s.toFixed(1)} s, no invariant broken\n`);
  process.stdout.write(`${formatSummary(stats).join('\n')}\n`);
  return 0;
}

// Output piped into a reader that stops early (`| head`): stop quietly instead of throwing EPIPE.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = main();
