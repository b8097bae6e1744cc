/**
 * A fake `RemoteMemoryPort` over a byte array that stands for the peer's memory (a vfio-user client's
 * guest RAM): requests are recorded and wait until the test answers them, so every interleaving is
 * chosen by the test. Writes are applied to the memory when answered, in order (as the peer would).
 */
import type { RemoteMemoryPort } from '../../src/memory/index.js';

/** A fetch the port has not answered. */
export interface PendingRead {
  readonly iova: number;
  readonly length: number;
  readonly done: (bytes: Uint8Array | null) => void;
}

/** A write-back the port has not acknowledged (bytes copied when it was sent). */
export interface PendingWrite {
  readonly iova: number;
  readonly bytes: Uint8Array;
  readonly done: (ok: boolean) => void;
}

/** One call as the port saw it. */
export interface PortCall {
  readonly kind: 'read' | 'write';
  readonly iova: number;
  readonly length: number;
}

/** The fake port: `memory[iova - base]` is the peer's byte at `iova`. */
export class FakePort implements RemoteMemoryPort {
  /** Fetches waiting for an answer, oldest first. */
  readonly reads: PendingRead[] = [];
  /** Write-backs waiting for an acknowledgement, oldest first. */
  readonly writes: PendingWrite[] = [];
  /** Every call, in order. */
  readonly calls: PortCall[] = [];
  /** Writes as the peer applied them, in order (iova, bytes). */
  readonly applied: { iova: number; bytes: Uint8Array }[] = [];

  constructor(
    readonly memory: Uint8Array,
    readonly base = 0,
  ) {}

  read(iova: number, length: number, done: (bytes: Uint8Array | null) => void): void {
    this.calls.push({ kind: 'read', iova, length });
    this.reads.push({ iova, length, done });
  }

  write(iova: number, bytes: Uint8Array, done: (ok: boolean) => void): void {
    this.calls.push({ kind: 'write', iova, length: bytes.length });
    this.writes.push({ iova, bytes: bytes.slice(), done });
  }

  /** Answers the oldest `n` fetches (default all pending now) with the memory's bytes. */
  answerReads(n = this.reads.length): void {
    for (let i = 0; i < n; i++) {
      const r = this.reads.shift();
      if (r === undefined) return;
      const at = r.iova - this.base;
      r.done(this.memory.slice(at, at + r.length));
    }
  }

  /** Refuses the oldest `n` fetches (default all pending now): `null`, as a peer that went away. */
  refuseReads(n = this.reads.length): void {
    for (let i = 0; i < n; i++) this.reads.shift()?.done(null);
  }

  /** Applies and acknowledges the oldest `n` write-backs (default all pending now). */
  answerWrites(n = this.writes.length, ok = true): void {
    for (let i = 0; i < n; i++) {
      const w = this.writes.shift();
      if (w === undefined) return;
      if (ok) {
        this.memory.set(w.bytes, w.iova - this.base);
        this.applied.push({ iova: w.iova, bytes: w.bytes });
      }
      w.done(ok);
    }
  }

  /** Answers everything until nothing is pending (answers may cause new calls). Returns the rounds taken. */
  settle(max = 1000): number {
    let rounds = 0;
    while ((this.reads.length > 0 || this.writes.length > 0) && rounds < max) {
      this.answerReads();
      this.answerWrites();
      rounds++;
    }
    return rounds;
  }
}
