/**
 * `vidxd demo`: the default DSA model configured through the host driver (one group, a dedicated and a
 * shared mediated WQ), one `dsa-1dwq-v1` and two `dsa-1swq-v1` vdevs, each opened by its own virtual
 * machine with its own guest memory and IOAS, and the reference guest driver in each running the same
 * scripted workload concurrently: memmove, fill, CRC-32C, compare, a batch (dualcast, copy with CRC,
 * delta create/apply under fences), DIF insert/check/strip, and a forced page fault that the VMM resolves
 * by mapping the missing page. Every result is checked against a plain-JS computation (reference.ts).
 */
import { IdxdGuest, type PageFault } from '../guest/index.js';
import { MigratingVm, type MigrationReport } from './demo-migration.js';
import { configDump } from './inspect.js';
import { createVm, type HostSystem, buildHost } from './system.js';
import {
  DemoRandom, refCrc32c, refDelta, refDifInsert, refFill, sameBytes,
} from './reference.js';
import { DEDICATED_TYPE, SHARED_TYPE } from '../vidxd/index.js';
import type { GuestStats } from '../guest/index.js';

/** One verified expectation. */
export interface Check {
  /** What was checked. */
  readonly name: string;
  /** It held. */
  readonly ok: boolean;
  /** What was seen, when it did not hold (or a short note). */
  readonly detail: string;
}

/** One vdev's part of the demo. */
export interface VdevReport {
  /** The vdev's UUID. */
  readonly uuid: string;
  /** Its mdev type. */
  readonly type: string;
  /** The parent WQ backing the vdev. */
  readonly backingWq: number;
  /** What the driver found. */
  readonly mode: 'dedicated' | 'shared';
  /** WQ entries (WQCFG). */
  readonly wqSize: number;
  /** The guest PASID (−1: none). */
  readonly pasid: number;
  /** Mapped or trapped portal. */
  readonly portal: string;
  /** Interrupt or poll completion. */
  readonly completion: string;
  /** The interrupt handles of the completion vectors. */
  readonly interruptHandles: readonly number[];
  /** The operation whose page fault the VMM resolves. */
  readonly forcedFault: string;
  /** Faults the driver asked the VMM to resolve. */
  readonly pageFaults: readonly PageFault[];
  /** The driver's counters. */
  readonly stats: GuestStats;
  /** Every check, in order. */
  readonly checks: readonly Check[];
  /**
   * The vdev's config space as its guest left it after the workload, read through the VFIO config
   * region: an lspci dump (`00:0N.0` for VM N) up to its last non-zero line, which `lspci -F` decodes.
   */
  readonly configSpace: string;
}

/** The whole demo. */
export interface DemoReport {
  /** Seed of the test data. */
  readonly seed: number;
  /** Per vdev. */
  readonly vdevs: readonly VdevReport[];
  /** Checks that held. */
  readonly passed: number;
  /** Checks that did not. */
  readonly failed: number;
  /** Every check passed. */
  readonly ok: boolean;
  /** The migration scene: VM 1 moved to a second parent in the middle of its workload (null if it did not happen). */
  readonly migration: MigrationReport | null;
}

/** Guest memory of each VM. */
export const MEM_SIZE = 1 << 20;
/** The driver's allocator manages guest memory below this IOVA; the forced-fault buffers live above it. */
export const HEAP_END = 0xb0000;
/** Source of the forced-fault operation (mapped). */
const FAULT_SRC = 0xb0000;
/** The page the VMM leaves unmapped until the guest faults on it. */
export const FAULT_PAGE = 0xc2000;
/** The fill pattern. */
const PATTERN = 0x0123456789abcdefn;

/** The VM that is live-migrated to a second parent (index), and the workload step it is migrated in. */
export const MIGRATED_VM = 0;
/** The step of its workload the migration happens in (its operations are in flight). */
export const MIGRATED_DURING = 'batch';

/** Which operation meets the unmapped page, per VM. */
const FORCED = ['memmove', 'crc32c', 'difInsert'] as const;

/** The VMs: one dedicated and two shared vdevs. */
const VMS = [DEDICATED_TYPE, SHARED_TYPE, SHARED_TYPE] as const;

/** Progress callback: VM index and the step it is at. */
export type Progress = (vm: number, step: string, checks: number) => void;

/** The checks of one VM's workload, in order. */
export class Checks {
  /** Every check so far. */
  readonly list: Check[] = [];

  /** Checks that tell `onCheck` about each one. */
  constructor(private readonly onCheck: () => void) {}

