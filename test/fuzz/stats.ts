/**
 * What a fuzz run counts: actions taken by kind, and answers by kind — host-API errors (errno
 * names), and device-level answers (CMDSTS codes, SWERR codes, completion-record statuses, portal
 * submission results).
 */

/** A multiset of names. */
export class Tally {
  private readonly counts = new Map<string, number>();

  /** Adds `n` (default 1) to `name`. */
  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  /** The count of `name`. */
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /** Sum of every count. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Every (name, count), by name. */
  entries(): [string, number][] {
    return [...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Adds every count of `other`. */
  merge(other: Tally): void {
    for (const [k, v] of other.entries()) this.add(k, v);
  }
}

/** Counters of one run. */
export class FuzzStats {
  /** Actions taken, by kind. */
  readonly actions = new Tally();
  /** Host-API errors answered, by errno name. */
  readonly errors = new Tally();
  /** Device-level answers: `CMDSTS 0x..`, `SWERR 0x..`, `CR 0x..`, `submit ...`. */
  readonly device = new Tally();
  /** Descriptors executed by the model. */
  executed = 0;

  /** Adds every counter of `other`. */
  merge(other: FuzzStats): void {
    this.actions.merge(other.actions);
    this.errors.merge(other.errors);
    this.device.merge(other.device);
    this.executed += other.executed;
  }
}

/** Hex with a fixed number of digits. */
export function hex(n: number, digits = 2): string {
  return `0x${n.toString(16).padStart(digits, '0')}`;
}

/** The summary as lines of `name count` columns, grouped. */
export function formatSummary(s: FuzzStats): string[] {
  const lines: string[] = [];
  const block = (title: string, t: Tally): void => {
    lines.push(`${title} (${t.total}):`);
    const rows = t.entries();
    const w = Math.max(0, ...rows.map(([k]) => k.length));
    for (const [k, v] of rows) lines.push(`  ${k.padEnd(w)}  ${v}`);
  };
  block('actions by kind', s.actions);
  block('host-API errors by errno', s.errors);
  block('device answers', s.device);
  lines.push(`descriptors executed: ${s.executed}`);
  return lines;
}
