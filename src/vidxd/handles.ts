/**
 * The vdev's interrupt handles (vidxd-device.md §8.3): REQUEST_INT_HANDLE for completion vector v
 * asks the host driver for an interrupt-handle (IMS) entry bound to the vdev's host PASID and routed
 * to the vdev's MSI-X vector v; the handle is what the guest's descriptors name. A descriptor of
 * another PASID naming it fails the parent's PASID check (status 0x19), so handles cannot cross vdevs.
 */
import { CmdStatus } from '../dsa/index.js';
import { HostError, type IdxdHost, type InterruptHandle } from '../host/index.js';

/** The handles one vdev holds, at most one per completion vector. */
export class VdevHandles {
  private readonly host: IdxdHost;
  private readonly pasid: number;
  private readonly deliver: (vector: number) => void;
  private readonly byVector: (InterruptHandle | null)[];

  /**
   * Handles of a vdev with `vectors` MSI-X vectors whose descriptors run with host PASID `pasid`;
   * `deliver(v)` signals the vdev's vector v.
   */
  constructor(host: IdxdHost, pasid: number, vectors: number, deliver: (vector: number) => void) {
    this.host = host;
    this.pasid = pasid;
    this.deliver = deliver;
    this.byVector = new Array<InterruptHandle | null>(vectors).fill(null);
  }

  /**
   * The handle of completion vector `vector` (1..vectors − 1, checked by the caller), allocated from
   * the parent on first request; returns it, or −0x42 when the parent has no entry left. A vector
   * keeps one handle until it is released, so a guest repeating the request cannot drain the
   * parent's table that other vdevs allocate from.
   */
  request(vector: number): number {
    const had = this.byVector[vector];
    if (had !== null && had !== undefined) return had.handle;
    try {
      const h = this.host.allocInterruptHandle(() => this.deliver(vector), this.pasid);
      this.byVector[vector] = h;
      return h.handle;
    } catch (e) {
      if (e instanceof HostError) return -CmdStatus.NO_HANDLE;
      throw e;
    }
  }

  /** Frees the handle `handle` if this vdev holds it; false otherwise. */
  release(handle: number): boolean {
    const v = this.byVector.findIndex((h) => h !== null && h.handle === handle);
    if (v < 0) return false;
    this.free(v);
    return true;
  }

  /** Frees every handle (RESET_DEVICE, VFIO reset, close, remove). */
  releaseAll(): void {
    for (let v = 0; v < this.byVector.length; v++) this.free(v);
  }

  /** Handles held, by vector (null: none). */
  held(): (number | null)[] {
    return this.byVector.map((h) => (h === null ? null : h.handle));
  }

  private free(vector: number): void {
    const h = this.byVector[vector];
    if (h === null || h === undefined) return;
    this.byVector[vector] = null;
    try {
      this.host.freeInterruptHandle(h);
    } catch (e) {
      // The parent already forgot the entry (its device was reset under us): nothing left to free.
      if (!(e instanceof HostError)) throw e;
    }
  }
}
