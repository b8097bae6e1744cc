/**
 * The migration stream fuzzer (vidxd-device.md §10.3): seeded streams, valid ones taken from source
 * vdevs of both types in several states and then mutated — bit flips (with and without the CRC
 * sealed again), truncations, trailing bytes, record splices (dropped, repeated, reordered), field
 * sweeps over every field of a decoded record (boundary and random values, re-encoded), and streams of
 * the other type — each loaded into a destination vdev of a second parent. Invariants, checked for
 * every stream:
 *
 * - the load either succeeds or is refused with a `VfioError` EINVAL, never any other exception;
 * - a refusal leaves the migration state ERROR and the vdev, after a VFIO reset, equal to a fresh vdev
 *   (config space and capability state, every BAR0 register, handles, queue, presented facts);
 * - an accepted stream runs (RUNNING, the queue replayed, the parent stepped) without an exception; a
 *   VFIO reset keeps the facts it presents (the guest's view must not change under it), so the handle
 *   is closed and opened again, which must give a fresh vdev; an unmutated stream gives exactly the
 *   source's state.
 */
import { DsaDevice } from '../../src/dsa/index.js';
import { type DeviceConfig, IdxdHost } from '../../src/host/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import {
  VFIO_DEVICE_STATE_ERROR, VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_DEVICE_STATE_PRE_COPY, VfioError, type VfioDevice, type VfioMigrationStream,
} from '../../src/vfio/index.js';
import { DEDICATED_TYPE, SHARED_TYPE, type Vdev, VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import {
  decodeStream, encodeRecord, MigRecordKind, resealRecords, type VdevImage,
} from '../../src/vidxd/migration-format.js';
import { Prng } from '../util/prng.js';
import { Tally } from './stats.js';
import { flip } from '../util/bytes.js';

/** What a migration fuzz run reports. */
export interface MigrationFuzzResult {
  /** Streams loaded. */
  readonly streams: number;
  /** Streams by mutation and outcome (`<mutation> accepted` / `<mutation> refused`). */
  readonly outcomes: Tally;
  /** The first broken invariant, or null. */
  readonly violation: { readonly stream: number; readonly invariant: string; readonly message: string; readonly mutation: string } | null;
}

const CONFIG: DeviceConfig = {
  groups: [{ id: 0, engines: [0, 1] }, { id: 1, engines: [2, 3] }],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true },
    { id: 2, group: 1, mode: 'shared', size: 32, threshold: 24, mediated: true },
  ],
};

const SECOND: DeviceConfig = {
  groups: [{ id: 0, engines: [0] }, { id: 1, engines: [1, 2, 3] }],
  wqs: [
    { id: 1, group: 1, mode: 'dedicated', size: 32, mediated: true },
    { id: 4, group: 1, mode: 'shared', size: 64, threshold: 24, mediated: true },
  ],
};

interface Rig {
  readonly dev: DsaDevice;
  readonly host: IdxdHost;
  readonly parent: VidxdParent;
  readonly bus: MdevBus<VdevPortalMapping>;
}

function rig(config: DeviceConfig, reserve: number): Rig {
  const dev = new DsaDevice();
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(config);
  for (let i = 0; i < reserve; i++) {
    host.allocatePasid(null);
    host.allocInterruptHandle(() => {}, null);
  }
  const parent = new VidxdParent(host, { vectors: 3 });
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  return { dev, host, parent, bus };
}

let uuids = 0;

function open(r: Rig, type: string): { uuid: string; vdev: Vdev; dev: VfioDevice<VdevPortalMapping> } {
  const uuid = `f022f022-0000-4000-8000-${(++uuids).toString(16).padStart(12, '0')}`;
  r.bus.create(`${r.parent.name}-${type}`, uuid);
  return { uuid, vdev: r.parent.vdev(uuid) as Vdev, dev: r.bus.open(uuid) };
}

const le = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v >>> 0]).buffer);

function w32(d: VfioDevice<VdevPortalMapping>, region: number, off: number, v: number): void {
  d.writeRegion(region, off, le(v));
}

function cmd(d: VfioDevice<VdevPortalMapping>, code: number, operand = 0): number {
  w32(d, 0, 0xa0, (code << 20) | operand);
  const b = new Uint8Array(4);
  d.readRegion(0, 0xa8, b);
  return new DataView(b.buffer).getUint32(0, true);
}

