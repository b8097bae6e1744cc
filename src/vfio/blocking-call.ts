/**
 * Blocking calls to another thread: how a synchronous device handle in one thread (a vfio-user
 * `VfioUserSyncDevice`, a cross-thread `XthreadGuestDevice`) asks the thread that owns the device.
 *
 * The caller posts a message carrying a sequence number and blocks in `Atomics.wait` on a shared
 * word; the answering thread posts its answer with the same number, then stores the number in the
 * word and notifies. The number, not a 0/1 flag, is what makes it safe:
 * - a notification can come late: the answering thread may be preempted between its store and its
 *   notify, and by then the caller may have taken that answer (the store was enough) and be waiting
 *   for its next call. That late notify wakes the wrong wait; the caller sees the word does not hold
 *   its number yet and waits on;
 * - an answer can come late: a call that timed out may be answered afterwards. Its answer carries the
 *   old number and is dropped when the next call looks for its own.
 * The answer is posted before the word is stored, so once the word holds the number the message is in
 * the caller's port (a `MessagePort` enqueues at `postMessage`).
 *
 * No module of the platform is imported here: the caller hands in its port and the function that takes
 * one message from it (`receiveMessageOnPort` of `node:worker_threads`).
 */
import { VfioError } from './errors.js';

/** The side of a message channel a blocking call posts on (a `MessagePort`). */
export interface BlockingCallPort {
  /** Posts a structured-clonable message to the other thread. */
  postMessage(message: unknown): void;
}

/** Takes the next message waiting on the caller's port without running the event loop, or undefined. */
export type BlockingCallReceive = () => { readonly message: unknown } | undefined;

/** The field a blocking call's message and its answer carry. */
export interface BlockingCallSeq {
  /** The call's sequence number (never 0: the word starts at 0). */
  readonly seq: number;
}

/** The caller's side: one per port and word; one call at a time. */
export class BlockingCaller {
  private seq = 0;

  /**
   * Calls through `port`, answers taken with `receive`, with `word`: the first element of a shared
   * `Int32Array` both threads hold. `timeoutMs` bounds each call.
   */
  constructor(
    private readonly port: BlockingCallPort,
    private readonly receive: BlockingCallReceive,
    private readonly word: Int32Array,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Posts `message` with the next sequence number and blocks until its answer is there; returns the
   * answer. Throws `VfioError` ETIMEDOUT after `timeoutMs` without an answer (`what` names the call in
   * the message), EIO if the word says answered but no answer came (a broken answering side).
   */
  call<A extends BlockingCallSeq>(message: object, what: string): A {
    let seq = (this.seq + 1) | 0;
    if (seq === 0) seq = 1;
    this.seq = seq;
    const word = this.word;
    this.port.postMessage({ ...message, seq });
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const seen = Atomics.load(word, 0);
      if (seen === seq) break;
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(word, 0, seen, left) === 'timed-out') {
        if (Atomics.load(word, 0) === seq) break;
        throw new VfioError('ETIMEDOUT', `${what}: no answer in ${this.timeoutMs} ms`);
      }
    }
    for (;;) {
      const m = this.receive();
      if (m === undefined) throw new VfioError('EIO', `${what}: answered without an answer message`);
      const a = m.message as A;
      // An answer to an earlier call that timed out: its caller is gone.
      if (a !== null && typeof a === 'object' && a.seq === seq) return a;
    }
  }
}

/** The answering side: posts `answer` for call `seq` on `port`, then stores `seq` in `word` and wakes the caller. */
export function answerBlockingCall(port: BlockingCallPort, word: Int32Array, seq: number, answer: object): void {
  port.postMessage({ ...answer, seq });
  Atomics.store(word, 0, seq);
  Atomics.notify(word, 0);
}
