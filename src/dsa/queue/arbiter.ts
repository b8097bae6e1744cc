/**
 * Priority arbitration among the WQs of a group (vidxd-device.md §2.3): a counter per WQ starts at
 * its priority; the arbiter goes round-robin over the WQs that have work and a non-zero counter,
 * taking one descriptor and decrementing the counter; when no WQ with work has credit left, every
 * counter is reloaded. Two busy WQs with priorities 6 and 2 are therefore served 6:2.
 */
import type { WorkQueue } from './work-queue.js';

/** The arbiter of one group. */
export class GroupArbiter {
  private members: WorkQueue[] = [];
  private credit = new Int32Array(0);
  private next = 0;
  /**
   * The group's WQ when it has exactly one (null otherwise): a lone WQ is chosen whenever it has
   * work, whatever its counter says — a counter only orders WQs against each other, and a WQ with
   * work is enabled, so its priority is at least 1 (Enable WQ refuses 0) and a reload always gives
   * it credit — so its choice skips the counters altogether.
   */
  private only: WorkQueue | null = null;

  /** Sets the group's WQs (ascending index) and reloads every counter. */
  setMembers(wqs: readonly WorkQueue[]): void {
    this.members = [...wqs];
    this.credit = new Int32Array(wqs.length);
    this.next = 0;
    this.only = wqs.length === 1 ? (wqs[0] as WorkQueue) : null;
  }

  /** Whether some WQ of the group has queued work. */
  hasWork(): boolean {
    for (let i = 0; i < this.members.length; i++) if ((this.members[i] as WorkQueue).count > 0) return true;
    return false;
  }

  /** Chooses the WQ the next descriptor is taken from (null: no work), charging it one credit (a lone WQ: none, see {@link only}). */
  choose(): WorkQueue | null {
    const only = this.only;
    if (only !== null) return only.count > 0 ? only : null;
    // The round-robin's first candidate, when it has work and credit, is the answer of the full
    // search below; taken first, it spares a busy WQ the loops on almost every descriptor.
    const i = this.next;
    const wq = this.members[i];
    if (wq !== undefined && wq.count > 0) {
      const c = this.credit[i] as number;
      if (c > 0) {
        this.credit[i] = c - 1;
        this.next = i + 1 === this.members.length ? 0 : i + 1;
        return wq;
      }
    }
    return this.search();
  }

  /** The full round-robin search of {@link choose}, reloading the counters when no WQ with work has credit. */
  private search(): WorkQueue | null {
    const n = this.members.length;
    for (let pass = 0; pass < 2; pass++) {
      let work = false;
      for (let k = 0; k < n; k++) {
        const i = this.next + k < n ? this.next + k : this.next + k - n;
        const wq = this.members[i] as WorkQueue;
        if (wq.count === 0) continue;
        work = true;
        if ((this.credit[i] as number) <= 0) continue;
        this.credit[i] = (this.credit[i] as number) - 1;
        this.next = i + 1 === n ? 0 : i + 1;
        return wq;
      }
      if (!work) return null;
      for (let i = 0; i < n; i++) this.credit[i] = (this.members[i] as WorkQueue).priority;
    }
    return null;
  }
}
