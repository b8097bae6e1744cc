/**
 * Lifecycle and DMA mappings: VFIO resets (the vdev must equal a fresh one after), close and open
 * (a second open is EBUSY; an open vdev is at reset state with no triggers), remove (EBUSY while
 * open, with REQ signalled; afterwards every resource is back) and create (with malformed, duplicate
 * and unknown arguments among the legal ones), and IOAS map/unmap/attach/detach with random
 * arguments. Mappings are identity maps of the vdev's own memory only, never its tail.
 */
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_UNMAP_FLAG_ALL, VFIO_PCI_MSIX_IRQ_INDEX } from '../../../src/vfio/index.js';
import { checkFresh } from '../checks.js';
import type { Fuzzer } from '../fuzzer.js';
import { FuzzGuest, isOpen } from '../guest.js';
import { MAPPABLE_END, MEM_SIZE, PAGE } from '../layout.js';
import { DWQ_TYPE, SWQ_TYPE } from '../rig.js';
import { Violation } from '../violation.js';
import { type ActionDef, x } from './common.js';
import { installHandlers } from './interrupt-handler.js';

function reset(f: Fuzzer): void {
  const g = f.openGuest();
  if (g === null || !isOpen(g)) return;
  f.actor = g;
  f.abortAllowed = true;
  f.handlesTouched = true;
  f.line = `vdev #${g.id} VFIO reset`;
  const triggers = g.handle.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers;
  f.call('reset', [], () => g.handle.reset());
  checkFresh(g, 'VFIO reset', triggers);
}

/** Opens the closed guest `g` through the bus and checks it is at reset state with no triggers. */
export function openGuest(f: Fuzzer, g: FuzzGuest, why: string): void {
  const h = f.call('open', [], () => f.rig.bus.open(g.uuid));
  if (h === undefined) return;
  g.adopt(h);
  checkFresh(g, why, null);
}

function closeOrOpen(f: Fuzzer): void {
  const g = f.anyGuest();
  if (g === null) return;
  const r = f.r;
  f.actor = g;
  f.abortAllowed = true;
  f.handlesTouched = true;
  if (isOpen(g) && r.chance(0.6)) {
    f.line = `vdev #${g.id} close`;
    const h = g.handle;
    f.call('close', [], () => h.close());
    g.closed();
    if (g.vdev.occupancy !== 0) throw new Violation('occupancy', `vdev #${g.id}: ${g.vdev.occupancy} descriptors still queued after close`);
    if (g.vdev.heldHandles().some((x) => x !== null)) throw new Violation('handles', `vdev #${g.id} holds interrupt handles after close`);
  } else if (isOpen(g)) {
    f.line = `vdev #${g.id} second open`;
    const again = f.call('open', ['EBUSY'], () => f.rig.bus.open(g.uuid));
    if (again !== undefined) throw new Violation('exception', `a second open of vdev #${g.id} succeeded`);
  } else {
    f.line = `vdev #${g.id} open`;
    openGuest(f, g, 'close and open');
  }
}

function remove(f: Fuzzer): void {
  const r = f.r;
  const live = f.slots.map((g, i) => ({ g, i })).filter((s): s is { g: FuzzGuest; i: number } => s.g !== null);
  if (live.length === 0 || r.chance(0.1)) {
    const uuid = r.chance(0.5) ? f.nextUuid() : 'not-a-uuid';
    f.line = `remove unknown ${uuid}`;
    if (r.chance(0.5)) f.call('remove', ['ENODEV'], () => f.rig.bus.remove(uuid));
    else f.call('writeRemove', ['ENODEV', 'EINVAL'], () => f.rig.bus.writeRemove(uuid, r.pick(['1', 'x', '0x1\n'])));
    return;
  }
  const { g, i } = r.pick(live);
  f.actor = g;
  f.abortAllowed = true;
  f.handlesTouched = true;
  const text = r.pick(['1', '1\n', '0', 'yes', '0x10']);
  f.line = `vdev #${g.id} remove (sysfs "${text.replace('\n', '\\n')}")${isOpen(g) ? ' while open' : ''}`;
  const free = f.rig.parent.availableInstances(g.mode);
  let done = false;
  f.call('remove', ['EBUSY', 'EINVAL'], () => {
    f.rig.bus.writeRemove(g.uuid, text);
    done = f.rig.bus.device(g.uuid) === undefined;
  });
  if (!done) return;
  if (isOpen(g)) throw new Violation('exception', `vdev #${g.id} was removed while open`);
  if (!g.vdev.removed) throw new Violation('handles', `vdev #${g.id} is gone from the bus but not destroyed`);
  if (f.rig.dev.iommu.space(g.hostPasid) !== null) throw new Violation('handles', `vdev #${g.id}'s host PASID ${g.hostPasid} still has an address space`);
  if (g.mode === 'dedicated' && f.rig.host.wq(g.wq).owner !== null) throw new Violation('handles', `WQ ${g.wq} still has an owner after vdev #${g.id} was removed`);
  const now = f.rig.parent.availableInstances(g.mode);
  if (now !== free + 1) {
    throw new Violation('handles', `available instances of ${g.mode} went from ${free} to ${now} when vdev #${g.id} was removed`);
  }
  f.dropGuest(i);
}

