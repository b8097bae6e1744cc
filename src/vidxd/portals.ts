/**
 * The portal objects a vdev hands out (vidxd-device.md §7): the backing WQ's IMS portals (the vdev's
 * completion interrupts are interrupt handles), bound to the vdev's PASID policy — a dedicated WQ's
 * posted writes use the PASID the WQ is programmed with; a shared WQ translates the one guest PASID
 * the vdev was given to its host PASID and rejects every other. They are connected to the WQ only
 * while the virtual WQ is enabled (a disconnected portal answers as a disabled WQ does), and replaced
 * when the VFIO handle closes so a mapping of a closed handle reaches nothing.
 */
import type { PasidPolicy, Portal, SubmitStatusValue } from '../dsa/index.js';
import type { HostWq } from '../host/index.js';
import type { VdevMode } from './facts.js';
import { UNLIMITED_PAGE } from './layout.js';

/** Reads a mapping's private portal; set by {@link VdevPortalMapping}'s static block. */
let revealPortal: (m: VdevPortalMapping) => Portal;

/**
 * What `mmap` of a vdev's BAR2 page hands out (vidxd-device.md §7.4): exactly the page's bound
 * submission and nothing that could widen or revive it. The bound {@link Portal} sits in an ECMAScript
 * private field, so no cast, property walk or prototype lookup reaches its `enqcmd(…, pasid)`,
 * `enqcmds`, `movdir64b`, `bind` or `setConnected`; the class has no method but {@link submit}. The
 * portal behind a mapping is disconnected for good when the VFIO handle closes (a mapping handed out
 * before close then reaches nothing, whoever opens the vdev next), and only the vdev can connect it.
 */
export class VdevPortalMapping {
  /** Index of the backing WQ (information only). */
  readonly wq: number;
  /** The page is the limited portal (shared WQ: accepts only below the threshold). */
  readonly limited: boolean;
  /** The page is an IMS portal (completion interrupts name interrupt-handle entries). */
  readonly ims: boolean;
  readonly #portal: Portal;

  /** The mapping of `portal` (only the vdev makes these). */
  constructor(portal: Portal) {
    this.#portal = portal;
    this.wq = portal.wq;
    this.limited = portal.limited;
    this.ims = portal.ims;
  }

  /**
   * The page's natural submission of the 64 bytes at `src[off]` ({@link Portal.submit} of the bound
   * portal: the vdev's PASID policy applies). Throws `RangeError` when fewer than 64 bytes are there.
   */
  submit(src: Uint8Array, off = 0): SubmitStatusValue {
    return this.#portal.submit(src, off);
  }

  static {
    revealPortal = (m) => m.#portal;
  }
}


/**
 * The bound portal behind a mapping, for the library's own device-side code only (the cross-thread
 * host drains a ring through it, so the ring's slots get exactly the mapping's policy). Not exported
 * from `vidxd/vidxd`: an embedder holding a mapping still reaches nothing but {@link VdevPortalMapping.submit}.
 */
export function boundPortalOf(m: VdevPortalMapping): Portal {
  return revealPortal(m);
}

/** The bound portals of one vdev for the current VFIO handle. */
export class VdevPortals {
  private readonly wq: HostWq;
  private readonly mode: VdevMode;
  private readonly policy: PasidPolicy;
  private unlimited: Portal;
  private limited: Portal;
  private unlimitedMapping: VdevPortalMapping;
  private limitedMapping: VdevPortalMapping;
  private on = false;

  /** Portals of `wq` for a vdev of `mode`, applying `policy`; they start disconnected. */
  constructor(wq: HostWq, mode: VdevMode, policy: PasidPolicy) {
    this.wq = wq;
    this.mode = mode;
    this.policy = policy;
    this.unlimited = this.bind(false);
    this.limited = this.bind(true);
    this.unlimitedMapping = new VdevPortalMapping(this.unlimited);
    this.limitedMapping = new VdevPortalMapping(this.limited);
  }

  private bind(limited: boolean): Portal {
    const p = this.wq.portal({ ims: true, limited }).bind(this.policy);
    p.setConnected(false);
    return p;
  }

  /**
   * The portal at BAR2 page `page` (0 or 1): page 0 the unlimited, page 1 the limited portal. A shared vdev
   * submits through the limited portal on either page: only page 1 can be mapped (§7.1), and a
   * trapped write to page 0 must not escape the threshold the limited portal enforces either.
   */
  page(page: number): Portal {
    return page === UNLIMITED_PAGE && this.mode === 'dedicated' ? this.unlimited : this.limited;
  }

  /** What `mmap` of BAR2 page `page` hands out: the mapping of {@link page}`(page)` for the current handle. */
  mapping(page: number): VdevPortalMapping {
    return page === UNLIMITED_PAGE && this.mode === 'dedicated' ? this.unlimitedMapping : this.limitedMapping;
  }

  /** Whether the portals reach the WQ (the virtual WQ is enabled). */
  get connected(): boolean {
    return this.on;
  }

  /** Connects (virtual WQ enabled) or disconnects (disabled, stopping, halted) the portals. */
  setConnected(on: boolean): void {
    this.on = on;
    this.shareActive(on);
    this.unlimited.setConnected(on);
    this.limited.setConnected(on);
  }

  /** A shared WQ's fair division counts the vdev only while its portals reach the WQ. */
  private shareActive(on: boolean): void {
    if (this.policy.kind === 'translate') this.policy.share?.setActive(on);
  }

  /** Disconnects the portals handed out so far for good and binds new, disconnected ones (the handle closed). */
  renew(): void {
    this.unlimited.setConnected(false);
    this.limited.setConnected(false);
    this.on = false;
    this.shareActive(false);
    this.unlimited = this.bind(false);
    this.limited = this.bind(true);
    this.unlimitedMapping = new VdevPortalMapping(this.unlimited);
    this.limitedMapping = new VdevPortalMapping(this.limited);
  }
}
