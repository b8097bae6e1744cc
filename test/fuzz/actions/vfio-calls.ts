/**
 * A careless VMM: SET_IRQS with random arguments (and the legal installs, disables and loopbacks
 * among them; a VMM keeps one trigger per vector, so a trigger is only ever installed at its own
 * index and vector, which lets the invariants read a trigger's count as its vector's), info queries with random indices, device features and migration calls (the vdev
 * migrates: a call that leaves it anywhere but RUNNING is followed by the way back — RUNNING, a
 * cancelled migration, or a VFIO reset checked as one; its streams are fuzzed by the migration
 * target), mmaps of random ranges, the ioctl front end with random bytes, and calls on handles it
 * already closed (every one must answer EBADF and change nothing).
 */
import {
  encodeIrqSet, type IrqSetRequest, type TriggerSlot, UnresolvedHandle, VFIO_DEVICE_FEATURE, VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS, VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_MSIX_IRQ_INDEX, regionOffset,
} from '../../../src/vfio/index.js';
import { checkFresh } from '../checks.js';
import type { Fuzzer } from '../fuzzer.js';
import { type FuzzGuest, isOpen } from '../guest.js';
import { Violation } from '../violation.js';
import { type ActionDef, x } from './common.js';

const IRQ_ERRORS = ['EINVAL', 'ENOTTY', 'EBADF'];
const ACTIONS = [VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_ACTION_TRIGGER];
const DATA = [VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD];

/** A random u32-ish argument: small, at a boundary, or anything (including non-integers). */
function arg(f: Fuzzer, small: number): number {
  const r = f.r;
  const k = r.below(20);
  if (k < 14) return r.below(small);
  if (k < 17) return r.pick([0xffffffff, 0x80000000, 0x7fffffff, 0xfffffffe]);
  return r.pick([-1, 1.5, 2 ** 32, Number.NaN]);
}

function setIrqs(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  const h = g.handle;
  f.actor = g;
  const v = g.vectors;
  let req: IrqSetRequest;
  const k = r.below(100);
  if (k < 35) {
    const start = r.below(v);
    const count = r.range(1, v - start);
    const data: TriggerSlot[] = Array.from({ length: count }, (_, i) => (r.chance(0.85) ? g.trigger(VFIO_PCI_MSIX_IRQ_INDEX, start + i) : null));
    req = { flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start, count, data };
  } else if (k < 45) {
    req = { flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: r.below(6), start: 0, count: 0 };
  } else if (k < 55) {
    const index = r.range(2, 4);
    const start = index === 2 ? r.below(v) : 0;
    const count = index === 2 ? r.range(1, v - start) : 1;
    req = r.chance(0.5)
      ? { flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index, start, count }
      : { flags: VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, index, start, count, data: r.bytes(count).map((b) => b & 1) };
  } else if (k < 65) {
    const index = r.range(3, 4);
    const fd = index === 3 ? g.errFd : g.reqFd;
    req = { flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start: 0, count: 1, data: [r.chance(0.8) ? fd : null] };
  } else {
    const flags = r.chance(0.7) ? r.pick(DATA) | r.pick(ACTIONS) : arg(f, 0x100);
    const count = arg(f, v + 2);
    const n = Number.isInteger(count) && count >= 0 && count < 8 ? count : r.below(4);
    const index = arg(f, 6);
    const start = arg(f, v + 1);
    const slots: TriggerSlot[] = Array.from({ length: r.chance(0.8) ? n : r.below(5) }, (_, i) =>
      r.pick<TriggerSlot>([g.trigger(index, start + i), null, new UnresolvedHandle(r.below(9))]));
    const data = r.chance(0.5) ? slots : r.chance(0.5) ? r.bytes(r.below(6)) : undefined;
    req = { flags, index, start, count, ...(data === undefined ? {} : { data }) };
  }
  f.line = `vdev #${g.id} SET_IRQS flags ${x(req.flags)} index ${req.index} start ${req.start} count ${req.count}` +
    `${req.data === undefined ? '' : ` data[${req.data.length}]`}`;
  f.call('SET_IRQS', IRQ_ERRORS, () => h.setIrqs(req));
}

