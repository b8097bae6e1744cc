/**
 * The answering thread of test/vfio/blocking-call.test.ts: answers `BlockingCaller` calls with
 * `{ value }` (the call's `value` plus one), and on request the two timings a real answering thread
 * can produce:
 * - `late-notify`: answered, then, once the caller has posted its next call and waits for it, notifies
 *   before that call's answer (`Atomics.notify` counts the waiters it woke): what the caller
 *   sees when the previous answer's notify comes late (the thread preempted between its store and its
 *   notify while the caller, not waiting yet, took the answer on the store alone);
 * - `late-answer`: no answer until the next call arrives, then both, oldest first, as for a call the
 *   caller gave up on.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { answerBlockingCall } from '../../src/vfio/index.js';

interface Call {
  readonly seq: number;
  readonly op: string;
  readonly value: number;
}

const { port, word } = workerData as { port: MessagePort; word: Int32Array };

const idle = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps a millisecond (a wait on a word nobody touches). */
function nap(): void {
  Atomics.wait(idle, 0, 0, 1);
}

/** Blocks until the caller's next call is in the port. */
function nextCall(): Call {
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (m !== undefined) return m.message as Call;
    nap();
  }
}

port.on('message', (c: Call) => {
  if (c.op === 'late-notify') {
    answerBlockingCall(port, word, c.seq, { value: c.value + 1 });
    const next = nextCall();
    // The caller is in (or about to enter) its wait for `next`: the late notify lands there. A second
    // one lands only if the caller went back to waiting (rather than looking for an answer not posted
    // yet), and only then is the answer posted.
    for (let woken = 0; woken < 2; ) {
      if (Atomics.notify(word, 0) !== 0) woken++;
      else nap();
    }
    answerBlockingCall(port, word, next.seq, { value: next.value + 1 });
  } else if (c.op === 'late-answer') {
    const next = nextCall();
    answerBlockingCall(port, word, c.seq, { value: c.value + 1 });
    answerBlockingCall(port, word, next.seq, { value: next.value + 1 });
  } else {
    answerBlockingCall(port, word, c.seq, { value: c.value + 1 });
  }
});
