import type { AddressSpace } from './address-space.js';
import { IoAddressSpace } from './io-address-space.js';

/** PASID 0: the requester-ID (no-PASID) address space, like Linux `IOMMU_NO_PASID`. */
export const NO_PASID = 0;
/** Number of PASID values (20-bit PASIDs). */
export const PASID_COUNT = 1 << 20;

function checkPasid(pasid: number): void {
  if (!Number.isInteger(pasid) || pasid < 0 || pasid >= PASID_COUNT) {
    throw new RangeError(`PASID ${pasid} is not in [0, 2^20)`);
  }
}

/**
 * An IOMMU: one address space per PASID. PASID 0 is the requester-ID space used by requests
 * without a PASID. A PASID with no address space attached faults on every access.
 */
export class Iommu {
  private readonly spaces = new Map<number, AddressSpace>();
  // The last look-up (a device asks once per descriptor, mostly for the same PASID). Emptied by
  // every attach and detach.
  private lastPasid = -1;
  private lastSpace: AddressSpace | null = null;

  /** Attaches `space` to `pasid`. Throws `RangeError` for a bad PASID or one that is already attached. */
  attach(pasid: number, space: AddressSpace): void {
    checkPasid(pasid);
    if (this.spaces.has(pasid)) throw new RangeError(`PASID ${pasid} already has an address space`);
    this.spaces.set(pasid, space);
    this.lastPasid = -1;
    this.lastSpace = null;
  }

  /** Detaches the address space of `pasid`; returns whether one was attached. */
  detach(pasid: number): boolean {
    this.lastPasid = -1;
    this.lastSpace = null;
    return this.spaces.delete(pasid);
  }

  /** The address space of `pasid`, or null (every access then faults). */
  space(pasid: number): AddressSpace | null {
    if (pasid === this.lastPasid) return this.lastSpace;
    const space = this.spaces.get(pasid) ?? null;
    this.lastPasid = pasid;
    this.lastSpace = space;
    return space;
  }

  /** Creates an empty `IoAddressSpace`, attaches it to `pasid` and returns it. */
  create(pasid: number): IoAddressSpace {
    const space = new IoAddressSpace();
    this.attach(pasid, space);
    return space;
  }

  /** The PASIDs that have an address space, in ascending order. */
  pasids(): number[] {
    return [...this.spaces.keys()].sort((a, b) => a - b);
  }
}