function queries(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  const h = g.handle;
  f.actor = g;
  const k = r.below(9);
  const i = arg(f, 11);
  f.line = `vdev #${g.id} VFIO query ${k} (${i})`;
  switch (k) {
    case 0: f.call('GET_INFO', [], () => h.getInfo()); break;
    case 1: f.call('GET_REGION_INFO', ['EINVAL'], () => h.getRegionInfo(i)); break;
    case 2: f.call('GET_IRQ_INFO', ['EINVAL'], () => h.getIrqInfo(i)); break;
    case 3: f.call('irqStatus', ['EINVAL'], () => h.irqStatus(i)); break;
    case 4: {
      const flags = r.chance(0.7) ? (r.below(13) | (r.below(8) << 16)) >>> 0 : arg(f, 0x100000);
      f.line = `vdev #${g.id} DEVICE_FEATURE flags ${x(flags)}`;
      migrating(f, g);
      f.call('DEVICE_FEATURE', ['EINVAL', 'ENOTTY', 'E2BIG', 'EOVERFLOW', 'EBUSY', 'EAGAIN'], () => h.feature(flags, r.bytes(r.below(41))));
      backToRunning(f, g);
      break;
    }
    case 5: f.call('MIGRATION', [], () => h.migrationFlags()); break;
    case 6: {
      const target = r.below(9);
      f.line = `vdev #${g.id} MIG_DEVICE_STATE → ${target}`;
      migrating(f, g);
      f.call('MIG_DEVICE_STATE', ['EINVAL', 'EAGAIN'], () => h.setMigrationState(target));
      backToRunning(f, g);
      break;
    }
    case 7: f.call('MIG_DATA_SIZE', [], () => h.migrationDataSize()); break;
    default: {
      // The VMM asks for its device back (signals the REQ trigger the guest installed).
      f.call('signalRequest', [], () => h.signalRequest());
    }
  }
}

/** A migration call may complete the vdev's work (STOP), take some back, or reset it (RESUMING). */
function migrating(f: Fuzzer, g: FuzzGuest): void {
  f.abortAllowed = true;
  f.handlesTouched = true;
  void g;
}

/**
 * After a migration call the vdev runs again: RUNNING from where it is (a cancelled migration loses
 * nothing), or — from ERROR, or RESUMING, whose way out loads an empty stream and fails — a VFIO
 * reset, after which the vdev must equal a fresh one.
 */
function backToRunning(f: Fuzzer, g: FuzzGuest): void {
  const h = g.handle;
  if (h === null || h.migrationState() === 2) return;
  const state = h.migrationState();
  if (state !== 0 && state !== 4) {
    f.call('MIG_DEVICE_STATE', ['EAGAIN'], () => h.setMigrationState(2));
    if (h.migrationState() === 2) return;
    if (h.migrationState() !== 0 && h.migrationState() !== 4) return;
  }
  const triggers = h.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers;
  f.call('reset', [], () => h.reset());
  checkFresh(g, 'VFIO reset after a migration call', triggers);
}

function mmap(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  f.actor = g;
  const index = r.chance(0.7) ? 2 : r.below(10);
  const off = r.chance(0.7) ? r.below(3) * 0x1000 : r.below(0x3000);
  const len = r.pick([0x1000, 0x1000, 0x2000, 0, 0x800, 0x3000, -0x1000]);
  const shared = r.chance(0.9);
  f.line = `vdev #${g.id} mmap index ${index} offset ${x(off)} length ${x(len)}${shared ? '' : ' private'}`;
  const p = f.call('mmap', ['EINVAL'], () => g.handle.mmap(regionOffset(index) + off, len, shared));
  if (p !== undefined && index === 2 && len === 0x1000 && off % 0x1000 === 0) g.portals[off / 0x1000] = p;
}

