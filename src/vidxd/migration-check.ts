/**
 * What a decoded migration record must satisfy before a vdev applies it (vidxd-device.md §10.3): the
 * saved facts in range and honourable by this destination (same type and vector count, a WQ at least
 * as large, every operation and capability of the saved OPCAP and GENCAP, limits at least as high),
 * the config-space and register images equal to what the saved facts imply in every bit that cannot
 * change, the vdev's own state in range and consistent with its registers, the handles and the queue
 * within bounds. Nothing here changes the vdev: a refusal throws `MigStreamError`.
 */
import { type FieldDef, fieldOf as field, GENCAP_BITS, type RegisterDef, RegisterFile } from '../dsa/index.js';
import type { PciFunction } from '../pci/index.js';
import { buildVdevFunction } from './config.js';
import type { VdevFacts, VdevMode } from './facts.js';
import { VDEV_BAR0_SIZE, VDEV_MAX_VECTORS } from './layout.js';
import { MigStreamError, type VdevImage } from './migration-format.js';
import { VDEV_BLOCKS, VDEV_CMDSTS, VDEV_GENSTS, vdevRegisterContext } from './registers.js';

/** What the checks compare a record against: the destination vdev. */
export interface ImageCheckContext {
  /** The destination's type. */
  readonly mode: VdevMode;
  /** The destination's own facts (its backing WQ and parent). */
  readonly own: VdevFacts;
  /** The facts the destination presents now. */
  readonly presented: VdevFacts;
  /** The destination's register file (masks; its reset image is that of `presented`). */
  readonly regs: RegisterFile;
  /** The destination's PCI function (its reset image is that of `presented`). */
  readonly pci: PciFunction;
  /** The destination's WQCFG register. */
  readonly wqcfg: RegisterDef;
}

/** Templates built from the saved facts when they differ from those presented (the vdev adopts their reset images). */
export interface ImageTemplates {
  /** A register file compiled for the saved facts. */
  readonly regs?: RegisterFile;
  /** A PCI function built from the saved facts. */
  readonly pci?: PciFunction;
}

const fail = (message: string): never => {
  throw new MigStreamError(message);
};

/** GENCAP capability bits a destination must have when the source presented them. */
const GENCAP_FEATURES = [
  GENCAP_BITS.blockOnFault, GENCAP_BITS.overlapCopy, GENCAP_BITS.cacheControlMem, GENCAP_BITS.cacheControlCache, GENCAP_BITS.destReadback,
  GENCAP_BITS.drainReadback,
];

