/**
 * Blocking calls to another thread (`BlockingCaller`, `answerBlockingCall`), under the two timings that
 * broke the 0/1 wake-up word the synchronous handles had: a notify that arrives after its answer was
 * taken (it woke the caller's next wait, which found no answer: EIO), and an answer that arrives after
 * its call timed out (the next call took it for its own).
 */
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BlockingCaller, type BlockingCallSeq, VfioError } from '../../src/vfio/index.js';
import { ensureBuilt, ROOT } from '../vfio-user/build.js';

type Answer = BlockingCallSeq & { readonly value: number };

let workerFile = '';
let worker: Worker | null = null;

beforeAll(() => {
  ensureBuilt();
  workerFile = join(ROOT, 'build', 'test', 'util', 'blocking-call-worker.js');
});

afterEach(async () => {
  await worker?.terminate();
  worker = null;
});

/** A caller with `timeoutMs` and the answering worker behind it. */
function start(timeoutMs = 30_000): BlockingCaller {
  const { port1, port2 } = new MessageChannel();
  const word = new Int32Array(new SharedArrayBuffer(4));
  worker = new Worker(workerFile, { workerData: { port: port2, word }, transferList: [port2] });
  return new BlockingCaller(port1, () => receiveMessageOnPort(port1), word, timeoutMs);
}

describe('BlockingCaller', () => {
  it('returns each call its own answer, call after call', () => {
    const c = start();
    for (let i = 0; i < 50; i++) expect(c.call<Answer>({ op: 'echo', value: i }, 'echo').value).toBe(i + 1);
  });

  it('waits on when a late notify of the previous call wakes it before its answer is there', () => {
    const c = start();
    expect(c.call<Answer>({ op: 'late-notify', value: 10 }, 'first').value).toBe(11);
    // The worker notifies only once this call is waiting: the wake-up finds the word still at the first
    // call's number, and the caller waits for its own.
    expect(c.call<Answer>({ op: 'echo', value: 20 }, 'second').value).toBe(21);
    expect(c.call<Answer>({ op: 'echo', value: 30 }, 'third').value).toBe(31);
  });

  it('drops the answer of a call that timed out instead of taking it for the next call', () => {
    const c = start(150);
    let thrown: unknown = null;
    try {
      c.call<Answer>({ op: 'late-answer', value: 1 }, 'slow call');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(VfioError);
    expect((thrown as VfioError).code).toBe('ETIMEDOUT');
    expect((thrown as VfioError).message).toContain('slow call: no answer in 150 ms');
    // The worker now answers the slow call, then this one: this one gets its own answer.
    expect(c.call<Answer>({ op: 'echo', value: 100 }, 'next').value).toBe(101);
  });
});