const REQUESTS = [VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_FEATURE, VFIO_DEVICE_RESET];

function ioctl(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  const r = f.r;
  f.actor = g;
  const request = r.chance(0.9) ? r.pick(REQUESTS) : r.pick([0x3b64, 0x3b70, 0x3b74, 0x3b79, r.u32()]);
  let arg: Uint8Array;
  if (request === VFIO_DEVICE_SET_IRQS && r.chance(0.6)) {
    // Well-formed headers over the handle table: the guest's triggers, -1, and a non-trigger.
    // Each position gets its own trigger's handle (the table holds them in guest.ts order), -1, or a non-trigger.
    const count = r.below(g.vectors + 1);
    const index = r.below(6);
    const start = r.below(g.vectors);
    arg = encodeIrqSet({
      flags: r.pick(DATA) | r.pick(ACTIONS), index, start, count,
      handles: Array.from({ length: count }, (_, i) => r.pick([g.triggerHandle(index, start + i), -1, g.fds.length])),
    });
  } else {
    arg = r.bytes(r.pick([0, 4, 8, 16, 20, 24, 32, 48, 80, r.below(100)]));
    if (arg.length >= 4 && r.chance(0.7)) new DataView(arg.buffer).setUint32(0, r.chance(0.7) ? arg.length : r.below(200), true);
    if (arg.length >= 12 && r.chance(0.7)) new DataView(arg.buffer).setUint32(8, r.below(12), true);
  }
  f.line = `vdev #${g.id} ioctl ${x(request)} arg[${arg.length}]`;
  const triggers = g.handle.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers;
  if (request === VFIO_DEVICE_RESET) {
    f.abortAllowed = true;
    f.handlesTouched = true;
  }
  const done = f.call('ioctl', ['EINVAL', 'EFAULT', 'ENOTTY', 'EBADF'], () => g.ioctl.ioctl(request, arg));
  if (done !== undefined && request === VFIO_DEVICE_RESET) checkFresh(g, 'ioctl VFIO_DEVICE_RESET', triggers);
}

function closedHandleCall(f: Fuzzer): void {
  const withClosed = f.guests().filter((g) => g.closedHandles.length > 0);
  if (withClosed.length === 0) return;
  const r = f.r;
  const g = r.pick(withClosed);
  const h = r.pick(g.closedHandles);
  const k = r.below(13);
  f.line = `vdev #${g.id} call ${k} on a closed handle`;
  const calls: (() => unknown)[] = [
    () => h.getInfo(), () => h.getRegionInfo(0), () => h.readRegion(0, 0, new Uint8Array(4)), () => h.writeRegion(7, 4, new Uint8Array(2)),
    () => h.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 0 }), () => h.reset(),
    () => h.mmap(regionOffset(2) + 0x1000, 0x1000), () => h.feature(1 << 16, new Uint8Array(8)), () => h.attachIoas(g.ioas),
    () => h.detachIoas(), () => h.close(), () => h.irqStatus(2), () => h.signalRequest(),
  ];
  let answered = false;
  f.call('closed handle', ['EBADF'], () => {
    (calls[k] as () => unknown)();
    answered = true;
  });
  if (answered) throw new Violation('closed-handle', `call ${k} on a closed handle of vdev #${g.id} succeeded`);
}

/** VFIO calls with random arguments. */
export const VFIO_ACTIONS: readonly ActionDef[] = [
  { name: 'SET_IRQS', weight: 40, run: setIrqs },
  { name: 'VFIO query', weight: 30, run: queries },
  { name: 'mmap', weight: 10, run: mmap },
  { name: 'ioctl', weight: 20, run: ioctl },
  { name: 'closed-handle call', weight: 10, run: closedHandleCall },
];
