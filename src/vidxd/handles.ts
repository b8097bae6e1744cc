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

  /**
   * Migration (vidxd-device.md §10.4): allocates a handle of this parent for every vector `saved` (the
   * numbers the guest held on the source, by vector) has one for, after freeing those held now. A
   * new number equal to one the guest holds for *another* vector is set aside and another one taken
   * (then the set-aside ones are freed), so that a descriptor still naming an old number cannot reach
   * the wrong vector: it fails the parent's check (0x19) as a revoked handle must. Returns the
   * translation old number → new number. Throws `HostError` (everything allocated here freed) when the
   * parent runs out.
   */
  adopt(saved: readonly (number | null)[]): Map<number, number> {
    this.releaseAll();
    const aside: InterruptHandle[] = [];
    const map = new Map<number, number>();
    try {
      for (let v = 0; v < this.byVector.length; v++) {
        const old = saved[v];
        if (old === null || old === undefined) continue;
        for (;;) {
          const h = this.host.allocInterruptHandle(() => this.deliver(v), this.pasid);
          const clash = saved.some((o, w) => w !== v && o === h.handle);
          if (!clash) {
            this.byVector[v] = h;
            map.set(old, h.handle);
            break;
          }
          aside.push(h);
        }
      }
    } catch (e) {
      this.releaseAll();
      throw e;
    } finally {
      for (const h of aside) {
        try {
          this.host.freeInterruptHandle(h);
        } catch (e) {
          if (!(e instanceof HostError)) throw e;
        }
      }
    }
    return map;
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
