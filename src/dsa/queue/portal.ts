/**
 * Portals (dsa-operations.md §9): four 4-KiB pages per WQ in BAR2 — unlimited/MSI-X,
 * limited/MSI-X, unlimited/IMS, limited/IMS. A {@link Portal} is the fast path a caller holds and
 * submits through directly; {@link PortalRegion} is BAR2 as an MMIO region (reads all ones, a
 * 64-byte aligned write is a MOVDIR64B, anything else is ignored).
 */
import { DESC_SIZE, descPasidAt, descPrivAt } from '../spec/descriptor.js';
import { PORTAL_PAGE, PORTAL_SLOT, PORTAL_STRIDE } from '../spec/layout.js';
import { SubmitStatus, type SubmitStatusValue, type WorkQueue, type WqShare } from './work-queue.js';

function checkRange(src: Uint8Array, off: number): void {
  if (!(off >= 0) || off + DESC_SIZE > src.length) throw new RangeError(`a portal submission needs 64 bytes at offset ${off} of a ${src.length}-byte buffer`);
}

/** How a portal chooses the PASID of a shared-WQ submission made through {@link Portal.submit}. */
export type PasidPolicy =
  | { readonly kind: 'descriptor' }
  | { readonly kind: 'fixed'; readonly pasid: number; readonly priv: boolean }
  | {
    readonly kind: 'translate';
    /** Guest PASID (descriptor bytes 0–3) → host PASID; the binder may change it at any time. */
    readonly table: ReadonlyMap<number, number>;
    /**
     * Whether a descriptor with Priv = 1 may be submitted (the binder's own PASID privileged-mode
     * enable, read at each such submission; absent: always). When not, it is dropped and reported
     * with reason `'priv'` — the binder's counterpart of the device's 0x1D, whose check reads the
     * device's PASID capability, not the binder's.
     */
    readonly privileged?: { readonly privilegedEnabled: boolean };
    /**
     * Told about a dropped submission (never run): `'pasid'` when its PASID has no translation,
     * `'priv'` when it asks for Priv = 1 and {@link privileged} says no.
     */
    readonly onReject?: (guestPasid: number, src: Uint8Array, off: number, reason: 'pasid' | 'priv') => void;
    /**
     * The binder's share of the WQ ({@link Portal.openShare}): a submission while the share holds its
     * limit of entries answers retry (absent: only the WQ's own room applies).
     */
    readonly share?: WqShare;
  };

const DESCRIPTOR_POLICY: PasidPolicy = Object.freeze({ kind: 'descriptor' });

/**
 * One portal page of one WQ, optionally bound to a PASID policy (for a virtual device): the
 * descriptor's own PASID (ENQCMDS), a fixed PASID and Priv (ENQCMD of one context), or a guest →
 * host translation table whose misses are dropped and reported, never run in another address space.
 */
export class Portal {
  /** WQ index (may exceed the WQ count: such a portal ignores and retries everything). */
  readonly wq: number;
  /** Limited portal (shared WQs: accepts only below the threshold). */
  readonly limited: boolean;
  /** IMS portal: completion interrupt handles name interrupt-handle entries instead of MSI-X vectors. */
  readonly ims: boolean;
  /** Offset of the page in BAR2. */
  readonly offset: number;
  /** The PASID policy of {@link submit} on a shared WQ. */
  readonly policy: PasidPolicy;
  /** The WQ submissions reach: `target` while connected, null while disconnected. */
  private q: WorkQueue | null;
  private readonly target: WorkQueue | null;

  /** A portal on `q` (null: no such WQ, or an IMS page of a device without IMS). */
  constructor(wq: number, limited: boolean, ims: boolean, q: WorkQueue | null, policy: PasidPolicy = DESCRIPTOR_POLICY) {
    this.wq = wq;
    this.limited = limited;
    this.ims = ims;
    this.offset = wq * PORTAL_STRIDE + (limited ? PORTAL_PAGE : 0) + (ims ? 2 * PORTAL_PAGE : 0);
    this.q = q;
    this.target = q;
    this.policy = policy;
  }

  /**
   * A portal on the same page whose {@link submit} applies `policy` (made once, then used on the fast
   * path). The new portal starts connected, independent of this one's {@link connected} state.
   */
  bind(policy: PasidPolicy): Portal {
    return new Portal(this.wq, this.limited, this.ims, this.target, policy);
  }

  /** The WQ this portal is on (connected or not; null: none). */
  get queue(): WorkQueue | null {
    return this.target;
  }

  /** Whether submissions reach the WQ (see {@link setConnected}). */
  get connected(): boolean {
    return this.q !== null;
  }

  /**
   * Connects or disconnects this portal object from its WQ. A disconnected portal behaves as a
   * portal on no WQ: posted writes are ignored and enqueues answer retry; other portal objects on
   * the same page are not affected. A binder (a virtual device) gates the portals it handed out
   * this way, e.g. while its virtual WQ is disabled, without any code of its own on the fast path.
   */
  setConnected(connected: boolean): void {
    this.q = connected ? this.target : null;
  }