  /** Records one check. */
  check(name: string, ok: boolean, detail = ''): void {
    this.list.push({ name, ok, detail: ok ? '' : detail });
    this.onCheck();
  }
}

/** What the workload needs of its VM: the guest memory's bytes (the driver's view of RAM). */
export interface WorkloadVm {
  /** The guest memory. */
  readonly memory: { readonly bytes: Uint8Array };
}

/**
 * The workload of one VM, run by its driver; every result checked. The VM's VMM leaves the page at
 * {@link FAULT_PAGE} unmapped and maps it in the driver's fault hook; `index` picks the operation that
 * meets it (memmove, crc32c, difInsert).
 */
export async function workload(vm: WorkloadVm, g: IdxdGuest, rnd: DemoRandom, index: number, faults: PageFault[], c: Checks, step: (s: string) => void): Promise<void> {
  const mem = vm.memory.bytes;
  const at = (iova: number, n: number): Uint8Array => mem.subarray(iova, iova + n);
  const hex = (n: number): string => `0x${n.toString(16)}`;

  step('memmove');
  const K64 = 0x10000;
  const a = g.heap.alloc(K64);
  const b = g.heap.alloc(K64);
  rnd.fill(at(a, K64));
  const mv = await g.memmove(b, a, K64);
  c.check('memmove 64 KiB copies exactly', mv.status === 1 && sameBytes(at(b, K64), at(a, K64)));

  step('fill');
  const K16 = 0x4000;
  const f = g.heap.alloc(K16);
  await g.fill(f, K16, PATTERN);
  c.check('fill 16 KiB repeats the 8-byte pattern', sameBytes(at(f, K16), refFill(K16, PATTERN)));

  step('crc32c');
  const crc = await g.crc32c(a, K64);
  const want = refCrc32c(at(a, K64));
  c.check('crc32c of 64 KiB matches the reference CRC-32C', crc.crc === want, `${hex(crc.crc)} ≠ ${hex(want)}`);

  step('compare');
  const same = await g.compare(a, b, K64);
  c.check('compare of equal buffers reports equal', same.equal && same.offset === -1);
  const k = rnd.below(K64);
  mem[b + k] = (mem[b + k] as number) ^ 0x5a;
  const diff = await g.compare(a, b, K64);
  c.check('compare finds the first differing byte', !diff.equal && diff.offset === k, `offset ${diff.offset}, expected ${k}`);
  mem[b + k] = (mem[b + k] as number) ^ 0x5a;
  const pat = await g.comparePattern(f, K16, PATTERN);
  c.check('comparePattern of the filled buffer reports equal', pat.equal);

  step('batch');
  const K4 = 0x1000;
  const d1 = g.heap.alloc(K4, K4);
  const d2 = g.heap.alloc(K4, K4);
  const e = g.heap.alloc(K4);
  const m = g.heap.alloc(K4);
  const fb = g.heap.alloc(K4);
  const rec = g.heap.alloc(800);
  mem.copyWithin(m, a, a + K4);
  for (let w = 0; w < 6; w++) {
    const word = rnd.below(K4 / 8);
    flip(mem, m + 8 * word + rnd.below(8), 0xff);
  }
  mem.copyWithin(fb, a, a + K4);
  const record = refDelta(at(a, K4), at(m, K4));
  const batch = await g.batch([
    { op: 'dualcast', dst1: d1, dst2: d2, src: a, size: K4 },
    { op: 'copyCrc', dst: e, src: a, size: K4 },
    { op: 'createDelta', original: a, modified: m, size: K4, record: rec, maxRecordSize: 800 },
    { op: 'applyDelta', dst: fb, record: rec, recordSize: record.length, size: K4, fence: true },
    { op: 'crc32c', src: fb, size: K4, fence: true },
  ]);
  const [dc, cc, cd, ad, fc] = batch.results;
  c.check('batch of 5 completes with every item successful', batch.status === 1 && batch.succeeded === 5, `status ${hex(batch.status)}, ${batch.succeeded} succeeded`);
  c.check('batch: dualcast writes both destinations', done(dc) && sameBytes(at(d1, K4), at(a, K4)) && sameBytes(at(d2, K4), at(a, K4)));
  c.check('batch: copyCrc copies and returns the CRC', done(cc) && 'crc' in cc && cc.crc === refCrc32c(at(a, K4)) && sameBytes(at(e, K4), at(a, K4)));
  c.check('batch: createDelta writes the reference delta record', done(cd) && 'recordSize' in cd && cd.result === 1 &&
    cd.recordSize === record.length && sameBytes(at(rec, record.length), record));
  c.check('batch: fenced applyDelta turns the original into the modified copy', done(ad) && sameBytes(at(fb, K4), at(m, K4)));
  c.check('batch: fenced crc32c sees the applied delta', done(fc) && 'crc' in fc && fc.crc === refCrc32c(at(m, K4)));

  step('DIF');
  const blocks = 8;
  const data = g.heap.alloc(blocks * 512);
  const prot = g.heap.alloc(blocks * 520);
  const back = g.heap.alloc(blocks * 512);
  rnd.fill(at(data, blocks * 512));
  const dif = { blockSize: 512 as const, refTag: 0x1000 * (index + 1), appTag: 0xabcd };
  const ins = await g.difInsert(prot, data, blocks * 512, dif);
  c.check('difInsert writes the reference T10-DIF tuples', ins.ok && sameBytes(at(prot, blocks * 520), refDifInsert(at(data, blocks * 512), 512, dif.refTag, dif.appTag)));
  const chk = await g.difCheck(prot, blocks * 520, dif);
  c.check('difCheck accepts the protected stream', chk.ok && chk.blocks === blocks, `difStatus ${hex(chk.difStatus)}`);
  const bad = 5;
  flip(mem, prot + bad * 520 + 17, 1);
  const chk2 = await g.difCheck(prot, blocks * 520, dif);
  c.check('difCheck reports the corrupted block\'s guard', !chk2.ok && chk2.failedBlock === bad && (chk2.difStatus & 1) === 1,
    `block ${chk2.failedBlock}, difStatus ${hex(chk2.difStatus)}`);
  flip(mem, prot + bad * 520 + 17, 1);
  const strip = await g.difStrip(back, prot, blocks * 520, dif);
  c.check('difStrip returns the original data', strip.ok && sameBytes(at(back, blocks * 512), at(data, blocks * 512)));

  step('page fault');
  const forced = FORCED[index % FORCED.length] as (typeof FORCED)[number];
  const before = faults.length;
  if (forced === 'memmove') {
    const dst = FAULT_PAGE - 0x1f00;
    rnd.fill(at(FAULT_SRC, K16));
    const r = await g.memmove(dst, FAULT_SRC, K16);
    c.check('memmove over an unmapped page is resumed after the VMM maps it', r.faults === 1 && sameBytes(at(dst, K16), at(FAULT_SRC, K16)));
  } else if (forced === 'crc32c') {
    const src = FAULT_PAGE - 0x1f00;
    rnd.fill(at(src, K16));
    const r = await g.crc32c(src, K16);
    c.check('crc32c over an unmapped page chains its seed across the resumption', r.faults === 1 && r.crc === refCrc32c(at(src, K16)));
  } else {
    const n = 16;
    rnd.fill(at(FAULT_SRC, n * 512));
    const dst = FAULT_PAGE - 0x1000;
    const r = await g.difInsert(dst, FAULT_SRC, n * 512, dif);
    c.check('difInsert over an unmapped page resumes at the first unfinished block with its tags', r.faults === 1 &&
      sameBytes(at(dst, n * 520), refDifInsert(at(FAULT_SRC, n * 512), 512, dif.refTag, dif.appTag)));
  }
  const seen = faults.slice(before);
  c.check('the fault hook saw exactly one fault, on the unmapped page', seen.length === 1 && Math.floor((seen[0]?.address ?? 0) / 0x1000) === FAULT_PAGE / 0x1000,
    `${seen.length} fault(s)`);
  step('done');
}

