/**
 * The portal objects a vdev hands out (vidxd-device.md §7): the backing WQ's IMS portals (the vdev's
 * completion interrupts are interrupt handles), bound to the vdev's PASID policy — a dedicated WQ's
 * posted writes use the PASID the WQ is programmed with; a shared WQ translates the one guest PASID
 * the vdev was given to its host PASID and rejects every other. They are connected to the WQ only
 * while the virtual WQ is enabled (a disconnected portal answers as a disabled WQ does), and replaced
 * when the VFIO handle closes so a mapping of a closed handle reaches nothing.
 */
import type { PasidPolicy, Portal } from '../dsa/index.js';
import type { HostWq } from '../host/index.js';
import type { VdevMode } from './facts.js';
import { UNLIMITED_PAGE } from './layout.js';

/** The bound portals of one vdev for the current VFIO handle. */
export class VdevPortals {
  private readonly wq: HostWq;
  private readonly mode: VdevMode;
  private readonly policy: PasidPolicy;
  private unlimited: Portal;
  private limited: Portal;
  private on = false;

  /** Portals of `wq` for a vdev of `mode`, applying `policy`; they start disconnected. */
  constructor(wq: HostWq, mode: VdevMode, policy: PasidPolicy) {
    this.wq = wq;
    this.mode = mode;
    this.policy = policy;
    this.unlimited = this.bind(false);
    this.limited = this.bind(true);
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
  }
}
