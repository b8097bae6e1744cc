/**
 * The invariant checks that look at one object at a time: completion-record slots, the read-only
 * bits of a vdev's BAR0 and config space, a vdev compared with its fresh images after a reset, and
 * the parent's interrupt-handle table. Each throws a {@link Violation} with what it saw.
 */
import { type DsaDevice, IMS_ENTRY } from '../../src/dsa/index.js';
import type { IrqTrigger } from '../../src/vfio/index.js';
import { VFIO_PCI_MSIX_IRQ_INDEX } from '../../src/vfio/index.js';
import { BAR0_BYTES, CONFIG_BYTES, type FuzzGuest } from './guest.js';
import { CR_BASE, CR_BYTES, CR_SLOT } from './layout.js';
import { hex, type Tally } from './stats.js';
import { Violation } from './violation.js';
import type { WatchedMemory } from './watched-memory.js';

/**
 * Status codes a completion record may hold (dsa-operations.md §10, destination "CR"): 0x01–0x09,
 * 0x10–0x19, 0x1C, 0x1E, 0x1F and the injection-only 0x20–0x22. 0x00 is never written; 0x1A, 0x1B
 * and 0x1D go to SWERROR only (their record is unusable or the submitter untrusted, §4.1).
 */
const CR_CODES: ReadonlySet<number> = new Set([
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
  0x1c, 0x1e, 0x1f, 0x20, 0x21, 0x22,
]);

/**
 * Codes whose record may carry the R/W bit (bit 7, 1 = the faulting access was a write). §3.1 lists
 * 0x03, 0x04, 0x06, 0x1A, 0x1F as the codes where the bit is meaningful, but a batch-list fault
 * (0x06) and a drain readback fault (0x1F) are reads and 0x1A never reaches a record, so only the
 * page faults on a buffer can read 0x83 / 0x84.
 */
const RW_CODES: ReadonlySet<number> = new Set([0x03, 0x04]);

/** True when `status` is a valid completion-record status byte. */
export function validCrStatus(status: number): boolean {
  const code = status & 0x3f;
  if ((status & 0x40) !== 0 || !CR_CODES.has(code)) return false;
  return (status & 0x80) === 0 || RW_CODES.has(code);
}

/**
 * After a DMA write to `[offset, offset + length)` of `m`: every record slot of the CR area the
 * write covered and changed must hold a valid record — a valid status, fault info (byte 2) and the
 * reserved byte 3 written 0 (the DSA 1.0 baseline). Counts each new status in `tally`.
 */
export function checkRecordSlots(m: WatchedMemory, offset: number, length: number, tally: Tally): void {
  const end = Math.min(offset + length, CR_BASE + CR_BYTES);
  if (offset >= end) return;
  const b = m.bytes;
  const s = m.shadow;
  for (let slot = offset - ((offset - CR_BASE) % CR_SLOT); slot < end; slot += CR_SLOT) {
    let changed = false;
    for (let i = 0; i < CR_SLOT; i++) if (b[slot + i] !== s[slot + i]) changed = true;
    if (!changed) continue;
    const status = b[slot] as number;
    if (!validCrStatus(status) || b[slot + 2] !== 0 || b[slot + 3] !== 0) {
      const rec = Array.from(b.subarray(slot, slot + CR_SLOT), (x) => x.toString(16).padStart(2, '0')).join('');
      throw new Violation('completion-record', `${m.name}: record at ${hex(slot, 4)} written with status ${hex(status)} [${rec}]`);
    }
    tally.add(`CR ${hex(status)}`);
  }
}

/** BAR0: every read-only, non-status bit holds its reset value (read from the register file, no side effect). */
export function checkBar0ReadOnly(g: FuzzGuest): void {
  const regs = g.vdev.regs;
  const v = regs.value;
  const mask = g.roMask;
  for (const d of g.roDwords) {
    const m = mask[d] as number;
    if ((((v[d] as number) ^ regs.resetDword(d)) & m) !== 0) {
      throw new Violation('read-only', `vdev #${g.id}: BAR0 dword ${hex(d * 4, 3)} reads ${hex(v[d] as number, 8)}, ` +
        `read-only bits ${hex(m, 8)} should hold ${hex(regs.resetDword(d) & m, 8)}`);
    }
  }
}