function sameFacts(a: VdevFacts, b: VdevFacts): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The saved facts: in range, and honourable by a destination whose own facts are `own`. */
function checkFacts(f: VdevFacts, own: VdevFacts): void {
  if (f.vectors < 1 || f.vectors > VDEV_MAX_VECTORS) fail(`FACTS: ${f.vectors} vectors is outside 1..${VDEV_MAX_VECTORS}`);
  if (f.revision > 0xff) fail('FACTS: revision out of range');
  if (f.wqSize < 1 || f.wqSize > 0xffff) fail(`FACTS: WQ size ${f.wqSize} is outside 1..65535`);
  if (f.wqThreshold > f.wqSize || (f.mode === 'dedicated' && f.wqThreshold !== 0)) fail(`FACTS: WQ threshold ${f.wqThreshold} does not fit the WQ`);
  if (f.wqPriority > 15) fail(`FACTS: WQ priority ${f.wqPriority} is outside 0..15`);
  const gMaxXfer = field(f.gencap[0], GENCAP_BITS.maxXferShift);
  const gMaxBatch = field(f.gencap[0], GENCAP_BITS.maxBatchShift);
  if (f.wqMaxTransferShift > gMaxXfer) fail(`FACTS: WQ max transfer shift ${f.wqMaxTransferShift} exceeds the device's ${gMaxXfer}`);
  if (f.wqMaxBatchShift > gMaxBatch) fail(`FACTS: WQ max batch shift ${f.wqMaxBatchShift} exceeds the device's ${gMaxBatch}`);
  if (f.engines < 1 || f.engines > 64) fail(`FACTS: ${f.engines} engines is outside 1..64`);
  if (f.opcap.length !== 8) fail('FACTS: OPCAP must be 8 dwords');
  // Can this destination honour them?
  const cannot = (what: string): never => fail(`this destination cannot honour the saved facts: ${what}`);
  if (f.mode !== own.mode) cannot(`the source was a ${f.mode} vdev`);
  if (f.vectors !== own.vectors) cannot(`${f.vectors} MSI-X vectors saved, ${own.vectors} here`);
  if (own.wqSize < f.wqSize) cannot(`WQ size ${f.wqSize} saved, ${own.wqSize} here`);
  for (let i = 0; i < 8; i++) {
    const missing = ((f.opcap[i] as number) & ~(own.opcap[i] ?? 0)) >>> 0;
    if (missing !== 0) cannot(`operations missing from OPCAP dword ${i} (0x${missing.toString(16)})`);
  }
  if (own.wqMaxTransferShift < f.wqMaxTransferShift) cannot(`max transfer 2^${f.wqMaxTransferShift} saved, 2^${own.wqMaxTransferShift} here`);
  if (own.wqMaxBatchShift < f.wqMaxBatchShift) cannot(`max batch 2^${f.wqMaxBatchShift} saved, 2^${own.wqMaxBatchShift} here`);
  if (field(own.gencap[0], GENCAP_BITS.maxXferShift) < gMaxXfer) cannot('a lower device max transfer size');
  if (field(own.gencap[0], GENCAP_BITS.maxBatchShift) < gMaxBatch) cannot('a lower device max batch size');
  for (const b of GENCAP_FEATURES) if (field(f.gencap[0], b) === 1 && field(own.gencap[0], b) === 0) cannot(`GENCAP bit ${b.lo} is missing`);
  if (f.wqBlockOnFault && !own.wqBlockOnFault) cannot('the backing WQ does not block on faults');
  if (f.userInterrupts && !own.userInterrupts) cannot('the parent does not let user-mode descriptors request interrupts');
}

/**
 * Checks `image` against the destination `ctx`. Returns the templates built from the saved facts when
 * they differ from the presented ones (none otherwise). Throws `MigStreamError`.
 */
