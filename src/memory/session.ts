/**
 * The DMA session of a user that runs descriptors in attempts: the transaction of the attempt
 * running now and a pool of transactions to reuse (kept apart from transaction.ts so that a
 * `DmaRun` can name its session without the address-space interface importing the transactions).
 */
import type { DmaTransaction } from './transaction.js';

/**
 * The DMA session of one DSA engine (or any other user that runs descriptors in attempts): the
 * transaction of the descriptor running now, created when its first translation reaches an address
 * space with remote memory, and a pool of transactions to reuse. It is installed once in every
 * `DmaRun` the user translates with.
 */
export class DmaSession<T extends DmaTransaction = DmaTransaction> {
  /** The transaction of the running descriptor, or null (it touched no space with remote memory yet). */
  tx: T | null = null;
  /** Set by a translation that started (or waits for) a fetch: the attempt must be unwound. */
  pending = false;
  private readonly free: T[] = [];

  /** @param create makes a new transaction when the pool is empty */
  constructor(private readonly create: () => T) {}

  /** Installs a fresh transaction (a first attempt) and returns it. */
  begin(): T {
    const t = this.acquire();
    t.beginAttempt();
    this.tx = t;
    return t;
  }

  /** A fresh transaction from the pool (not installed). */
  acquire(): T {
    return this.free.pop() ?? this.create();
  }

  /** Resets `t` and keeps it for reuse. */
  recycle(t: T): void {
    t.reset();
    if (this.free.length < 16) this.free.push(t);
  }
}