function create(f: Fuzzer): void {
  const r = f.r;
  const empty = f.slots.findIndex((g) => g === null);
  const k = r.below(100);
  if (empty < 0 || k < 15) {
    // Malformed, unknown or duplicate arguments: the bus must refuse them with the errno of vfio-uapi.md §10.2.
    const live = f.guests();
    const type = r.pick([DWQ_TYPE, SWQ_TYPE, 'idxd-dsa-9wq-v1', 'nope']);
    const bad = [`${f.nextUuid()}x`, 'not-a-uuid', `${f.nextUuid().slice(0, 35)}g`, `${f.nextUuid()}\n\n`];
    // A UUID in use (any case) is refused too; a fresh valid UUID would not be, so it is never picked here.
    if (live.length > 0) bad.push(r.pick(live).uuid, r.pick(live).uuid.toUpperCase());
    const uuid = r.pick(bad);
    f.line = `create ${type} ${JSON.stringify(uuid)} (must be refused)`;
    const made = f.call('create', ['EINVAL', 'ENOENT', 'EEXIST', 'ENOSPC'], () => f.rig.bus.create(type, uuid));
    if (made !== undefined) throw new Violation('exception', `create of ${type} ${JSON.stringify(uuid)} succeeded`);
    return;
  }
  createInSlot(f, empty, r.chance(0.5) ? 'dedicated' : 'shared', r.chance(0.7));
}

/** Creates a vdev of `mode` in `slot` (when the parent has an instance left), opening it if `open`. */
export function createInSlot(f: Fuzzer, slot: number, mode: 'dedicated' | 'shared', open: boolean): void {
  const r = f.r;
  const uuid = f.nextUuid();
  const text = r.chance(0.2) ? `${uuid.toUpperCase()}${r.chance(0.5) ? '\n' : ''}` : uuid;
  const type = mode === 'dedicated' ? DWQ_TYPE : SWQ_TYPE;
  f.line = `create ${type} ${uuid}${open ? ' and open' : ''}`;
  const made = f.call('create', ['ENOSPC'], () => f.rig.bus.create(type, text));
  if (made === undefined) return;
  const vdev = f.rig.parent.vdev(uuid);
  if (vdev === undefined) throw new Violation('exception', `created vdev ${uuid} not found by its parent`);
  const g = new FuzzGuest(f.takeGuestId(), uuid, vdev, r);
  installHandlers(f, g);
  f.adoptGuest(slot, g);
  f.handlesTouched = true;
  if (open) {
    f.actor = g;
    openGuest(f, g, 'create and open');
  }
}

/** A page-aligned range of `g`'s mappable memory that no mapping covers, or null. */
function unmappedRange(f: Fuzzer, g: FuzzGuest): { iova: number; size: number } | null {
  const pages = new Uint8Array(MAPPABLE_END / PAGE);
  for (const m of g.ioas.listMappings()) for (let a = m.iova; a < m.iova + m.size; a += PAGE) if (a < MAPPABLE_END) pages[a / PAGE] = 1;
  const free: number[] = [];
  pages.forEach((p, i) => {
    if (p === 0) free.push(i);
  });
  if (free.length === 0) return null;
  const first = f.r.pick(free);
  let n = 1;
  while (first + n < pages.length && pages[first + n] === 0 && n < 3 && f.r.chance(0.6)) n++;
  return { iova: first * PAGE, size: n * PAGE };
}