function readAll(s: VfioMigrationStream): Uint8Array {
  const parts: Uint8Array[] = [];
  for (;;) {
    const b = new Uint8Array(4096);
    const n = s.read(b);
    if (n === 0) break;
    parts.push(b.subarray(0, n));
  }
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Valid streams of `type` from source vdevs in several states (never enabled, enabled with handles, stopped with a queue, pre-copied). */
function validStreams(type: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const shared = type === SHARED_TYPE;
  for (let k = 0; k < 4; k++) {
    const r = rig(CONFIG, k);
    const { dev } = open(r, type);
    if (k >= 1) {
      w32(dev, 7, 0x04, 0x0006);
      w32(dev, 7, 0x124, 0x5 << 16);
      w32(dev, 7, 0x104, 0x8000 << 16);
      w32(dev, 7, 0x114, 0x1 << 16);
      w32(dev, 7, 0x40, 0x8000 << 16);
      w32(dev, 0, 0x88, 3);
      w32(dev, 0, 0x508, ((0x77 << 8) | (shared ? 1 << 28 : 0)) >>> 0);
      w32(dev, 0, 0x300 + 8, 0x77008);
      w32(dev, 0, 0x600 + 16, 0xfee00000);
      cmd(dev, 1);
      cmd(dev, 6, 0);
      cmd(dev, 13, 1);
      if (k >= 2) cmd(dev, 13, 2);
    }
    let pre: Uint8Array | null = null;
    if (k === 3) {
      const s = dev.setMigrationState(VFIO_DEVICE_STATE_PRE_COPY) as VfioMigrationStream;
      const b = new Uint8Array(s.precopyInfo().initialBytes);
      s.read(b);
      pre = b;
      dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    }
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    if (k >= 2) {
      // Trapped submissions while stopped (a NOOP with a record and an interrupt), and a half-assembled slot.
      for (let i = 0; i < 3; i++) {
        const d = new Uint8Array(64);
        const v = new DataView(d.buffer);
        v.setUint32(0, shared ? 0x77 : 0, true);
        v.setUint32(4, 0x1c, true);
        v.setUint32(24, 0x1000 + 32 * i, true);
        v.setUint16(36, 1, true);
        dev.writeRegion(2, shared ? 0x1000 : 0, d);
      }
      dev.writeRegion(2, 0x40, new Uint8Array(8).fill(0x5a));
    }
    const s = dev.setMigrationState(VFIO_DEVICE_STATE_STOP_COPY) as VfioMigrationStream;
    const final = readAll(s);
    out.push(final);
    if (pre !== null) out.push(concat([pre, final]));
  }
  return out;
}

/** Everything of a vdev a refusal must leave as a fresh vdev has it: config space and capability state, BAR0, and the rest. */
interface VdevState {
  readonly pci: Uint8Array;
  readonly regs: Uint8Array;
  readonly rest: string;
}

function stateOf(vdev: Vdev): VdevState {
  const v = vdev.regs.value;
  return {
    pci: vdev.pci.snapshot(),
    regs: new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice(),
    rest: `${JSON.stringify(vdev.heldHandles())}|${vdev.queued}|${vdev.state}|${vdev.wqEnabled}|${vdev.migrationStopped}|${vdev.facts === vdev.ownFacts}`,
  };
}

function sameState(a: VdevState, b: VdevState): boolean {
  return Buffer.compare(a.pci, b.pci) === 0 && Buffer.compare(a.regs, b.regs) === 0 && a.rest === b.rest;
}

/** The mutations; each returns the stream to load and its name. */
type Mutation = (r: Prng, base: Uint8Array, other: Uint8Array) => Uint8Array;

const FIELD_VALUES = (r: Prng, width: number): number => {
  const max = width >= 32 ? 0xffffffff : 2 ** width - 1;
  return r.pick([0, 1, max, max - 1, Math.floor(max / 2) + 1, r.u32() % (max + 1), 2 ** width]) >>> 0;
};

/** Sets one field of a decoded record to a sweep value. */
function sweep(r: Prng, img: VdevImage): VdevImage {
  const f = img.facts;
  const d = img.device;
  const k = r.below(24);
  const v = (w: number): number => FIELD_VALUES(r, w);
  switch (k) {
    case 0: return { ...img, facts: { ...f, vectors: v(8) } };
    case 1: return { ...img, facts: { ...f, deviceId: v(16) & 0xffff } };
    case 2: return { ...img, facts: { ...f, wqSize: v(32) } };
    case 3: return { ...img, facts: { ...f, wqThreshold: v(32) } };
    case 4: return { ...img, facts: { ...f, wqPriority: v(32) } };
    case 5: return { ...img, facts: { ...f, wqMaxTransferShift: v(32) } };
    case 6: return { ...img, facts: { ...f, wqMaxBatchShift: v(32) } };
    case 7: return { ...img, facts: { ...f, engines: v(32) } };
    case 8: return { ...img, facts: { ...f, gencap: [v(32), f.gencap[1]] } };
    case 9: return { ...img, facts: { ...f, opcap: f.opcap.map((x, i) => (i === r.below(8) ? v(32) : x)) } };
    case 10: return { ...img, facts: { ...f, version: v(32), groupFlags: [v(32), f.groupFlags[1]] } };
    case 11: return { ...img, device: { ...d, state: v(8) & 0xff } };
    case 12: return { ...img, device: { ...d, wqOn: !d.wqOn } };
    case 13: return { ...img, device: { ...d, portalsOn: !d.portalsOn } };
    case 14: return { ...img, device: { ...d, latchedPasid: v(32), latchedPasidEnabled: r.chance(0.5) } };
    case 15: return { ...img, device: { ...d, commandActive: r.chance(0.5), commandIntReq: r.chance(0.5), waitKind: v(8) & 0xff } };
    case 16: return { ...img, device: { ...d, vector0Pending: !d.vector0Pending } };
    case 17: return { ...img, handles: img.handles.map((h) => (r.chance(0.5) ? (r.chance(0.2) ? null : v(32) & 0xffff) : h)) };
    case 18: return { ...img, handles: Array.from({ length: r.below(5) }, () => (r.chance(0.3) ? null : r.below(8))) };
    case 19: {
      const regs = img.regs.slice();
      const at = r.chance(0.5) ? r.pick([0x10, 0x20, 0x40, 0x80, 0x88, 0x90, 0x98, 0xa0, 0xa8, 0xc0, 0x300, 0x400, 0x500, 0x508, 0x518, 0x600, 0x700]) / 4 : r.below(regs.length);
      regs[at] = ((regs[at] as number) ^ (1 << r.below(32))) >>> 0;
      return { ...img, regs };
    }
    case 20: {
      const config = img.config.slice();
      const at = r.chance(0.5) ? r.pick([0, 2, 4, 6, 8, 0x10, 0x18, 0x34, 0x40, 0x42, 0x44, 0x50, 0x58, 0x100, 0x104, 0x110, 0x120, 0x124, 0x126]) : r.below(config.length);
      config[at] = (config[at] as number) ^ (1 << r.below(8));
      return { ...img, config };
    }
    case 21: {
      const capState = img.capState.slice();
      const at = r.below(capState.length);
      capState[at] = (capState[at] as number) ^ (1 << r.below(8));
      return { ...img, capState };
    }
    case 22: {
      const n = r.pick([0, 1, 2, 16, 17, 32, 33, 64, 65]);
      return { ...img, queue: Array.from({ length: n }, () => ({ page: r.below(3), bytes: r.bytes(64) })) };
    }
    default: {
      const slots = Array.from({ length: r.below(4) }, () => ({ slot: r.below(130), mask: r.below(256), bytes: r.bytes(64) }));
      return { ...img, slots: slots.sort((a, b) => a.slot - b.slot) };
    }
  }
}

const MUTATIONS: readonly [string, number, Mutation][] = [
  ['valid', 3, (_r, b) => b],
  ['bit flip', 10, (r, b) => {
    const out = b.slice();
    for (let i = r.range(1, 3); i > 0; i--) flip(out, r.below(out.length), 1 << r.below(8));
    return out;
  }],
  ['bit flip, CRC sealed', 22, (r, b) => {
    const out = b.slice();
    for (let i = r.range(1, 3); i > 0; i--) flip(out, r.below(out.length), 1 << r.below(8));
    resealRecords(out);
    return out;
  }],
  ['truncation', 8, (r, b) => b.slice(0, r.below(b.length))],
  ['trailing bytes', 4, (r, b) => concat([b, r.bytes(r.range(1, 40))])],
  ['record splice', 6, (r, b, o) => {
    const recs = records(b);
    const k = r.below(4);
    if (k === 0) return concat([...recs, ...recs]);
    if (k === 1) return concat([...recs].reverse());
    if (k === 2) return concat([(records(o)[0] as Uint8Array), ...recs]);
    return concat(recs.slice(0, -1));
  }],
  ['field sweep', 30, (r, b) => {
    const img = decodeStream(b);
    return encodeRecord(sweep(r, img));
  }],
  ['other type', 4, (_r, _b, o) => o],
  ['random bytes', 3, (r) => r.bytes(r.below(600))],
];

const TOTAL_WEIGHT = MUTATIONS.reduce((n, m) => n + m[1], 0);

function records(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  while (at + 16 <= b.length) {
    const len = v.getUint32(at + 12, true);
    if (len < 20 || at + len > b.length) break;
    out.push(b.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** Runs `streams` streams with `seed`. */
export function runMigrationFuzz(o: { readonly seed: number; readonly streams: number; readonly onProgress?: (n: number) => void }): MigrationFuzzResult {
  const r = new Prng(o.seed);
  const outcomes = new Tally();
  const valid = { [DEDICATED_TYPE]: validStreams(DEDICATED_TYPE), [SHARED_TYPE]: validStreams(SHARED_TYPE) };
  const dst = rig(SECOND, 5);
  const targets = [DEDICATED_TYPE, SHARED_TYPE].map((type) => {
    const t = open(dst, type);
    t.dev.reset();
    return { type, ...t, fresh: stateOf(t.vdev) };
  });
  for (let n = 0; n < o.streams; n++) {
    if (o.onProgress !== undefined && (n & 1023) === 0) o.onProgress(n);
    const t = targets[r.below(2)] as (typeof targets)[number];
    const own = valid[t.type as keyof typeof valid];
    const other = valid[(t.type === DEDICATED_TYPE ? SHARED_TYPE : DEDICATED_TYPE) as keyof typeof valid];
    let pick = r.below(TOTAL_WEIGHT);
    let m = MUTATIONS[0] as (typeof MUTATIONS)[number];
    for (const cand of MUTATIONS) {
      if (pick < cand[1]) {
        m = cand;
        break;
      }
      pick -= cand[1];
    }
    const base = r.pick(own);
    const stream = m[2](r, base, r.pick(other));
    const fail = (invariant: string, message: string): MigrationFuzzResult => ({ streams: n, outcomes, violation: { stream: n, invariant, message, mutation: m[0] } });
    let accepted = false;
    try {
      const s = t.dev.setMigrationState(VFIO_DEVICE_STATE_RESUMING) as VfioMigrationStream;
      for (let at = 0; at < stream.length; at += 997) s.write(stream.subarray(at, Math.min(stream.length, at + 997)));
      t.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
      accepted = true;
    } catch (e) {
      if (!(e instanceof VfioError) || e.code !== 'EINVAL') return fail('exception', `load threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (t.dev.migrationState() !== VFIO_DEVICE_STATE_ERROR) return fail('error state', `refused, but the state is ${t.dev.migrationState()}`);
    }
    outcomes.add(`${m[0]} ${accepted ? 'accepted' : 'refused'}`);
    if (accepted) {
      if (m[0] === 'valid' && decodeStream(base).kind === MigRecordKind.FINAL) {
        const img = decodeStream(base);
        const regs = new Uint32Array(t.vdev.regs.value);
        const occ = 0x518 / 4;
        regs[occ] = (regs[occ] as number) & ~0xffff;
        // INTCAUSE may carry "handles revoked" on top of the source's value.
        regs[0x98 / 4] = ((regs[0x98 / 4] as number) & ~0x80000000) >>> 0;
        const want = img.regs.slice();
        want[0x98 / 4] = ((want[0x98 / 4] as number) & ~0x80000000) >>> 0;
        if (Buffer.compare(Buffer.from(regs.buffer), Buffer.from(want.buffer)) !== 0) return fail('exact', 'an unmutated stream did not give the source\'s registers');
        if (t.vdev.queued !== img.queue.length) return fail('exact', `an unmutated stream queued ${t.vdev.queued}, the source had ${img.queue.length}`);
      }
      try {
        t.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
        dst.dev.runUntilIdle();
      } catch (e) {
        return fail('exception', `running an accepted stream threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
    try {
      t.dev.reset();
      if (accepted) {
        // A reset keeps the presented facts; a new opener gets the vdev's own.
        t.dev.close();
        t.dev = dst.bus.open(t.uuid);
      }
    } catch (e) {
      return fail('exception', `VFIO reset threw ${e instanceof Error ? e.message : String(e)}`);
    }
    dst.dev.runUntilIdle();
    if (t.dev.migrationState() !== VFIO_DEVICE_STATE_RUNNING) return fail('reset', 'a VFIO reset did not return to RUNNING');
    if (!sameState(stateOf(t.vdev), t.fresh)) return fail('fresh', `after ${accepted ? 'an accepted' : 'a refused'} stream and a VFIO reset the vdev differs from a fresh one`);
  }
  return { streams: o.streams, outcomes, violation: null };
}