  /**
   * MOVDIR64B of the descriptor at `src[off, off + 64)`: a dedicated WQ queues it, or drops it when
   * full (SWERR 0x53); anything else ignores it. Throws `RangeError` if fewer than 64 bytes are there.
   */
  movdir64b(src: Uint8Array, off = 0): SubmitStatusValue {
    checkRange(src, off);
    return this.q === null ? SubmitStatus.IGNORED : this.q.post(src, off, this.ims);
  }

  /**
   * Enqueue (ENQCMD/ENQCMDS) with effective `pasid` and `priv`: a shared WQ accepts it or answers
   * retry; anything else answers retry.
   */
  enqueue(src: Uint8Array, off: number, pasid: number, priv: boolean): SubmitStatusValue {
    checkRange(src, off);
    return this.q === null ? SubmitStatus.RETRY : this.q.enqueue(src, off, pasid, priv, this.limited, this.ims);
  }

  /** ENQCMD: the submitting context's `pasid`, Priv 0 (the descriptor's bytes 0–3 are not used). */
  enqcmd(src: Uint8Array, off: number, pasid: number): SubmitStatusValue {
    return this.enqueue(src, off, pasid, false);
  }

  /** ENQCMDS: PASID and Priv as written in bytes 0–3 of the descriptor. */
  enqcmds(src: Uint8Array, off = 0): SubmitStatusValue {
    checkRange(src, off);
    return this.enqueue(src, off, descPasidAt(src, off), descPrivAt(src, off));
  }

  /**
   * The natural submission for the WQ's mode: MOVDIR64B to a dedicated WQ (its WQCFG PASID
   * applies); to a shared WQ an enqueue with the PASID the portal's policy gives — the descriptor's
   * (ENQCMDS), the fixed one, or the translation of the descriptor's (a miss, or Priv = 1 the policy
   * does not allow, is DROPPED and reported to the policy's `onReject`). A disconnected portal answers as its WQ's mode would to a disabled
   * WQ: retry on a shared WQ, ignored otherwise.
   */
  submit(src: Uint8Array, off = 0): SubmitStatusValue {
    const q = this.q;
    if (q === null) {
      // No WQ (or disconnected): an enqueue to a shared WQ answers retry, a posted write is ignored.
      checkRange(src, off);
      return this.target !== null && !this.target.dedicated ? SubmitStatus.RETRY : SubmitStatus.IGNORED;
    }
    if (q.dedicated) return this.movdir64b(src, off);
    const pol = this.policy;
    if (pol.kind === 'descriptor') return this.enqcmds(src, off);
    if (pol.kind === 'fixed') return this.enqueue(src, off, pol.pasid, pol.priv);
    checkRange(src, off);
    const guest = descPasidAt(src, off);
    const host = pol.table.get(guest);
    if (host === undefined) {
      pol.onReject?.(guest, src, off, 'pasid');
      return SubmitStatus.DROPPED;
    }
    const priv = descPrivAt(src, off);
    if (priv && pol.privileged !== undefined && !pol.privileged.privilegedEnabled) {
      pol.onReject?.(guest, src, off, 'priv');
      return SubmitStatus.DROPPED;
    }
    const share = pol.share;
    return share === undefined ? this.enqueue(src, off, host, priv) : q.enqueueShared(src, off, host, priv, this.limited, this.ims, share);
  }

  /**
   * Opens a share of this portal's WQ for a binder (see `WqShare`): at most `fixed` entries queued or in
   * flight, or 0 for the fair limit. Put it in a `translate` policy. Throws `RangeError` for a portal
   * on no WQ or a bad limit.
   */
  openShare(fixed = 0): WqShare {
    if (this.target === null) throw new RangeError(`portal at 0x${this.offset.toString(16)} has no WQ`);
    return this.target.openShare(fixed);
  }
}

/** BAR2 as an MMIO region. */
export class PortalRegion {
  /** BAR2 size in bytes. */
  readonly size: number;
  private readonly portals: readonly Portal[];
  private readonly decoding: () => boolean;

  /**
   * @param portals every portal, in page order (4 per WQ)
   * @param decoding whether the function decodes memory (PCI command MEM); when not, writes are
   *   ignored and reads return all ones
   */
  constructor(size: number, portals: readonly Portal[], decoding: () => boolean) {
    this.size = size;
    this.portals = portals;
    this.decoding = decoding;
  }

  /** The portal of the page holding `offset`, or null beyond the WQs. */
  portalAt(offset: number): Portal | null {
    return offset >= 0 && offset < this.size ? (this.portals[Math.floor(offset / PORTAL_PAGE)] ?? null) : null;
  }

  /** Reads fill `dst` with all ones (no side effect). */
  read(_offset: number, dst: Uint8Array): void {
    dst.fill(0xff);
  }