export function checkImage(image: VdevImage, ctx: ImageCheckContext): ImageTemplates {
  const f = image.facts;
  if (image.mode !== ctx.mode) fail(`the stream is of a ${image.mode} vdev, this one is ${ctx.mode}`);
  checkFacts(f, ctx.own);
  const same = sameFacts(f, ctx.presented);

  // Config space and the capabilities' state: every read-only bit as the saved facts give it, no
  // reserved bit of the MSI-X table set, no pending bit beyond the vectors. Checked against the vdev's
  // own function when the facts are those it presents, else against one built from them.
  if (image.config.length !== ctx.pci.config.size) fail('CONFIG: wrong size');
  const pci = same ? ctx.pci : buildVdevFunction(f).fn;
  const snap = new Uint8Array(16 + image.config.length + image.capState.length);
  snap.set(ctx.pci.snapshot().subarray(0, 16));
  snap.set(image.config, 16);
  snap.set(image.capState, 16 + image.config.length);
  const problem = pci.snapshotProblem(snap);
  if (problem !== null) fail(`CONFIG/CAPSTATE: ${problem}`);

  // Registers: every bit that cannot change equals the reset value the saved facts give it.
  const t = same ? ctx.regs : new RegisterFile(vdevRegisterContext(f), VDEV_BLOCKS[f.mode], VDEV_BAR0_SIZE);
  if (image.regs.length !== t.value.length) fail('REGS: wrong size');
  const m = same ? -1 : t.maskMismatch(ctx.regs);
  if (m >= 0) fail(`this destination cannot honour the saved facts: register masks differ at 0x${(4 * m).toString(16)}`);
  const d = t.constantMismatch(image.regs);
  if (d >= 0) {
    const bad = (((image.regs[d] as number) ^ t.resetDword(d)) & ~t.variableMask(d)) >>> 0;
    fail(`REGS: bits 0x${bad.toString(16)} of the dword at 0x${(4 * d).toString(16)} differ from what the saved facts give`);
  }

  // The vdev's own state, against its registers.
  const reg = (r: RegisterDef, fd: FieldDef): number => field(image.regs[ctx.regs.dwordIndex(r, 0, fd.lo >>> 5)] as number, fd);
  const w = ctx.wqcfg.fields as Record<string, FieldDef>;
  const wf = (name: string): number => reg(ctx.wqcfg, w[name] as FieldDef);
  const s = image.device;
  if (s.state > 3 || s.state !== reg(VDEV_GENSTS, VDEV_GENSTS.fields.state)) fail(`DEVICE: state ${s.state} does not match GENSTS`);
  if (s.wqOn !== (wf('wqState') === 1)) fail('DEVICE: the virtual WQ state does not match WQCFG.wq_state');
  if (wf('wqState') > 1) fail('REGS: WQCFG.wq_state out of range');
  if (wf('occupancy') !== 0) fail('REGS: WQCFG.occupancy is not 0 (the stream carries no occupancy)');
  if (s.portalsOn && !s.wqOn) fail('DEVICE: portals connected while the virtual WQ is disabled');
  if (s.wqOn && s.state !== 1 && s.state !== 2) fail('DEVICE: the virtual WQ is enabled in a device state that has none');
  if (s.latchedPasid > 0xfffff) fail('DEVICE: latched PASID out of range');
  if (s.wqOn) {
    if (image.mode === 'shared' && !s.latchedPasidEnabled) fail('DEVICE: a shared WQ runs with PASIDs');
    if (s.latchedPasid !== wf('pasid') || s.latchedPasidEnabled !== (wf('pasidEn') === 1)) fail('DEVICE: the latched PASID settings do not match WQCFG');
  }
  if (s.commandActive !== (reg(VDEV_CMDSTS, VDEV_CMDSTS.fields.active) === 1)) fail('DEVICE: command state does not match CMDSTS.active');
  if (!s.commandActive && (s.commandIntReq || s.waitKind !== 0)) fail('DEVICE: no command is active, yet one waits or asked for an interrupt');
  if (s.waitKind > 3) fail(`DEVICE: wait kind ${s.waitKind} out of range`);
  if ((s.state === 2) !== (s.waitKind === 3)) fail('DEVICE: the Drain state and a waiting DISABLE_DEVICE go together');
  if (s.waitKind === 2 && !s.wqOn) fail('DEVICE: DISABLE_WQ waits with the virtual WQ disabled');
  if (s.waitKind !== 0 && s.state !== 1 && s.state !== 2) fail('DEVICE: a command waits in a device state where none can');
  if (s.state === 3 && s.commandActive) fail('DEVICE: a command is active in Halt');

  // Handles: one per completion vector at most, distinct, 16-bit.
  if (image.handles.length !== f.vectors) fail(`HANDLES: ${image.handles.length} entries for ${f.vectors} vectors`);
  if (image.handles[0] !== null) fail('HANDLES: vector 0 has no handle');
  const seen = new Set<number>();
  for (const h of image.handles) {
    if (h === null) continue;
    if (h > 0xffff) fail(`HANDLES: handle ${h} is not a 16-bit number`);
    if (seen.has(h)) fail(`HANDLES: handle ${h} is held by two vectors`);
    seen.add(h);
  }

  // The queue: at most the WQ size, only for a bound virtual WQ.
  if (image.queue.length > f.wqSize) fail(`TRAPPED: ${image.queue.length} queued descriptors exceed the WQ size ${f.wqSize}`);
  if (image.queue.length > 0 && !s.wqOn) fail('TRAPPED: descriptors queued for a disabled virtual WQ');
  return same ? {} : { regs: t, pci };
}