const configImage = new Uint8Array(CONFIG_BYTES);

/** Config space: every guest-read-only, non-dynamic bit holds its reset value. */
export function checkConfigReadOnly(g: FuzzGuest): void {
  const config = g.vdev.pci.config;
  config.readInto(0, configImage);
  if (config.matchesReadOnly(configImage)) return;
  for (let o = 0; o < CONFIG_BYTES; o++) {
    const ro = ~(config.writeMask(o, 1) | config.w1cMask(o, 1) | config.dynamicMask(o, 1)) & 0xff;
    const want = config.resetValue(o, 1);
    if ((((configImage[o] as number) ^ want) & ro) !== 0) {
      throw new Violation('read-only', `vdev #${g.id}: config byte ${hex(o, 3)} reads ${hex(configImage[o] as number)}, ` +
        `read-only bits ${hex(ro)} should hold ${hex(want & ro)}`);
    }
  }
}

const bar0Image = new Uint8Array(BAR0_BYTES);
const qword = new Uint8Array(8);

/**
 * The open vdev `g` equals a freshly created one, as its VMM sees it through the VFIO API: config
 * space and BAR0 byte for byte, no interrupt handle held, no descriptor queued, no command active;
 * MSI-X triggers as `triggers` says (the same objects after a reset, none after an open).
 */
export function checkFresh(g: FuzzGuest, why: string, triggers: readonly (IrqTrigger | null)[] | null): void {
  const h = g.handle;
  if (h === null) throw new Error('checkFresh needs an open handle');
  h.readRegion(7, 0, configImage);
  for (let o = 0; o < CONFIG_BYTES; o++) {
    if (configImage[o] !== g.freshConfig[o]) {
      throw new Violation('reset', `vdev #${g.id} after ${why}: config byte ${hex(o, 3)} reads ${hex(configImage[o] as number)}, a fresh vdev has ${hex(g.freshConfig[o] as number)}`);
    }
  }
  for (let o = 0; o < BAR0_BYTES; o += 8) {
    h.readRegion(0, o, qword);
    bar0Image.set(qword, o);
  }
  for (let o = 0; o < BAR0_BYTES; o++) {
    if (bar0Image[o] !== g.freshBar0[o]) {
      throw new Violation('reset', `vdev #${g.id} after ${why}: BAR0 byte ${hex(o, 3)} reads ${hex(bar0Image[o] as number)}, a fresh vdev has ${hex(g.freshBar0[o] as number)}`);
    }
  }
  const held = g.vdev.heldHandles().filter((x) => x !== null);
  if (held.length > 0) throw new Violation('handles', `vdev #${g.id} after ${why}: still holds interrupt handles ${held.join(', ')}`);
  if (g.vdev.occupancy !== 0) throw new Violation('occupancy', `vdev #${g.id} after ${why}: ${g.vdev.occupancy} descriptors still queued`);
  if (g.vdev.commands.active) throw new Violation('reset', `vdev #${g.id} after ${why}: a command is still active`);
  const now = h.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers;
  for (let v = 0; v < now.length; v++) {
    const want = triggers === null ? null : (triggers[v] ?? null);
    if (now[v] !== want) throw new Violation('reset', `vdev #${g.id} after ${why}: MSI-X vector ${v} trigger ${want === null ? 'should be gone' : 'changed'}`);
  }
}

/** Interrupt-handle (IMS) entries of the parent in use: those unmasked (the host driver masks an entry it frees). */
export function imsEntriesInUse(dev: DsaDevice): number {
  const n = dev.irq.imsEntries;
  if (n === 0) return 0;
  const v = dev.regs.value;
  const first = dev.regs.dwordIndex(IMS_ENTRY, 0, IMS_ENTRY.fields.mask.lo >>> 5);
  const bit = 1 << (IMS_ENTRY.fields.mask.lo & 31);
  const stride = IMS_ENTRY.size >>> 2;
  let used = 0;
  for (let e = 0; e < n; e++) if (((v[first + e * stride] as number) & bit) === 0) used++;
  return used;
}