  /** A read of 1, 2 or 4 bytes: all ones. */
  readValue(_offset: number, size: number): number {
    return size >= 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  }

  /** A write: 64 bytes at a 64-byte aligned offset is a MOVDIR64B to that page's portal; anything else is ignored. */
  write(offset: number, src: Uint8Array): SubmitStatusValue {
    if (!this.decoding() || src.length !== PORTAL_SLOT || offset % PORTAL_SLOT !== 0) return SubmitStatus.IGNORED;
    const p = this.portalAt(offset);
    return p === null ? SubmitStatus.IGNORED : p.movdir64b(src, 0);
  }

  /** A 64-byte DMWr (ENQCMD/ENQCMDS) at `offset` with effective `pasid` and `priv`. */
  enqueue(offset: number, src: Uint8Array, pasid: number, priv: boolean): SubmitStatusValue {
    if (!this.decoding() || src.length !== PORTAL_SLOT || offset % PORTAL_SLOT !== 0) return SubmitStatus.RETRY;
    const p = this.portalAt(offset);
    return p === null ? SubmitStatus.RETRY : p.enqueue(src, 0, pasid, priv);
  }

  /** Whether the function decodes memory (writes reach a portal only then). */
  get decodes(): boolean {
    return this.decoding();
  }

  /**
   * A mapping of the `length` bytes from `offset` (whole pages inside the BAR; a `RangeError` otherwise):
   * what `mmap` of BAR2 hands out.
   */
  window(offset: number, length: number): PortalWindow {
    return new PortalWindow(this, offset, length);
  }
}

/**
 * A mapping of whole pages of BAR2 (what `mmap` of BAR2 hands out): a 64-byte write at a slot of a
 * mapped page reaches that page's portal — the WQ and kind (limited, IMS) the page is — with offsets
 * relative to the start of the mapping, as `iosubmit_cmds512(bar2 + offset, …)` writes. While memory
 * decode is off nothing reaches a portal (posted writes are ignored, enqueues answer retry). A
 * one-page mapping is used like that page's {@link Portal}: {@link submit} goes to its first page.
 */
export class PortalWindow {
  /** BAR2 offset of the first mapped byte. */
  readonly offset: number;
  /** Mapped bytes (whole pages). */
  readonly size: number;
  private readonly region: PortalRegion;

  /** Pages `[offset, offset + size)` of `region`; throws `RangeError` unless they are whole pages inside BAR2. */
  constructor(region: PortalRegion, offset: number, size: number) {
    if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size <= 0 || offset % PORTAL_PAGE !== 0 ||
        size % PORTAL_PAGE !== 0 || offset + size > region.size) {
      throw new RangeError(`a BAR2 mapping of 0x${size.toString(16)} bytes at 0x${offset.toString(16)} is not whole pages inside the ${region.size}-byte BAR`);
    }
    this.region = region;
    this.offset = offset;
    this.size = size;
  }

  /** The portal of the mapped page holding `at` (relative to the mapping), or null outside the mapping or beyond the WQs. */
  portalAt(at: number): Portal | null {
    return at >= 0 && at < this.size ? this.region.portalAt(this.offset + at) : null;
  }

  /** The portal a 64-byte write at `at` reaches: a mapped page's, at a slot boundary, while memory decodes. */
  private target(at: number): Portal | null {
    return at % PORTAL_SLOT === 0 && this.region.decodes ? this.portalAt(at) : null;
  }

  /** MOVDIR64B of `src[off, off + 64)` to the slot at `at`; ignored off a slot or page of a WQ. */
  movdir64b(at: number, src: Uint8Array, off = 0): SubmitStatusValue {
    const p = this.target(at);
    return p === null ? SubmitStatus.IGNORED : p.movdir64b(src, off);
  }

  /** ENQCMD (the submitter's `pasid`, Priv 0) to the slot at `at`; retry off a slot or page of a WQ. */
  enqcmd(at: number, src: Uint8Array, off: number, pasid: number): SubmitStatusValue {
    const p = this.target(at);
    return p === null ? SubmitStatus.RETRY : p.enqcmd(src, off, pasid);
  }

  /** ENQCMDS (PASID and Priv from the descriptor) to the slot at `at`; retry off a slot or page of a WQ. */
  enqcmds(at: number, src: Uint8Array, off = 0): SubmitStatusValue {
    const p = this.target(at);
    return p === null ? SubmitStatus.RETRY : p.enqcmds(src, off);
  }

  /** The natural submission ({@link Portal.submit}) to the slot at `at`; ignored off a slot or page of a WQ. */
  submitAt(at: number, src: Uint8Array, off = 0): SubmitStatusValue {
    const p = this.target(at);
    return p === null ? SubmitStatus.IGNORED : p.submit(src, off);
  }

  /** The natural submission to the first mapped page (a one-page mapping used as its portal). */
  submit(src: Uint8Array, off = 0): SubmitStatusValue {
    return this.submitAt(0, src, off);
  }
}
