/**
 * BATCH (dsa-operations.md §7.2, §8): the items encoded into a descriptor list in guest memory, each
 * with its own completion record, submitted as one descriptor. Afterwards the items are settled in
 * order: an item that page-faulted is resumed as a descriptor of its own; an item the device did not
 * run (past a list fault, or abandoned by a fence only because of such a fault) is run now — unless an
 * earlier item really failed before its fence, when it stays abandoned. The results are those of a
 * fault-free run.
 */
import { Cr, CR_SIZE } from '../dsa/spec/completion-record.js';
import { Desc, DESC_SIZE, writeDescAddr } from '../dsa/spec/descriptor.js';
import { Flag } from '../dsa/spec/flags.js';
import { Status, STATUS_CODE_MASK } from '../dsa/spec/status.js';
import { IdxdGuestError, IdxdStatusError } from './errors.js';
import type { BatchResult, OpResult, OpSpec } from './ops.js';
import { encode, type Request } from './request.js';
import { isOutcome, resultOf } from './results.js';
import { crBytes, type CrView } from './resume.js';
import type { BatchRun, OpRunner } from './runner.js';
import type { GuestStatsCounter } from './stats.js';

/** What a batch needs from the driver. */
export interface BatchContext {
  /** Runs the batch descriptor and the leftovers. */
  readonly runner: OpRunner;
  /** The counters. */
  readonly counters: GuestStatsCounter;
  /** Most items the WQ takes in one batch. */
  readonly maxBatchSize: number;
  /** IOVA → offset in guest memory of `[iova, iova + len)` (EINVAL outside). */
  offsetOf(iova: number, len: number): number;
}

/** Runs `items` as one BATCH descriptor (one item runs alone: DSA 1.0 batches hold two or more). */
export async function runBatch(c: BatchContext, items: readonly OpSpec[]): Promise<BatchResult> {
  const n = items.length;
  if (n < 1 || n > c.maxBatchSize) throw new IdxdGuestError('argument', `a batch holds 1..${c.maxBatchSize} items, not ${n}`);
  const { runner } = c;
  const reqs: Request[] = [];
  try {
    for (const item of items) reqs.push(encode(runner.take(), item));
  } catch (e) {
    for (const r of reqs) runner.give(r);
    throw e;
  }
  if (n === 1) {
    const res = await runner.execute(reqs[0] as Request);
    return { status: Status.SUCCESS, submissions: res.submissions, faults: res.faults, results: [res], succeeded: 1 };
  }
  const heap = runner.delta.heap;
  // One block: the items' completion records first (32-byte aligned), then the descriptor list (64-byte aligned).
  const listAt = Math.ceil((n * CR_SIZE) / DESC_SIZE) * DESC_SIZE;
  const block = heap.alloc(listAt + n * DESC_SIZE, DESC_SIZE);
  try {
    const base = c.offsetOf(block, listAt + n * DESC_SIZE);
    const mem = runner.delta.mem;
    for (let i = 0; i < n; i++) {
      const r = reqs[i] as Request;
      const st = c.counters.op(r.op);
      st.count++;
      st.bytes += r.size;
      st.submissions++;
      // Items need no PASID (they run with the batch's) and request no interrupt (the batch does).
      const flags = Flag.CRAV | Flag.RCR | (r.fence ? Flag.FENCE : 0) | ((r.desc[Desc.FLAGS + 2] as number) << 16);
      r.view.setUint32(0, 0, true);
      r.view.setUint32(Desc.FLAGS, ((flags & 0xffffff) | (r.opcode << 24)) >>> 0, true);
      writeDescAddr(r.view, 0, Desc.CR_ADDR, block + i * CR_SIZE);
      mem.set(r.desc, base + listAt + i * DESC_SIZE);
    }
    mem.fill(0, base, base + n * CR_SIZE);
    const b = runner.take().reset('batch');
    b.setAddr(Desc.SRC, block + listAt);
    b.xfer = b.size = n;
    const run = await runner.runBatch(b);
    return await settleItems(c, reqs, (i) => ({ mem: runner.delta.view, at: base + i * CR_SIZE }), run);
  } finally {
    heap.free(block);
    for (const r of reqs) runner.give(r);
  }
}

/** Turns the items' records into results, in order, running what the batch left undone. */
async function settleItems(c: BatchContext, reqs: readonly Request[], crOf: (i: number) => CrView, run: BatchRun): Promise<BatchResult> {
  const { runner } = c;
  const mem = runner.delta.mem;
  const results: (OpResult | Error)[] = [];
  let failed = false;
  let abandoning = false;
  let succeeded = 0;
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i] as Request;
    const cr = crOf(i);
    const status = mem[cr.at + Cr.STATUS] as number;
    const code = status & STATUS_CODE_MASK;
    let out: OpResult | Error;
    if (status === 0) {
      // Not run. A fence after a real failure abandons it and everything after it (§8.1).
      if (abandoning || (r.fence && failed)) {
        abandoning = true;
        out = new IdxdGuestError('status', `batch item ${i} (${r.op}) abandoned: an earlier item failed before its fence`);
      } else {
        out = await alone(runner, r);
      }
    } else {
      r.submissions = 1;
      c.counters.status(r.op, status);
      if (isOutcome(r, code)) out = runner.finish(r, cr, code);
      else if (code === Status.PAGE_FAULT_NOBOF || code === Status.PAGE_FAULT_IR) out = await resumeItem(runner, r, cr, status);
      else out = new IdxdStatusError('status', r.op, status, crBytes(cr), -1);
    }
    // Fence semantics count any status but success as a failure (a DIF error or a mismatch included).
    if (out instanceof Error || out.status !== Status.SUCCESS) failed = true;
    if (!(out instanceof Error)) succeeded++;
    results.push(out);
  }
  return { status: failed ? Status.BATCH_FAIL : Status.SUCCESS, submissions: run.submissions, faults: run.faults, results, succeeded };
}

/** Resumes an item that page-faulted, as a descriptor of its own. */
async function resumeItem(runner: OpRunner, r: Request, cr: CrView, status: number): Promise<OpResult | Error> {
  try {
    if ((await runner.resumeAfter(r, cr, status)) === 0) return resultOf(r, cr, Status.SUCCESS);
  } catch (e) {
    if (e instanceof IdxdGuestError) return e;
    throw e;
  }
  return alone(runner, r);
}

/** Runs the rest of item `r` alone (already counted), returning its result or its error. */
async function alone(runner: OpRunner, r: Request): Promise<OpResult | Error> {
  try {
    return await runner.execute(runner.take().takeOver(r), true);
  } catch (e) {
    if (e instanceof IdxdGuestError) return e;
    throw e;
  }
}
