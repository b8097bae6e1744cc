/**
 * A table of small non-negative integer handles standing for objects (triggers, migration streams),
 * as a process's file-descriptor table: the ioctl-style front end resolves the s32 handles of
 * SET_IRQS EVENTFD data through it and hands out stream handles for `data_fd`.
 */
export class HandleTable<T = unknown> {
  private readonly entries: (T | undefined)[] = [];

  /** Stores `value` under the lowest free handle and returns that handle. */
  add(value: T): number {
    let h = this.entries.indexOf(undefined);
    if (h < 0) h = this.entries.length;
    this.entries[h] = value;
    return h;
  }

  /** The object under `handle`, or undefined. */
  get(handle: number): T | undefined {
    return Number.isInteger(handle) && handle >= 0 ? this.entries[handle] : undefined;
  }

  /** Frees `handle`; returns whether it was in use. */
  remove(handle: number): boolean {
    if (this.get(handle) === undefined) return false;
    this.entries[handle] = undefined;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
    return true;
  }

  /** Number of handles in use. */
  get size(): number {
    return this.entries.reduce<number>((n, e) => (e === undefined ? n : n + 1), 0);
  }
}