function ioas(f: Fuzzer): void {
  const g = f.anyGuest();
  if (g === null) return;
  const r = f.r;
  const io = g.ioas;
  const mem = g.memory.memory;
  const maps = io.listMappings();
  const k = r.below(100);
  const map = (iova: number, size: number, offset: number, flags: number, refused: boolean): void => {
    f.line = `vdev #${g.id} DMA map ${x(iova)} +${x(size)} ← memory ${x(offset)} flags ${flags}${refused ? ' (must be refused)' : ''}`;
    const done = f.call('DMA map', refused ? ['EINVAL', 'EEXIST'] : [], () => io.map({ iova, size, memory: mem, offset, flags }));
    if (refused && done !== undefined) throw new Violation('exception', `${f.line} succeeded`);
  };
  if (k < 30 && maps.length > 0) {
    const m = r.pick(maps);
    f.line = `vdev #${g.id} DMA unmap ${x(m.iova)} +${x(m.size)}`;
    f.call('DMA unmap', [], () => io.unmap({ iova: m.iova, size: m.size, flags: 0 }));
  } else if (k < 60) {
    const range = unmappedRange(f, g);
    if (range === null) return;
    const flags = r.pick([VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE]);
    map(range.iova, range.size, range.iova, flags, false);
  } else if (k < 80) {
    // Refused maps: unaligned, empty, no permission, unknown flags, beyond the memory, overlapping, past 2^53.
    const at = r.below(MAPPABLE_END / PAGE) * PAGE;
    const kind = r.below(7);
    if (kind === 0) map(at + r.range(1, PAGE - 1), PAGE, at, 3, true);
    else if (kind === 1) map(at, 0, at, 3, true);
    else if (kind === 2) map(at, PAGE, at, r.chance(0.5) ? 0 : 8, true);
    else if (kind === 3) map(0x100_0000 + at, PAGE, MEM_SIZE, 3, true);
    else if (kind === 4 && maps.length > 0) {
      const m = r.pick(maps);
      map(m.iova, PAGE, m.offset, 3, true);
    } else if (kind === 5) map(2 ** 53 - PAGE, 2 * PAGE, at, 3, true);
    else map(at, PAGE, at + 1, 3, true);
  } else if (k < 90) {
    // Refused unmaps: unaligned, empty, splitting a mapping, ALL with a range, unknown flags, VADDR.
    const m = maps.length > 0 ? r.pick(maps) : { iova: 0x3000, size: PAGE };
    const req = r.pick([
      { iova: m.iova + 1, size: PAGE, flags: 0 }, { iova: m.iova, size: 0, flags: 0 }, { iova: m.iova, size: m.size + 0x800, flags: 0 },
      { iova: m.iova, size: PAGE, flags: VFIO_DMA_UNMAP_FLAG_ALL }, { iova: m.iova, size: m.size, flags: 0x10 },
      m.size > PAGE ? { iova: m.iova + PAGE, size: PAGE, flags: 0 } : { iova: m.iova, size: m.size, flags: 4 },
    ]);
    f.line = `vdev #${g.id} DMA unmap ${x(req.iova)} +${x(req.size)} flags ${req.flags} (must be refused)`;
    const n = f.call('DMA unmap', ['EINVAL'], () => io.unmap(req));
    if (n !== undefined) throw new Violation('exception', `${f.line} succeeded`);
  } else if (k < 95 && isOpen(g)) {
    f.actor = g;
    const attach = io === g.handle.ioas ? r.chance(0.3) : true;
    f.line = `vdev #${g.id} ${attach ? 'attach' : 'detach'} IOAS`;
    if (attach) f.call('attach', [], () => g.handle.attachIoas(io));
    else f.call('detach', [], () => g.handle.detachIoas());
  } else {
    f.line = `vdev #${g.id} DMA unmap ALL, then map everything back`;
    f.call('DMA unmap', [], () => io.unmap({ iova: 0, size: 0, flags: VFIO_DMA_UNMAP_FLAG_ALL }));
    f.call('DMA map', [], () => io.map({ iova: 0, size: MAPPABLE_END, memory: mem, offset: 0, flags: 3 }));
  }
  if (f.line === '') f.line = `vdev #${g.id} IOAS (nothing to do)`;
}

/** Lifecycle and DMA-mapping actions. */
export const LIFECYCLE_ACTIONS: readonly ActionDef[] = [
  { name: 'VFIO reset', weight: 10, run: reset },
  { name: 'close/open', weight: 15, run: closeOrOpen },
  { name: 'remove', weight: 7, run: remove },
  { name: 'create', weight: 10, run: create },
  { name: 'IOAS map/unmap', weight: 30, run: ioas },
];