/** What the demo measured with the clock (kept out of the report, which the seed determines). */
export interface DemoTimings {
  /** Downtime of the migration scene (STOP on the source → RUNNING on the destination), ms; null when it did not happen. */
  migrationDowntimeMs: number | null;
}

/** Runs the demo with data from `seed`; `progress` is told about each step; `timings` gets what was measured with the clock. */
export async function runDemo(seed: number, progress: Progress = () => undefined, timings?: DemoTimings): Promise<DemoReport> {
  const sys: HostSystem = buildHost();
  // The VMM's cpu_relax for every guest: one step of the deterministic device model.
  const poll = (): boolean => sys.dev.step();
  let total = 0;
  let migrating: MigratingVm | null = null;
  const runs = VMS.map(async (type, i) => {
    const uuid = `3b0ad1a5-0000-4000-8000-${(i + 1).toString(16).padStart(12, '0')}`;
    const vm = createVm(sys, type, uuid, MEM_SIZE, [FAULT_PAGE]);
    const backingWq = sys.parent.vdev(uuid)?.wq.id ?? -1;
    // The migration scene: this VM's VMM forwards its device calls and migrates it from its cpu_relax.
    const mig = i === MIGRATED_VM ? new MigratingVm(i + 1, sys, uuid, vm.device, vm.ioas, vm.memory, vm.unmapped) : null;
    if (mig !== null) migrating = mig;
    const faults: PageFault[] = [];
    const checks = new Checks(() => { total++; });
    const g = await IdxdGuest.open({
      device: mig?.device ?? vm.device,
      memory: vm.memory,
      heap: { iova: 0, size: HEAP_END },
      poll: mig === null ? poll : () => mig.poll(),
      pasid: 0x100 + i,
      onPageFault: (fault) => {
        faults.push(fault);
        return mig?.mapPage(fault.address) ?? vm.mapPage(fault.address);
      },
    });
    const handlesBefore = g.interruptHandles.slice(1);
    try {
      await workload(vm, g, new DemoRandom(seed * 977 + i), i, faults, checks, (s) => {
        if (s === MIGRATED_DURING) mig?.migrateSoon(s);
        progress(i, s, total);
      });
    } catch (e) {
      checks.check('the workload ran to its end', false, e instanceof Error ? e.message : String(e));
    }
    if (mig !== null) migrationChecks(mig, g, handlesBefore, checks);
    const report: VdevReport = {
      uuid, type, backingWq, mode: g.mode, wqSize: g.wq.size, pasid: g.pasid, portal: g.portalMode, completion: g.completion,
      interruptHandles: g.interruptHandles.slice(1), forcedFault: FORCED[i % FORCED.length] as string, pageFaults: faults, stats: g.stats,
      checks: checks.list,
      configSpace: configDump(mig?.current ?? vm.device, `00:0${i + 1}.0`, `System peripheral: vidxd ${type} (VM ${i + 1}, after the workload)`, true),
    };
    await g.close();
    return report;
  });
  const vdevs = await Promise.all(runs);
  const all = vdevs.flatMap((v) => v.checks);
  const failed = all.filter((x) => !x.ok).length;
  const mig = migrating as MigratingVm | null;
  const migration = mig?.report ?? null;
  if (timings !== undefined) timings.migrationDowntimeMs = mig?.downtimeMs ?? null;
  return { seed, vdevs, passed: all.length - failed, failed, ok: failed === 0 && all.length > 0, migration };
}

/** XORs `mask` into guest byte `i` (a deliberate corruption); an index outside guest memory is a bug in the demo. */
function flip(mem: Uint8Array, i: number, mask: number): void {
  const v = mem[i];
  if (v === undefined) throw new RangeError(`demo: guest byte ${i} is outside guest memory`);
  mem[i] = v ^ mask;
}

/** Whether a batch item's result is present and not an error (narrows it to the result). */
function done<T>(r: T | Error | undefined): r is T {
  return r !== undefined && !(r instanceof Error);
}

/**
 * The migration scene's checks, in the migrated VM's list: it ran on to a vdev of the second parent
 * (another parent WQ, host PASID and interrupt handle), the copy of guest memory the VMM made with the
 * device's dirty log equalled the guest's memory at switchover, and the guest re-requested its
 * interrupt handles (it holds the destination's).
 */
function migrationChecks(mig: MigratingVm, g: IdxdGuest, handlesBefore: readonly number[], c: Checks): void {
  const r = mig.report;
  c.check('migration: the VM was live-migrated in the middle of its workload', r !== null, 'it was not migrated');
  if (r === null) return;
  c.check('migration: it runs on a vdev of a second parent (another WQ, host PASID and interrupt handle)',
    r.to.parent === 'second' && r.to.backingWq !== r.from.backingWq && r.to.hostPasid !== r.from.hostPasid && r.to.handles[0] !== r.from.handles[0],
    `WQ ${r.from.backingWq} → ${r.to.backingWq}, PASID ${r.from.hostPasid} → ${r.to.hostPasid}, handles ${r.from.handles.join(',')} → ${r.to.handles.join(',')}`);
  c.check('migration: guest memory copied with the device\'s dirty log equals the source\'s at switchover', r.memoryEqual);
  const now = g.interruptHandles.slice(1);
  const held = mig.vdev.heldHandles().slice(1);
  c.check('migration: the guest re-requested its interrupt handles (it holds the destination\'s)',
    now.join(',') === held.join(',') && now.join(',') !== handlesBefore.join(','), `guest ${now.join(',')}, vdev ${held.join(',')}, before ${handlesBefore.join(',')}`);
}
